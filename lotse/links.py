"""The one URL rule: which values from the data may become links on a page or handout.

Imports keep every value verbatim, URLs of any scheme included, so that an export gives back
what came in. Safety is applied where a value becomes a link: only ``https:``, ``http:``,
``mailto:`` and ``tel:`` do; anything else (``javascript:``, ``data:``, ``vbscript:``, relative
paths, values with control characters that browsers would quietly drop) is shown as text,
whatever the source: editor, suggestion, HSDS or Integreat import.
"""

import re

from markupsafe import Markup

SAFE_SCHEMES = frozenset({"https", "http", "mailto", "tel"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Browsers strip leading/trailing C0 controls and spaces and drop tabs and newlines anywhere
# ("java\tscript:"), so a value holding any control character is never made a link.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def link_scheme(value: str | None) -> str | None:
    """The URL's scheme in lower case, or None when it has none (or is not text)."""
    if not isinstance(value, str):
        return None
    match = _SCHEME.match(value.strip(" "))
    return match.group(1).lower() if match else None


def is_safe_link(value: str | None) -> bool:
    """True when a page may turn the value into a link."""
    if not isinstance(value, str) or not value.strip(" ") or _CONTROL.search(value):
        return False
    return link_scheme(value) in SAFE_SCHEMES


def safe_link(value: str | None, text: str | None = None, **attributes: str) -> Markup:
    """A link to ``value`` if the rule allows it, else the value as plain text.

    ``text`` is what is shown (by default the address without ``https://``); ``attributes``
    go on the link or the text's ``span`` alike (e.g. ``dir="ltr"``).
    """
    if value is None or value == "":
        return Markup("")
    value = str(value)
    shown = text if text is not None else value.strip(" ").removeprefix("https://")
    extra = Markup("").join(
        Markup(' {}="{}"').format(name.rstrip("_").replace("_", "-"), content)
        for name, content in attributes.items()
    )
    if is_safe_link(value):
        return Markup('<a href="{}" rel="noopener"{}>{}</a>').format(value.strip(" "), extra, shown)
    # An unsafe address is shown in full, so the reader sees what it is.
    return Markup('<span class="unlinked-url"{}>{}</span>').format(
        extra, value if text is None else text
    )
