"""Folding text for search: case, umlauts and ß, accents, and other scripts to Latin.

Index and query go through the same folding, so "Ausländerbehörde", "auslaenderbehoerde" and
"AUSLANDERBEHORDE" meet, and "мовні курси" meets its transliteration "movni kursi".
anyascii transliterates Cyrillic, Greek, Arabic and Persian script (and every other) to ASCII.
"""

import re
from functools import lru_cache

from anyascii import anyascii

_TOKEN = re.compile(r"[a-z0-9]+")
# German umlauts typed without the dots: fold the digraphs the way anyascii folds the letters.
_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_DIGRAPH_MAP = {"ae": "a", "oe": "o", "ue": "u"}

# Short function words of the languages Lotse searches, after folding; one line a language.
_STOPWORD_LINES = (
    "der die das den dem des ein eine einer eines einem einen und oder fur mit von zu zum zur im",
    "in am an auf aus bei nach uber unter vor ist sind ich wir sie es gibt nicht kein keine wie",
    "was wo wer auch noch nur sich man kann bitte mein meine ihr ihre suche brauche",
    "the a an and or of for to in on at with by my i we need",  # English
    "i v na z do dlia dlya u pro ta",  # Ukrainian, Russian (transliterated)
    "ve ile icin bir",  # Turkish
    "si de la cu pentru",  # Romanian
    "w dla",  # Polish
    "kai to ta gia me",  # Greek (transliterated)
    "e di per il la le con",  # Italian
)
STOPWORDS = frozenset(word for line in _STOPWORD_LINES for word in line.split())


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case ASCII with umlaut digraphs folded: 'Wohnungsnotfallhilfe' → itself, 'Straße' → 'strasse'."""
    ascii_text = anyascii(text).lower()
    return _DIGRAPHS.sub(lambda match: _DIGRAPH_MAP[match.group(1)], ascii_text)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def query_tokens(text: str) -> list[str]:
    """The words of a query that carry meaning; all of them if they are all stopwords."""
    words = tokens(text)
    meaningful = [word for word in words if word not in STOPWORDS]
    return meaningful or words


def trigrams(token: str) -> set[str]:
    padded = f"  {token} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}
