"""Interface languages: Babel catalogs, the language of the current request, and gettext.

The catalogs live in ``lotse/locale/<lang>/LC_MESSAGES/messages.po`` and are compiled in memory
at start-up, so adding a language is translation work only: extract, translate, restart.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "de"
# Message ids in code and templates are English; its catalog repeats them.
SOURCE_LANGUAGE = "en"
LANGUAGE_COOKIE = "lotse_lang"
# Leichte Sprache: a German variant with its own texts for the public pages and the handout.
# Its catalog has a name of its own (Babel's tools cannot parse the private-use tag as a
# locale, and ``make messages`` must not fill it with every message of the application);
# whatever it does not say falls back to the German catalog.
EASY_GERMAN = "de-x-ls"
EASY_GERMAN_CATALOG = LOCALE_DIR / EASY_GERMAN / "LC_MESSAGES" / "leichte_sprache.po"


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    native_name: str
    direction: str = "ltr"

    @property
    def html_lang(self) -> str:
        """The page's ``lang``: Leichte Sprache is German to browsers, screen readers and
        hyphenation; only Lotse's texts differ."""
        return "de" if self.code == EASY_GERMAN else self.code


# Every language Lotse knows (DESIGN.md); the interface offers those with a catalog.
KNOWN_LANGUAGES: dict[str, LanguageInfo] = {
    info.code: info
    for info in (
        LanguageInfo("de", "Deutsch"),
        LanguageInfo("en", "English"),
        LanguageInfo("uk", "Українська"),
        LanguageInfo("ru", "Русский"),
        LanguageInfo("ar", "العربية", "rtl"),
        LanguageInfo("tr", "Türkçe"),
        LanguageInfo("ro", "Română"),
        LanguageInfo("bg", "Български"),
        LanguageInfo("pl", "Polski"),
        LanguageInfo("el", "Ελληνικά"),
        LanguageInfo("it", "Italiano"),
        LanguageInfo("fa", "فارسی", "rtl"),
        LanguageInfo("ku", "Kurmancî"),
        LanguageInfo("de-x-ls", "Leichte Sprache"),
    )
}


def _compiled(po_path: Path, locale: str) -> Translations:
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@cache
def _catalogs() -> dict[str, NullTranslations]:
    catalogs: dict[str, NullTranslations] = {SOURCE_LANGUAGE: NullTranslations()}
    for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")):
        code = po_path.parent.parent.name
        catalogs[code] = _compiled(po_path, code.split("-")[0])
    german = catalogs.get(DEFAULT_LANGUAGE)
    if EASY_GERMAN_CATALOG.is_file() and isinstance(german, Translations):
        easy = _compiled(EASY_GERMAN_CATALOG, DEFAULT_LANGUAGE)
        easy.add_fallback(german)
        catalogs[EASY_GERMAN] = easy
    return catalogs


# Other codes people use for a language Lotse knows under another code.
LANGUAGE_ALIASES = {"kmr": "ku"}


def known_language(code: str | None) -> str | None:
    """The code of a language Lotse offers texts in (aliases resolved), or None for any other
    input, so that an unknown code is never stored or shown as if it were a language."""
    if not code:
        return None
    code = LANGUAGE_ALIASES.get(code, code)
    return code if code in KNOWN_LANGUAGES else None


def ui_languages() -> list[LanguageInfo]:
    """The languages the interface can be shown in, German first."""
    codes = _catalogs().keys()
    return [info for code, info in KNOWN_LANGUAGES.items() if code in codes]


def language_info(code: str) -> LanguageInfo:
    return KNOWN_LANGUAGES.get(code, KNOWN_LANGUAGES[DEFAULT_LANGUAGE])


def is_ui_language(code: str | None) -> bool:
    return code is not None and code in _catalogs()


def negotiate(*, chosen: str | None, accept_language: str | None) -> str:
    """User choice first, then the browser's Accept-Language, then German."""
    if is_ui_language(chosen):
        return chosen  # type: ignore[return-value]
    if accept_language:
        preferred = []
        for part in accept_language.split(","):
            tag, _, quality = part.strip().partition(";q=")
            try:
                weight = float(quality) if quality else 1.0
            except ValueError:
                continue
            if tag and tag != "*":
                preferred.append((weight, tag.replace("_", "-")))
        ordered = [tag for _, tag in sorted(preferred, key=lambda item: -item[0])]
        match = negotiate_locale(ordered, list(_catalogs()), sep="-")
        if match:
            return match
    return DEFAULT_LANGUAGE


_current_language: ContextVar[str] = ContextVar("lotse_language", default=DEFAULT_LANGUAGE)


def set_language(code: str) -> None:
    _current_language.set(code if is_ui_language(code) else DEFAULT_LANGUAGE)


def get_language() -> str:
    return _current_language.get()


def babel_locale() -> Locale:
    return Locale.parse(get_language().split("-")[0])


def language_name(code: str) -> str:
    """A language's name in the interface language, e.g. "Ukrainisch" for uk in German; the
    code itself for anything Babel does not know, so an odd stored value never breaks a page."""
    try:
        name = Locale.parse(code.split("-")[0]).get_display_name(babel_locale())
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def gettext(message: str, **variables: object) -> str:
    text = _catalogs()[get_language()].ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = _catalogs()[get_language()].ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def pgettext(context: str, message: str) -> str:
    return _catalogs()[get_language()].upgettext(context, message)


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message


@contextmanager
def language(code: str) -> Iterator[None]:
    """Render something in another language, e.g. a handout in the client's language."""
    token = _current_language.set(code if is_ui_language(code) else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current_language.reset(token)
