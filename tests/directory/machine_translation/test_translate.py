"""Machine translations of a listing's texts: stored for review, all or nothing."""

import pytest
from sqlmodel import Session, select

from directory import versions
from directory.machine_translation.config import configured_glossary, configured_provider
from directory.machine_translation.deepl import DeepL
from directory.machine_translation.libretranslate import LibreTranslate
from directory.machine_translation.providers import (
    MachineTranslationNotConfigured,
    QuotaExceeded,
)
from directory.machine_translation.translate import (
    LanguageNotOffered,
    listings_to_translate,
    texts_to_translate,
    translate_listing,
)
from directory.models import ListingKind, Translation, TranslationKind
from directory.upkeep import editing
from lotse.models import User
from lotse.settings import Settings
from tests import demo
from tests.directory.machine_translation.fake_providers import FakeDeepL, serving


@pytest.fixture
def coordinator(session: Session) -> versions.Author:
    user = session.exec(
        select(User).where(User.email == "koordination@demo.lotse.example.org")
    ).one()
    return versions.Author.of(user)


@pytest.fixture
def deepl_server():
    with serving(FakeDeepL()) as fake:
        yield fake


def provider(fake, batch_size=50) -> DeepL:
    return DeepL(api_key="good-key", base_url=fake.url, timeout=5.0, batch_size=batch_size)


def rows(session, listing, language) -> dict[str, Translation]:
    found = session.exec(
        select(Translation).where(
            Translation.entity_id == listing.id, Translation.language == language
        )
    ).all()
    return {row.field: row for row in found}


def test_missing_and_outdated_texts_are_stored_as_machine_translations(
    session, coordinator, deepl_server
):
    kim = demo.kim(session)
    editing.update(
        session=session,
        listing=kim,
        values={
            "translations": {
                "name": {"tr": {"text": "KIM vaka yönetimi", "kind": "human"}},
                "description": {"tr": {"text": "Eski açıklama", "kind": "human"}},
            }
        },
        author=coordinator,
    )
    editing.update(
        session=session,
        listing=kim,
        values={"description": kim.description + " Auch im Jobcenter."},
        author=coordinator,
    )
    todo = texts_to_translate(session=session, listing=kim, language="tr")
    assert "name" not in todo and "description" in todo

    result = translate_listing(
        session=session,
        listing=kim,
        language="tr",
        provider=provider(deepl_server),
        author=coordinator,
    )

    assert set(result.fields) == set(todo)
    stored = rows(session, kim, "tr")
    # A current human translation is left as it is.
    assert stored["name"].text == "KIM vaka yönetimi"
    assert stored["name"].kind == TranslationKind.human
    assert stored["description"].kind == TranslationKind.machine
    assert stored["description"].text.endswith("AUCH IM Jobcenter.")
    overview = editing.translation_overview(session=session, listing=kim, languages=("tr",))
    assert {overview.states["tr"][name].state for name in todo} == {"machine"}
    history = versions.history(session=session, kind=ListingKind.service, entity_id=kim.id)
    assert history[0].action == "machine_translated" and history[0].note == "DeepL"
    # Nothing is left to translate, so a second run asks the provider nothing.
    calls = len(deepl_server.paths("POST", "/v2/translate"))
    again = translate_listing(
        session=session,
        listing=kim,
        language="tr",
        provider=provider(deepl_server),
        author=coordinator,
    )
    assert again.fields == ()
    assert len(deepl_server.paths("POST", "/v2/translate")) == calls


def test_a_provider_failing_in_the_middle_writes_nothing(session, coordinator, deepl_server):
    kim = demo.kim(session)
    todo = texts_to_translate(session=session, listing=kim, language="pl")
    assert len(todo) >= 2
    before = rows(session, kim, "pl")
    history = versions.history(session=session, kind=ListingKind.service, entity_id=kim.id)
    deepl_server.answers.extend([None, (456, {"message": "Quota exceeded"})])

    with pytest.raises(QuotaExceeded):
        translate_listing(
            session=session,
            listing=kim,
            language="pl",
            provider=provider(deepl_server, batch_size=1),
            author=coordinator,
        )

    assert len(deepl_server.paths("POST", "/v2/translate")) == 2
    session.expire_all()
    assert rows(session, kim, "pl") == before
    assert versions.history(session=session, kind=ListingKind.service, entity_id=kim.id) == history


def test_the_work_list_holds_listings_with_missing_or_outdated_texts(
    session, coordinator, deepl_server
):
    kim = demo.kim(session)
    assert (ListingKind.service, kim.id) in listings_to_translate(session=session, language="it")
    with provider(deepl_server) as deepl:
        translate_listing(
            session=session, listing=kim, language="it", provider=deepl, author=coordinator
        )
    work = listings_to_translate(session=session, language="it")
    assert (ListingKind.service, kim.id) not in work
    assert work, "other listings still wait for Italian texts"
    editing.update(
        session=session,
        listing=kim,
        values={"name": kim.name + " (neu)"},
        author=coordinator,
    )
    assert (ListingKind.service, kim.id) in listings_to_translate(session=session, language="it")
    editing.archive(session=session, listing=kim, author=coordinator)
    assert (ListingKind.service, kim.id) not in listings_to_translate(
        session=session, language="it"
    )


@pytest.mark.parametrize("language", ["de", "xx", "prs"])
def test_languages_lotse_has_no_listing_texts_in_are_refused(
    session, coordinator, deepl_server, language
):
    with pytest.raises(LanguageNotOffered):
        translate_listing(
            session=session,
            listing=demo.kim(session),
            language=language,
            provider=provider(deepl_server),
            author=coordinator,
        )
    assert not deepl_server.paths("POST", "/v2/translate")


def test_the_settings_choose_the_provider():
    with pytest.raises(MachineTranslationNotConfigured):
        configured_provider(Settings(mt_provider="none"))
    deepl = configured_provider(Settings(mt_provider="deepl", mt_api_key="abc:fx"))
    assert isinstance(deepl, DeepL)
    assert str(deepl.http.base_url).startswith("https://api-free.deepl.com")
    libre = configured_provider(
        Settings(mt_provider="libretranslate", mt_url="http://mt.internal:5000", mt_batch_size=7)
    )
    assert isinstance(libre, LibreTranslate) and libre.batch_size == 7
    assert (
        configured_glossary(Settings(mt_glossary="Stadtteilbüro, Jobcenter,")).count("Jobcenter")
        == 1
    )
    assert "Stadtteilbüro" in configured_glossary(Settings(mt_glossary="Stadtteilbüro"))


@pytest.mark.parametrize(
    ("options", "needs"),
    [
        ({"mt_provider": "deepl"}, "LOTSE_MT_API_KEY"),
        ({"mt_provider": "libretranslate"}, "LOTSE_MT_URL"),
    ],
)
def test_an_incomplete_provider_setting_refuses_to_start(options, needs):
    with pytest.raises(ValueError, match=needs):
        Settings(**options)
