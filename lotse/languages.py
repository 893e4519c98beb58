"""Any language a person may speak: codes checked and normalised, names in the reader's language.

People who come to Hagen speak Dari (``prs``), Sorani (``ckb``), Tigrinya (``ti``), Somali
(``so``) and many languages no interface will ever be translated into. Where a language is
recorded (a service's languages, a client's languages), a code is accepted when it is an ISO
639-1/-3 code or a BCP 47 tag built from one (``de-CH``, ``sr-Latn``) and Lotse can name it:
from CLDR through Babel, or from the small table below for languages CLDR has no name for.

Codes are stored in their normal form: lower-case language, title-case script, upper-case
region, and the two-letter code where ISO 639-1 has one (``deu`` → ``de``). Codes that CLDR
folds into a language with a region keep their own code (``prs`` stays Dari rather than
``fa-AF``) and take their names from it; ``kmr`` is Lotse's ``ku`` (Kurmanji).
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from lotse import i18n
from lotse.errors import LotseError
from lotse.i18n import KNOWN_LANGUAGES, N_, get_language, gettext

# Language columns hold at most this many characters.
MAX_LENGTH = 12
# Lotse's private-use tag for Leichte Sprache, the only private-use tag accepted.
EASY_GERMAN = i18n.EASY_GERMAN
# Babel's entries that name no language a person speaks.
NOT_LANGUAGES = frozenset({"und", "zxx", "mul", "root", "mis"})
# Lotse's own aliases, before CLDR's (kmr is Lotse's ku, not CLDR's ku-Latn-TR).
ALIASES = {"kmr": "ku"}


@dataclass(frozen=True)
class FallbackName:
    """Names of a language CLDR cannot name, in the interface languages with a full catalog."""

    en: str
    de: str
    uk: str
    ar: str
    native: str
    direction: str = "ltr"


# Languages spoken by people arriving in Germany that CLDR has no names for (CLDR folds some
# others into a macrolanguage, e.g. pbu into ps, rmy into rom), prs with its native name, and
# ku, which Lotse means as Kurmanji (CLDR's "Kurdish" reads like the macrolanguage).
FALLBACK_NAMES: dict[str, FallbackName] = {
    "ku": FallbackName(
        "Kurdish (Kurmanji)",
        "Kurdisch (Kurmandschi)",
        "Курдська (курманджі)",
        "الكردية (الكرمانجية)",
        "Kurmancî",
    ),
    "prs": FallbackName("Dari", "Dari", "Дарі", "الدارية", "دری", "rtl"),
    "haz": FallbackName("Hazaragi", "Hazaragi", "Хазарагі", "الهزارجية", "هزارگی", "rtl"),
    "pbt": FallbackName(
        "Southern Pashto", "Südpaschtu", "Південна пушту", "البشتوية الجنوبية", "پښتو", "rtl"
    ),
    "apc": FallbackName(
        "Levantine Arabic",
        "Levantinisches Arabisch",
        "Левантійська арабська",
        "العربية الشامية",
        "شامي",
        "rtl",
    ),
    "acm": FallbackName(
        "Iraqi Arabic",
        "Irakisches Arabisch",
        "Іракська арабська",
        "العربية العراقية",
        "عراقي",
        "rtl",
    ),
    "ayl": FallbackName(
        "Libyan Arabic",
        "Libysches Arabisch",
        "Лівійська арабська",
        "العربية الليبية",
        "ليبي",
        "rtl",
    ),
    "mey": FallbackName("Hassaniya", "Hassania", "Хасанія", "الحسانية", "حسانية", "rtl"),
    "aii": FallbackName(
        "Assyrian Neo-Aramaic",
        "Assyrisch-Neuaramäisch",
        "Ассирійська новоарамейська",
        "الآشورية الحديثة",
        "ܣܘܪܝܬ",
        "rtl",
    ),
    "lki": FallbackName("Laki", "Laki", "Лакі", "اللكية", "لەکی", "rtl"),
    "hac": FallbackName("Gorani", "Gorani", "Горані", "الكورانية", "هەورامی", "rtl"),
    "rmn": FallbackName(
        "Balkan Romani", "Balkan-Romani", "Балканська ромська", "لغة الروما البلقانية", "romani"
    ),
}

_TAG = re.compile(
    r"^(?P<language>[a-z]{2,3})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|\d{3}))?"
    r"(?P<variants>(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*)$"
)


class InvalidLanguageCode(LotseError):
    """A code that is not a language Lotse can record; the message says why."""

    status_code = 422
    code = "invalid_language_code"
    message = N_("This is not a language code.")


EMPTY = N_("Please choose a language.")
MALFORMED = N_(
    "“%(code)s” is not a language code. Language codes look like “uk”, “prs” or “de-CH”."
)
UNKNOWN = N_("“%(code)s” is not a language Lotse knows. Please choose the language from the list.")
UNKNOWN_REGION = N_("“%(code)s” names a region or script that does not exist.")
TOO_LONG = N_("“%(code)s” is too long: a language code has at most 12 characters.")


@dataclass(frozen=True)
class LanguageTag:
    language: str
    script: str | None = None
    region: str | None = None
    variants: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "-".join(
            part for part in (self.language, self.script, self.region, *self.variants) if part
        )


@dataclass(frozen=True)
class LanguageOption:
    """One entry of the language picker."""

    code: str
    name: str
    native_name: str | None
    # Of the native name, for its dir attribute: "دری" inside a German list reads right to left.
    direction: str
    offered: bool
    search_text: str

    def matches(self, query: str) -> bool:
        return _folded(query) in self.search_text


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@cache
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(code.split("-")[0])
    except (ValueError, UnknownLocaleError):
        return Locale("en")


def _reader(language: str | None) -> Locale:
    return _locale(language or get_language())


@cache
def _cldr_aliases() -> dict[str, str]:
    return dict(get_global("language_aliases"))


def _name_key(language: str) -> str:
    """The CLDR key that names a language: prs is named as fa_AF ("Dari")."""
    target = _cldr_aliases().get(language, language)
    return target if "_" in target else language


def _parse(code: str) -> LanguageTag:
    """The tag's parts, normalised; raises InvalidLanguageCode with the reason."""
    raw = code.strip()
    if not raw:
        raise InvalidLanguageCode(EMPTY)
    tag = raw.replace("_", "-").lower()
    if tag == EASY_GERMAN:
        return LanguageTag("de", variants=("x", "ls"))
    match = _TAG.match(tag)
    if match is None:
        raise InvalidLanguageCode(MALFORMED, code=raw)
    language = ALIASES.get(match["language"], match["language"])
    alias = _cldr_aliases().get(language)
    if alias and "_" not in alias and len(alias) <= 3:
        language = alias
    english = Locale("en")
    if language not in FALLBACK_NAMES and (
        language in NOT_LANGUAGES or _name_key(language) not in english.languages
    ):
        raise InvalidLanguageCode(UNKNOWN, code=raw)
    script = match["script"].title() if match["script"] else None
    region = match["region"].upper() if match["region"] else None
    if (script and script not in english.scripts) or (region and region not in english.territories):
        raise InvalidLanguageCode(UNKNOWN_REGION, code=raw)
    variants = tuple(part for part in match["variants"].split("-") if part)
    return LanguageTag(language, script, region, variants)


def normalize(code: str) -> str:
    """The code in its stored form (``DE_ch`` → ``de-CH``, ``deu`` → ``de``, ``kmr`` → ``ku``);
    raises InvalidLanguageCode with a message for the person who entered it."""
    tag = str(_parse(code))
    if len(tag) > MAX_LENGTH:
        raise InvalidLanguageCode(TOO_LONG, code=code.strip())
    return tag


def is_valid(code: str | None) -> bool:
    try:
        normalize(code or "")
    except InvalidLanguageCode:
        return False
    return True


def _base_name(language: str, reader: Locale) -> str:
    entry = FALLBACK_NAMES.get(language)
    if entry is not None and reader.language in ("en", "de", "uk", "ar"):
        return str(getattr(entry, reader.language))
    cldr = reader.languages.get(_name_key(language))
    return cldr or (entry.en if entry else language)


def display_name(code: str, reader_language: str | None = None) -> str:
    """The language's name in the reader's language (the interface language by default):
    "Dari" for prs, "Schweizer Hochdeutsch" for de-CH in German. A stored code that is not
    valid (any more) shows as itself, so it never breaks a page."""
    reader = _reader(reader_language)
    try:
        tag = _parse(code)
    except InvalidLanguageCode:
        return code
    if str(tag) == EASY_GERMAN:
        with i18n.language(reader_language or get_language()):
            return gettext("Easy-to-read German")
    if tag.region and not tag.script and not tag.variants:
        regional = reader.languages.get(f"{tag.language}_{tag.region}")
        if regional:
            return _capitalised(regional)
    name = _base_name(tag.language, reader)
    details = [
        detail
        for detail in (
            reader.scripts.get(tag.script) if tag.script else None,
            reader.territories.get(tag.region) if tag.region else None,
            *(reader.variants.get(variant.upper(), variant) for variant in tag.variants),
        )
        if detail
    ]
    full = f"{name} ({', '.join(details)})" if details else name
    return _capitalised(full)


def _capitalised(name: str) -> str:
    # CLDR writes language names in lower case where the language does ("українська");
    # in a list or a label they start it.
    return name[:1].upper() + name[1:]


def native_name(code: str) -> str | None:
    """The language's name in itself ("دری" for prs), or None where nobody has written it down."""
    try:
        tag = _parse(code)
    except InvalidLanguageCode:
        return None
    if str(tag) == EASY_GERMAN:
        return KNOWN_LANGUAGES[EASY_GERMAN].native_name
    if tag.language in FALLBACK_NAMES:
        return FALLBACK_NAMES[tag.language].native
    try:
        own = Locale.parse(str(tag).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        try:
            own = Locale.parse(tag.language)
        except (ValueError, UnknownLocaleError):
            return None
    name = own.get_display_name(own)
    return _capitalised(name) if name else None


def direction(code: str) -> str:
    """ "rtl" for languages written right to left (Arabic, Dari, Sorani …), else "ltr"."""
    try:
        tag = _parse(code)
    except InvalidLanguageCode:
        return "ltr"
    if tag.language in FALLBACK_NAMES and not tag.script:
        return FALLBACK_NAMES[tag.language].direction
    try:
        locale = Locale.parse(str(tag).replace("-", "_")) if tag.script else _locale(tag.language)
    except (ValueError, UnknownLocaleError):
        return "ltr"
    if locale.language != tag.language:
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


@cache
def _options(reader_language: str) -> tuple[LanguageOption, ...]:
    english = Locale("en")
    codes = {
        code
        for code in map(str, english.languages)
        if "_" not in code and code not in NOT_LANGUAGES and code == _canonical(code)
    }
    codes |= set(FALLBACK_NAMES)
    options = []
    for code in codes:
        name = display_name(code, reader_language)
        native = native_name(code)
        english_name = display_name(code, "en")
        options.append(
            LanguageOption(
                code=code,
                name=name,
                native_name=native if native != name else None,
                direction=direction(code),
                offered=code in KNOWN_LANGUAGES,
                search_text=_folded(" ".join(filter(None, (code, name, native, english_name)))),
            )
        )
    return tuple(sorted(options, key=lambda option: (_folded(option.name), option.code)))


def _canonical(code: str) -> str:
    try:
        return normalize(code)
    except InvalidLanguageCode:
        return ""


def picker_options(reader_language: str | None = None) -> list[LanguageOption]:
    """Every language Lotse can name, by its name in the reader's language, for a picker that
    filters as the person types (code, name, native and English name all match)."""
    return list(_options(_reader(reader_language).language))


def search(query: str, reader_language: str | None = None) -> list[LanguageOption]:
    """The picker's languages matching a typed query, Lotse's own languages first."""
    found = [option for option in picker_options(reader_language) if option.matches(query)]
    return sorted(found, key=lambda option: not option.offered)
