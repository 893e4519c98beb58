"""Leichte Sprache (de-x-ls): its own texts on the public pages and the handout, German
everywhere else, and lang="de" for browsers and screen readers."""

import re

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from lotse import PROJECT_ROOT, i18n

# The templates of the public search, the service page and the handout, with the layout and
# the macros they use: every message in them has a text in Leichte Sprache.
PUBLIC_TEMPLATES = (
    "base.html",
    "directory/home.html",
    "directory/service_list.html",
    "directory/_search_results.html",
    "directory/service_detail.html",
    "macros/directory.html",
    "macros/pagination.html",
    "referrals/handout.html",
)
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def _public_messages() -> set[str | tuple[str, ...]]:
    messages = set()
    for name in PUBLIC_TEMPLATES:
        for _, message, _, _ in extract_from_file(
            "jinja2",
            PROJECT_ROOT / "templates" / name,
            options={"extensions": "jinja2.ext.i18n", "trimmed": "true"},
        ):
            messages.add(message)
    return messages


def test_every_public_message_has_a_text_in_leichte_sprache():
    with i18n.EASY_GERMAN_CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    problems = []
    for message in sorted(_public_messages(), key=str):
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        strings = (
            entry.string
            if entry and isinstance(entry.string, tuple)
            else ((entry.string,) if entry else ("",))
        )
        if entry is None or entry.fuzzy or not all(strings):
            problems.append(f"missing: {key!r}")
            continue
        wanted = set(PLACEHOLDER.findall(message[-1] if isinstance(message, tuple) else key))
        if any(set(PLACEHOLDER.findall(text)) != wanted for text in strings):
            problems.append(f"placeholders differ: {key!r}")
    assert not problems, "\n".join(problems)


def test_leichte_sprache_sentences_are_short():
    """One statement per sentence: no sentence in the catalog runs past 15 words."""
    with i18n.EASY_GERMAN_CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    for entry in catalog:
        for text in entry.string if isinstance(entry.string, tuple) else (entry.string,):
            for sentence in re.split(r"[.?!:]\s", text or ""):
                assert len(sentence.split()) <= 15, sentence


def test_other_messages_fall_back_to_german():
    with i18n.language(i18n.EASY_GERMAN):
        assert i18n.gettext("Opening hours") == "Öffnungs·zeiten"
        # Not a public page: the German catalog's text.
        assert i18n.gettext("Declaration of consent") == "Einwilligungserklärung"


@pytest.fixture
def easy(client: TestClient) -> TestClient:
    client.get("/language", params={"lang": i18n.EASY_GERMAN, "next": "/"})
    return client


def test_public_pages_in_leichte_sprache_are_german_to_the_browser(easy: TestClient):
    page = easy.get("/services", params={"q": "Deutschkurs"})
    assert re.search(r"<html[^>]*>", page.text).group(0) == '<html lang="de" dir="ltr">'
    assert page.headers["content-language"] == "de"
    assert "Sie können in jeder Sprache schreiben." in page.text
    assert re.search(r'lang="de" hreflang="de"\s+aria-current="true">Leichte Sprache<', page.text)
