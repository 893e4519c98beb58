"""Interface language: choice, then Accept-Language, then German; lang and dir on every page."""

import re

import pytest

from lotse import i18n
from lotse.views import safe_next
from tests import check_catalogs


@pytest.mark.parametrize(
    ("chosen", "accept", "expected"),
    [
        (None, None, "de"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "fr-FR,fr;q=0.9", "de"),
        (None, "fr;q=0.9, en;q=0.5", "en"),
        ("de", "en", "de"),
        ("en", "de", "en"),
        ("xx", "en", "en"),
        (None, "garbage;;q=x", "de"),
    ],
)
def test_language_negotiation(chosen, accept, expected):
    assert i18n.negotiate(chosen=chosen, accept_language=accept) == expected


def test_german_is_the_default_and_english_is_offered():
    codes = [language.code for language in i18n.ui_languages()]
    assert codes[:2] == ["de", "en"]


def _html_tag(body: str) -> str:
    match = re.search(r"<html[^>]*>", body)
    assert match
    return match.group(0)


def test_pages_are_german_by_default(client):
    response = client.get("/", headers={"Accept-Language": ""})
    assert _html_tag(response.text) == '<html lang="de" dir="ltr">'
    assert "Nach Thema suchen" in response.text
    assert response.headers["content-language"] == "de"


def test_accept_language_english(client):
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert _html_tag(response.text) == '<html lang="en" dir="ltr">'
    assert "Browse by topic" in response.text
    assert "Accept-Language" in response.headers["vary"]


def test_language_switch_is_remembered_and_returns_to_the_page(client):
    response = client.get(
        "/language",
        params={"lang": "en", "next": "/services?district=haspe"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/services?district=haspe"
    assert "lotse_lang=en" in response.headers["set-cookie"]
    page = client.get("/services?district=haspe")
    assert _html_tag(page.text) == '<html lang="en" dir="ltr">'


def test_unknown_language_changes_nothing(client):
    response = client.get("/language", params={"lang": "xx"}, follow_redirects=False)
    assert response.status_code == 303
    assert "lotse_lang" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example", "/\\evil", None, ""])
def test_language_switch_never_redirects_off_site(target):
    assert safe_next(target) == "/"


def test_right_to_left_languages_are_marked():
    assert i18n.language_info("ar").direction == "rtl"
    assert i18n.language_info("fa").direction == "rtl"
    assert i18n.language_info("uk").direction == "ltr"


@pytest.mark.parametrize("path", check_catalogs.CATALOGS, ids=lambda path: path.parts[-3])
def test_each_catalog_is_complete_keeps_placeholders_and_says_who_wrote_it(path):
    """The check `make lint` runs, per catalog (tests/check_catalogs.py)."""
    assert not check_catalogs.problems(path), "\n".join(check_catalogs.problems(path)[:20])


def test_the_catalog_check_finds_a_missing_translation_and_a_lost_placeholder(tmp_path):
    folder = tmp_path / "xx" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "messages.po").write_text(
        "# MACHINE-MADE\n"
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Open"\nmsgstr ""\n\n'
        'msgid "Sent by %(org)s"\nmsgstr "Gesendet"\n',
        encoding="utf-8",
    )
    found = check_catalogs.problems(folder / "messages.po")
    assert found == [
        "untranslated or fuzzy: 'Open'",
        "placeholders differ: 'Sent by %(org)s' -> 'Gesendet'",
    ]
