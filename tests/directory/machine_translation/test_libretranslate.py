"""The LibreTranslate adapter against a local server that speaks LibreTranslate's API."""

import pytest

from directory.machine_translation.libretranslate import LibreTranslate
from directory.machine_translation.providers import (
    AuthenticationFailed,
    MachineTranslationError,
    ProviderUnavailable,
    RateLimited,
    UnsupportedLanguage,
)
from tests.directory.machine_translation.fake_providers import FakeLibreTranslate, serving

TEXTS = ["Beratung im Jobcenter", "Termine nach Absprache", "Hilfe bei Anträgen"]


@pytest.fixture
def libre_server():
    with serving(FakeLibreTranslate(key="secret")) as fake:
        yield fake


def client(fake, *, key="secret", batch_size=50, timeout=5.0) -> LibreTranslate:
    return LibreTranslate(base_url=fake.url, api_key=key, timeout=timeout, batch_size=batch_size)


def test_texts_come_back_in_order_in_batches_with_the_key(libre_server):
    result = client(libre_server, batch_size=2).translate(
        TEXTS, source="de", target="uk", glossary=()
    )
    assert result == [text.upper() for text in TEXTS]
    calls = libre_server.paths("POST", "/translate")
    assert [call.body["q"] for call in calls] == [TEXTS[:2], TEXTS[2:]]
    assert {(c.body["source"], c.body["target"], c.body["api_key"]) for c in calls} == {
        ("de", "uk", "secret")
    }
    assert {call.body["format"] for call in calls} == {"text"}


def test_glossary_terms_and_line_breaks_survive_html_translation(libre_server):
    text = "Im Jobcenter & bei der Ausländerbehörde:\nTermine <nur> mit Karte"
    result = client(libre_server).translate(
        [text], source="de", target="ar", glossary=("Jobcenter", "Ausländerbehörde")
    )
    assert result == ["IM Jobcenter & BEI DER Ausländerbehörde:\nTERMINE <NUR> MIT KARTE"]
    assert libre_server.paths("POST", "/translate")[0].body["format"] == "html"


@pytest.mark.parametrize("language", ["ku", "prs", "ckb", "de-x-ls"])
def test_languages_the_server_does_not_offer_are_refused_before_anything_is_sent(
    libre_server, language
):
    with pytest.raises(UnsupportedLanguage) as refused:
        client(libre_server).translate(TEXTS, source="de", target=language)
    assert refused.value.language == language
    assert not libre_server.paths("POST", "/translate")


def test_persian_is_offered_when_the_server_has_it(libre_server):
    assert client(libre_server).translate(["Hallo"], source="de", target="fa") == ["HALLO"]


def test_a_wrong_key_is_an_authentication_failure(libre_server):
    with pytest.raises(AuthenticationFailed):
        client(libre_server, key="wrong").translate(TEXTS, source="de", target="uk")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {"error": "Too many request limits violations"}, RateLimited),
        (500, {"error": "Cannot translate text: model failed"}, ProviderUnavailable),
        (400, {"error": "Invalid request: missing q parameter"}, MachineTranslationError),
        (200, {"error": "no translatedText"}, MachineTranslationError),
        (200, {"translatedText": ["only one"]}, MachineTranslationError),
    ],
)
def test_error_answers_become_our_errors(libre_server, status, body, error):
    libre_server.answers.append((status, body))
    with pytest.raises(error):
        client(libre_server).translate(TEXTS, source="de", target="uk", glossary=())


def test_a_failure_in_the_middle_of_a_batch_returns_nothing(libre_server):
    libre_server.answers.extend([None, (500, {"error": "Cannot translate text"})])
    results: list[list[str]] = []
    with pytest.raises(ProviderUnavailable):
        results.append(
            client(libre_server, batch_size=1).translate(
                TEXTS, source="de", target="uk", glossary=()
            )
        )
    assert results == []
    assert len(libre_server.paths("POST", "/translate")) == 2


def test_a_slow_server_times_out_as_unavailable(libre_server):
    provider = client(libre_server, timeout=0.2)
    provider.translate(["Hallo"], source="de", target="uk", glossary=())
    libre_server.delay = 1.0
    with pytest.raises(ProviderUnavailable):
        provider.translate(["Hallo"], source="de", target="uk", glossary=())


def test_an_answer_that_is_not_json_is_unavailable(libre_server):
    original = libre_server.handle
    libre_server.handle = lambda request: (
        (200, b"<html>Welcome to nginx</html>")
        if request.path == "/translate"
        else original(request)
    )
    with pytest.raises(ProviderUnavailable):
        client(libre_server).translate(TEXTS, source="de", target="uk")
