"""The DeepL adapter against a local server that speaks DeepL's API v2."""

import socket

import pytest

from directory.machine_translation.deepl import FREE_URL, PRO_URL, DeepL, base_url_for
from directory.machine_translation.providers import (
    AuthenticationFailed,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    UnsupportedLanguage,
)
from lotse import languages
from tests.directory.machine_translation.fake_providers import FakeDeepL, serving

TEXTS = ["Beratung im Jobcenter für alle", "Termine nach Absprache", "Hilfe bei Anträgen"]


@pytest.fixture
def deepl_server():
    with serving(FakeDeepL()) as fake:
        yield fake


def client(fake, *, key="good-key", batch_size=50, timeout=5.0) -> DeepL:
    return DeepL(api_key=key, base_url=fake.url, timeout=timeout, batch_size=batch_size)


def test_free_keys_go_to_the_free_api_and_others_to_pro():
    assert base_url_for("0f3c…:fx") == FREE_URL
    assert base_url_for("0f3c…") == PRO_URL


def test_texts_come_back_in_order_in_batches(deepl_server):
    provider = client(deepl_server, batch_size=2)
    result = provider.translate(TEXTS, source="de", target="tr", glossary=())
    assert result == [text.upper() for text in TEXTS]
    calls = deepl_server.paths("POST", "/v2/translate")
    assert [len(call.body["text"]) for call in calls] == [2, 1]
    assert {(call.body["source_lang"], call.body["target_lang"]) for call in calls} == {
        ("DE", "TR")
    }
    assert calls[0].headers["authorization"] == "DeepL-Auth-Key good-key"


def test_english_goes_as_british_english(deepl_server):
    client(deepl_server).translate(["Hallo"], source="de", target="en", glossary=())
    assert deepl_server.paths("POST", "/v2/translate")[0].body["target_lang"] == "EN-GB"


def test_glossary_is_created_once_per_pair_and_found_again_after_a_restart(deepl_server):
    provider = client(deepl_server)
    glossary = ("Jobcenter", "Ausländerbehörde")
    first = provider.translate(TEXTS[:1], source="de", target="en", glossary=glossary)
    provider.translate(TEXTS[1:], source="de", target="en", glossary=glossary)
    assert first == ["BERATUNG IM Jobcenter FÜR ALLE"]
    assert len(deepl_server.paths("POST", "/v2/glossaries")) == 1
    created = deepl_server.paths("POST", "/v2/glossaries")[0].body
    assert (created["source_lang"], created["target_lang"]) == ("de", "en")
    assert created["entries"] == "Ausländerbehörde\tAusländerbehörde\nJobcenter\tJobcenter"
    glossary_id = next(iter(deepl_server.glossaries))
    assert {c.body["glossary_id"] for c in deepl_server.paths("POST", "/v2/translate")} == {
        glossary_id
    }
    client(deepl_server).translate(TEXTS[:1], source="de", target="en", glossary=glossary)
    assert len(deepl_server.paths("POST", "/v2/glossaries")) == 1
    # Another language pair gets its own glossary.
    provider.translate(TEXTS[:1], source="de", target="uk", glossary=glossary)
    assert len(deepl_server.paths("POST", "/v2/glossaries")) == 2


def test_terms_stay_in_ignored_tags_where_deepl_has_no_glossary_for_the_pair(deepl_server):
    text = "Ausländerbehörde & Jobcenter: Termine <nur> mit Karte"
    result = client(deepl_server).translate(
        [text], source="de", target="tr", glossary=("Jobcenter", "Ausländerbehörde")
    )
    assert result == ["Ausländerbehörde & Jobcenter: TERMINE <NUR> MIT KARTE"]
    call = deepl_server.paths("POST", "/v2/translate")[0].body
    assert call["tag_handling"] == "xml" and call["ignore_tags"] == ["keep"]
    assert not deepl_server.paths("POST", "/v2/glossaries")


@pytest.mark.parametrize("language", ["fa", "ku", "prs", "de-x-ls"])
def test_languages_deepl_does_not_offer_are_refused_before_anything_is_sent(deepl_server, language):
    with pytest.raises(UnsupportedLanguage) as refused:
        client(deepl_server).translate(TEXTS, source="de", target=language)
    assert refused.value.language == language
    assert "DeepL" in str(refused.value)
    assert languages.display_name(language) in refused.value.translated()
    assert not deepl_server.paths("POST", "/v2/translate")


def test_a_wrong_key_is_an_authentication_failure(deepl_server):
    with pytest.raises(AuthenticationFailed):
        client(deepl_server, key="wrong").translate(TEXTS, source="de", target="tr")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (456, QuotaExceeded),
        (429, RateLimited),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
        (403, AuthenticationFailed),
    ],
)
def test_documented_error_answers_become_our_errors(deepl_server, status, error):
    deepl_server.answers.append((status, {"message": "no"}))
    with pytest.raises(error):
        client(deepl_server).translate(TEXTS, source="de", target="tr", glossary=())


def test_a_failure_in_the_middle_of_a_batch_returns_nothing(deepl_server):
    deepl_server.answers.extend([None, (456, {"message": "Quota exceeded"})])
    results: list[list[str]] = []
    with pytest.raises(QuotaExceeded):
        results.append(
            client(deepl_server, batch_size=1).translate(
                TEXTS, source="de", target="tr", glossary=()
            )
        )
    assert results == []
    assert len(deepl_server.paths("POST", "/v2/translate")) == 2


def test_a_slow_provider_times_out_as_unavailable(deepl_server):
    provider = client(deepl_server, timeout=0.2)
    provider.translate(["Hallo"], source="de", target="tr", glossary=())
    deepl_server.delay = 1.0
    with pytest.raises(ProviderUnavailable):
        provider.translate(["Hallo"], source="de", target="ar", glossary=())


def test_an_unreachable_provider_is_unavailable():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    provider = DeepL(api_key="k", base_url=f"http://127.0.0.1:{port}", timeout=2.0, batch_size=50)
    with pytest.raises(ProviderUnavailable):
        provider.translate(["Hallo"], source="de", target="tr")
