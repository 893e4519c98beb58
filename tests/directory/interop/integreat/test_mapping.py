"""Mapping Integreat locations: readable text from HTML, and the shape of the saved answers."""

import json

from directory.interop.integreat.mapping import html_to_text
from tests import FIXTURES

FIXTURES = FIXTURES / "integreat"


def test_html_becomes_readable_text():
    html = (
        "<h2>Angebot</h2><p>Beratung&nbsp;für <em>alle</em>.<br>Auch samstags.</p>"
        '<ul><li>Deutsch</li><li>Arabisch</li></ul><p>Mail: <a href="mailto:a@example.org">'
        "a@example.org</a></p><script>alert(1)</script>"
    )
    assert html_to_text(html) == (
        "Angebot\n\nBeratung\xa0für alle.\nAuch samstags.\n\n• Deutsch\n• Arabisch\n\n"
        "Mail: a@example.org"
    )


def test_fixture_files_have_the_documented_shape():
    documented = {
        "id",
        "url",
        "title",
        "excerpt",
        "content",
        "available_languages",
        "website",
        "email",
        "phone_number",
        "category",
        "temporarily_closed",
        "opening_hours",
        "appointment_url",
        "location",
        "organization",
        "barrier_free",
        "last_updated",
    }
    for file in FIXTURES.glob("hagen-*.json"):
        for entry in json.loads(file.read_text(encoding="utf-8")):
            assert documented <= set(entry), file.name
            assert {"id", "name", "address", "town", "postcode", "country"} <= set(
                entry["location"]
            )
            assert entry["opening_hours"] is None or len(entry["opening_hours"]) == 7
