"""The coordinators' translations page, the review of outdated translations, and what readers
see of a text's provenance: German fallback, machine translation, outdated translation."""

import re
from html import escape

from sqlmodel import select

from directory import versions
from directory.models import Translation, TranslationKind
from directory.upkeep import editing
from lotse import i18n
from lotse.models import User
from tests import demo
from tests.accounts import login, post


def coordinator(session) -> versions.Author:
    user = session.exec(
        select(User).where(User.email == "koordination@demo.lotse.example.org")
    ).one()
    return versions.Author.of(user)


def set_texts(session, service, **values):
    editing.update(session=session, listing=service, values=values, author=coordinator(session))
    session.flush()


def test_translations_page_lists_listings_with_work_left(client, session):
    kim = demo.kim(session)
    set_texts(session, kim, summary="Beratung für neu Zugewanderte in Hagen.")
    login(client, "coordinator")
    page = client.get("/translations", params={"language": "ro"}, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert re.search(r'<dd data-state="missing">[1-9]', page.text)
    row = page.text[page.text.index(kim.name) :]
    assert ">Summary: " in row[:2000]
    assert f"/translations/ro/service/{kim.id}" in page.text
    assert "/translations/ro/all" in page.text


def test_translating_into_german_or_an_unknown_language_is_refused(client):
    login(client, "coordinator")
    assert client.get("/translations", params={"language": "xx"}).status_code == 422
    refused = post(client, "/translations/de/all", headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    assert "Lotse keeps no listing texts in German" in refused.text


def test_the_public_page_marks_fallback_machine_and_outdated_texts(client, session):
    kim = demo.kim(session)
    set_texts(
        session,
        kim,
        summary="Beratung für neu Zugewanderte.",
        hours_note="Donnerstags nur mit Termin.",
        translations={
            "summary": {"tr": {"text": "Yeni gelenler için danışmanlık.", "kind": "machine"}},
            "hours_note": {"tr": {"text": "Perşembe günleri sadece randevu ile.", "kind": "human"}},
        },
    )
    set_texts(session, kim, hours_note="Donnerstags und freitags nur mit Termin.")
    page = client.get(f"/services/{kim.id}", headers={"Accept-Language": "tr"}).text
    # Machine-made and outdated translations are shown, each with its note.
    with i18n.language("tr"):
        machine = i18n.gettext("Machine translation, not yet checked by a person.")
        outdated = i18n.gettext(
            "This translation may be out of date: the German text has changed since."
        )
    summary = page[page.index("Yeni gelenler") :][:400]
    assert escape(machine) in summary
    hours = page[page.index("Perşembe günleri sadece") :][:400]
    assert escape(outdated) in hours


def test_the_fallback_notice_is_in_the_readers_language(client, session):
    # A service whose summary nobody has translated (the demo's translations removed).
    advice = demo.service(session, "fluechtlingsberatung-hagen-nord-demo-asylverfahrensberatung")
    for row in session.exec(
        select(Translation).where(
            Translation.entity_id == advice.id, Translation.field == "summary"
        )
    ).all():
        session.delete(row)
    set_texts(session, advice, summary="Beratung für neu Zugewanderte.")
    page = client.get(f"/services/{advice.id}", headers={"Accept-Language": "en"}).text
    assert (
        '<p class="service__summary" lang="de" dir="ltr"><bdi>Beratung für neu Zugewanderte.'
        in page
    )
    assert "Only available in German." in page


def test_an_outdated_translation_is_approved_as_it_is(client, session):
    kim = demo.kim(session)
    set_texts(
        session,
        kim,
        summary="Beratung für neu Zugewanderte.",
        translations={
            "summary": {"uk": {"text": "Консультації для новоприбулих.", "kind": "human"}}
        },
    )
    set_texts(session, kim, summary="Beratung für neu Zugewanderte in Hagen.")
    overview = editing.translation_overview(session=session, listing=kim, languages=("uk",))
    assert overview.states["uk"]["summary"].state == "outdated"
    login(client, "coordinator")
    form = client.get(f"/editor/service/{kim.id}/translations", params={"language": "uk"})
    assert 'name="confirm_summary"' in form.text
    saved = post(
        client,
        f"/editor/service/{kim.id}/translations?language=uk",
        {"translation_summary": "Консультації для новоприбулих.", "confirm_summary": "true"},
    )
    assert saved.status_code == 303
    session.expire_all()
    overview = editing.translation_overview(session=session, listing=kim, languages=("uk",))
    assert overview.states["uk"]["summary"].state == "done"


def test_a_machine_translation_is_edited_then_approved(client, session):
    kim = demo.kim(session)
    set_texts(
        session,
        kim,
        summary="Beratung für neu Zugewanderte.",
        translations={"summary": {"ar": {"text": "استشارة", "kind": "machine"}}},
    )
    login(client, "coordinator")
    saved = post(
        client,
        f"/editor/service/{kim.id}/translations?language=ar",
        {"translation_summary": "استشارة للقادمين الجدد.", "confirm_summary": "true"},
    )
    assert saved.status_code == 303
    session.expire_all()
    row = session.exec(
        select(Translation).where(
            Translation.entity_id == kim.id,
            Translation.field == "summary",
            Translation.language == "ar",
        )
    ).one()
    assert (row.text, row.kind) == ("استشارة للقادمين الجدد.", TranslationKind.human)


def test_the_api_gives_the_summary_and_the_state_of_each_text(client, session):
    kim = demo.kim(session)
    set_texts(
        session,
        kim,
        summary="Beratung für neu Zugewanderte.",
        translations={"summary": {"uk": {"text": "Консультації.", "kind": "machine"}}},
    )
    body = client.get(f"/api/v1/services/{kim.id}", params={"lang": "uk"}).json()
    assert body["summary"] == "Консультації."
    assert "summary" in body["machine_translated_fields"]
    assert "summary" not in body["untranslated_fields"]
    german = client.get(f"/api/v1/services/{kim.id}", params={"lang": "de"}).json()
    assert german["summary"] == "Beratung für neu Zugewanderte."
