"""The provider and glossary chosen by the ``LOTSE_MT_*`` settings."""

from directory.machine_translation.deepl import DeepL
from directory.machine_translation.libretranslate import LibreTranslate
from directory.machine_translation.providers import (
    DEFAULT_GLOSSARY,
    MachineTranslationNotConfigured,
    Provider,
)
from lotse.settings import Settings


def configured_provider(settings: Settings) -> Provider:
    """A client for the configured provider; the caller closes it when done."""
    key = settings.mt_api_key.get_secret_value() if settings.mt_api_key else None
    timeout, batch_size = settings.mt_timeout_seconds, settings.mt_batch_size
    if settings.mt_provider == "deepl" and key:
        return DeepL(api_key=key, base_url=settings.mt_url, timeout=timeout, batch_size=batch_size)
    if settings.mt_provider == "libretranslate" and settings.mt_url:
        return LibreTranslate(
            base_url=settings.mt_url, api_key=key, timeout=timeout, batch_size=batch_size
        )
    raise MachineTranslationNotConfigured()


def configured_glossary(settings: Settings) -> tuple[str, ...]:
    extra = (term.strip() for term in settings.mt_glossary.split(","))
    return tuple(dict.fromkeys([*DEFAULT_GLOSSARY, *(term for term in extra if term)]))
