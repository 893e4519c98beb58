"""The interface every machine translation provider offers, its errors, and the glossary.

A provider translates a batch of German texts into one language and keeps the glossary's terms
("Jobcenter", "Ausländerbehörde", …) as they are. Adapters map Lotse's language codes to the
provider's own and turn the provider's HTTP answers into the errors below, so that callers never
see a status code or a transport exception.
"""

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import httpx2

from lotse.errors import LotseError
from lotse.i18n import N_
from lotse.languages import display_name

logger = logging.getLogger("lotse.machine_translation")

# Names of offices, benefits and courses that readers meet in German at the counter, so they
# stay German in every translation.
DEFAULT_GLOSSARY: tuple[str, ...] = (
    "Jobcenter",
    "Ausländerbehörde",
    "Integrationskurs",
    "Berufssprachkurs",
    "Agentur für Arbeit",
    "Familienkasse",
    "Jugendamt",
    "Sozialamt",
    "Bürgeramt",
    "Bürgergeld",
    "Kindergeld",
    "Wohngeld",
    "Migrationsberatung für erwachsene Zuwanderer",
    "Jugendmigrationsdienst",
    "BAMF",
    "Kita",
)


class MachineTranslationError(LotseError):
    """The provider did not deliver translations; nothing was stored."""

    status_code = 502
    code = "machine_translation_failed"
    message = N_("The machine translation service could not translate the texts.")


class MachineTranslationNotConfigured(MachineTranslationError):
    status_code = 503
    code = "machine_translation_not_configured"
    message = N_(
        "Machine translation is not set up. An administrator can choose a provider "
        "with LOTSE_MT_PROVIDER."
    )


class QuotaExceeded(MachineTranslationError):
    status_code = 503
    code = "machine_translation_quota_exceeded"
    message = N_(
        "The machine translation service's quota is used up. Nothing was translated; "
        "try again when the quota has been renewed."
    )


class AuthenticationFailed(MachineTranslationError):
    status_code = 503
    code = "machine_translation_auth_failed"
    message = N_(
        "The machine translation service refused Lotse's key. An administrator needs to "
        "check LOTSE_MT_API_KEY."
    )


class UnsupportedLanguage(MachineTranslationError):
    status_code = 422
    code = "machine_translation_unsupported_language"
    message = N_("%(provider)s cannot translate into %(language)s.")

    def __init__(self, *, provider: str, language: str) -> None:
        super().__init__(provider=provider, language=display_name(language))
        self.language = language


class ProviderUnavailable(MachineTranslationError):
    status_code = 503
    code = "machine_translation_unavailable"
    message = N_(
        "The machine translation service is not reachable right now. Nothing was "
        "translated; try again later."
    )


class RateLimited(ProviderUnavailable):
    code = "machine_translation_rate_limited"
    message = N_(
        "The machine translation service is receiving too many requests. Nothing was "
        "translated; try again in a few minutes."
    )


class Provider(ABC):
    """Translates batches of texts; subclasses speak one provider's HTTP API."""

    label: str

    def __init__(self, *, base_url: str, timeout: float, batch_size: int) -> None:
        self.batch_size = batch_size
        self.http = httpx2.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def translate(
        self,
        texts: Sequence[str],
        *,
        source: str,
        target: str,
        glossary: Sequence[str] = DEFAULT_GLOSSARY,
    ) -> list[str]:
        """The texts in the target language, in the same order; raises before returning
        anything when any batch fails, so callers store all of it or nothing."""
        if not texts:
            return []
        source_code = self.source_code(source)
        target_code = self.target_code(target)
        results: list[str] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            translated = self.translate_batch(
                batch, source=source_code, target=target_code, glossary=tuple(glossary)
            )
            if len(translated) != len(batch):
                logger.warning(
                    "%s answered %d texts for %d", self.label, len(translated), len(batch)
                )
                raise MachineTranslationError()
            results.extend(translated)
        return results

    @abstractmethod
    def source_code(self, language: str) -> str:
        """The provider's code for a source language; raises UnsupportedLanguage."""

    @abstractmethod
    def target_code(self, language: str) -> str:
        """The provider's code for a target language; raises UnsupportedLanguage."""

    @abstractmethod
    def translate_batch(
        self, texts: list[str], *, source: str, target: str, glossary: tuple[str, ...]
    ) -> list[str]:
        """One request's worth of texts, in provider codes."""

    @abstractmethod
    def raise_for_answer(self, response: httpx2.Response) -> None:
        """Turns an error answer into one of our errors."""

    def request(self, method: str, path: str, **options: Any) -> Any:
        """The decoded JSON answer of one request, or one of our errors."""
        try:
            response = self.http.request(method, path, **options)
        except httpx2.TimeoutException as error:
            logger.warning("%s timed out on %s: %s", self.label, path, error)
            raise ProviderUnavailable() from error
        except httpx2.TransportError as error:
            logger.warning("%s not reachable on %s: %s", self.label, path, error)
            raise ProviderUnavailable() from error
        if response.is_error:
            logger.warning(
                "%s answered %s on %s: %s",
                self.label,
                response.status_code,
                path,
                response.text[:300],
            )
            self.raise_for_answer(response)
            raise MachineTranslationError()
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            logger.warning("%s answered no JSON on %s", self.label, path)
            raise ProviderUnavailable() from error

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Provider":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def error_text(response: httpx2.Response, key: str) -> str:
    """The provider's own error message from a JSON error body, or ""."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    return str(body.get(key) or "") if isinstance(body, dict) else ""
