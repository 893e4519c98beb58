"""The one URL rule: only https, http, mailto and tel become links; the rest is text."""

import pytest

from lotse.links import is_safe_link, safe_link


@pytest.mark.parametrize(
    "value",
    [
        "https://www.hagen.de/",
        "HTTP://example.org",
        "http://example.org/a?b=c#d",
        "mailto:kim@hagen.de",
        "tel:+492331207",
        " https://www.hagen.de/ ",
    ],
)
def test_web_mail_and_phone_addresses_become_links(value):
    assert is_safe_link(value)
    assert str(safe_link(value)).startswith('<a href="')


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(document.domain)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/",
        "/relative/path",
        "www.hagen.de",
        "https://www.hagen.de/\n",
        "",
        None,
    ],
)
def test_any_other_value_is_shown_as_text(value):
    assert not is_safe_link(value)
    assert "<a" not in str(safe_link(value))


def test_text_is_escaped_and_attributes_carried():
    html = str(safe_link('https://x.example/"><script>alert(1)</script>', dir="ltr"))
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html
    assert 'dir="ltr"' in html and 'rel="noopener"' in html
    shown = str(safe_link("javascript:alert('<b>')", dir="ltr"))
    assert (
        shown == '<span class="unlinked-url" dir="ltr">javascript:alert(&#39;&lt;b&gt;&#39;)</span>'
    )
    assert str(safe_link("https://www.hagen.de/kim")).endswith(">www.hagen.de/kim</a>")
    assert str(safe_link("tel:02331", "02331")) == '<a href="tel:02331" rel="noopener">02331</a>'
