"""Handouts in the client's language and the printable consent form."""

import re
import uuid
from datetime import UTC, date, datetime

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session, select

from directory.models import Translation
from directory.seed import stable_id
from lotse import accounts, i18n
from lotse.audit import SYSTEM
from lotse.models import AuditEvent, Role, User
from referrals.models import Client, Consent, DataCategory, Referral, ReferralStatus
from tests.accounts import PASSWORDS, login

KIM = stable_id("service", "stadt-hagen-kim-case-management")
EVENING_COURSE = stable_id("service", "sprachschule-volmetal-demo-integrationskurs-abend")
VOLMETAL = stable_id("partner_organization", "volmetal")
# 17:30 UTC is 18:30 in Hagen in winter.
APPOINTMENT = datetime(2026, 3, 3, 17, 30, tzinfo=UTC)


def html_tag(body: str) -> str:
    match = re.search(r"<html[^>]*>", body)
    assert match
    return match.group(0)


def translation(session: Session, entity_id: uuid.UUID, field: str, language: str) -> str:
    row = session.exec(
        select(Translation).where(
            Translation.entity_id == entity_id,
            Translation.field == field,
            Translation.language == language,
        )
    ).one()
    return row.text


def case_manager(session: Session) -> User:
    return session.exec(select(User).where(User.email == PASSWORDS["case_manager"][0])).one()


def make_client(session: Session, *, languages: list[str]) -> Client:
    manager = case_manager(session)
    client = Client(
        alias="Olena K.",
        birth_year=1988,
        languages=languages,
        case_manager_id=manager.id,
        organization_id=manager.organization_id,
    )
    session.add(client)
    session.flush()
    return client


def make_consent(session: Session, client: Client, **values) -> Consent:
    consent = Consent(
        client_id=client.id,
        recipient_organization_id=VOLMETAL,
        purpose="Anmeldung zum Integrationskurs am Abend",
        categories=[DataCategory.identity, DataCategory.languages],
        recorded_by_id=client.case_manager_id,
        **values,
    )
    session.add(consent)
    session.flush()
    return consent


def make_referral(
    session: Session,
    *,
    languages: list[str],
    appointment: bool = True,
    shared: tuple[str, ...] = ("identity", "languages"),
) -> Referral:
    client = make_client(session, languages=languages)
    consent = make_consent(session, client)
    referral = Referral(
        number="V-2026-99901",
        client_id=client.id,
        consent_id=consent.id,
        service_id=EVENING_COURSE,
        recipient_organization_id=VOLMETAL,
        sender_id=client.case_manager_id,
        sender_organization_id=client.organization_id,
        status=ReferralStatus.in_progress,
        shared_categories=list(shared),
        sent_at=APPOINTMENT,
        appointment_at=APPOINTMENT if appointment else None,
        appointment_place="Raum 2.14" if appointment else None,
    )
    session.add(referral)
    session.flush()
    return referral


# --- the service handout ----------------------------------------------------------------------


def test_service_handout_in_ukrainian(client: TestClient, session: Session):
    response = client.get(f"/services/{KIM}/handout", params={"lang": "uk"})
    assert response.status_code == 200
    assert html_tag(response.text) == '<html lang="uk" dir="ltr">'
    assert response.headers["content-language"] == "uk"
    page = response.text
    assert translation(session, KIM, "name", "uk") in page
    assert "Години роботи" in page  # "Opening hours"
    assert "понеділок" in page  # Monday, from Babel
    # The demo's Ukrainian how-to-apply text is a machine's, and the sheet says so.
    assert str(escape(translation(session, KIM, "application_process", "uk"))) in page
    assert "Termin telefonisch" not in page
    with i18n.language("uk"):
        machine = i18n.gettext(
            "Parts of this handout were translated by a machine and not yet checked by a person. "
            "If something is unclear, please ask."
        )
    assert machine in page
    assert "Öffnungszeiten" not in page


def test_service_handout_in_polish_shows_german_where_no_translation_exists(
    client: TestClient, session: Session
):
    """Polish has the offer's name and summary, not its full texts: those are German, marked
    and announced in Polish."""
    page = client.get(f"/services/{KIM}/handout", params={"lang": "pl"}).text
    assert translation(session, KIM, "name", "pl") in page
    assert "Niektóre informacje są dostępne tylko w języku niemieckim" in page
    assert 'lang="de" dir="ltr" class="in-german">Termin telefonisch' in page


def test_service_handout_in_arabic_is_right_to_left(client: TestClient, session: Session):
    response = client.get(f"/services/{KIM}/handout", params={"lang": "ar"})
    assert html_tag(response.text) == '<html lang="ar" dir="rtl">'
    assert translation(session, KIM, "name", "ar") in response.text
    assert "مواعيد العمل" in response.text  # "Opening hours"
    assert "الاثنين" in response.text  # Monday
    # German fallback text runs left to right inside the right-to-left page (Persian has the
    # name and summary, not the full texts).
    persian = client.get(f"/services/{KIM}/handout", params={"lang": "fa"}).text
    assert html_tag(persian) == '<html lang="fa" dir="rtl">'
    assert 'lang="de" dir="ltr" class="in-german">' in persian


def test_service_handout_in_english_needs_no_german_notice(client: TestClient):
    response = client.get(f"/services/{KIM}/handout", params={"lang": "en"})
    assert html_tag(response.text) == '<html lang="en" dir="ltr">'
    assert "Opening hours" in response.text
    assert "only available in German" not in response.text
    assert "in-german" not in response.text.split("</head>")[1]


@pytest.fixture
def greek_without_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every language Lotse offers has a catalog; take Greek's away to see the fallback a
    language gets while it is still being translated."""
    catalogs = {code: catalog for code, catalog in i18n._catalogs().items() if code != "el"}
    monkeypatch.setattr(i18n, "_catalogs", lambda: catalogs)


@pytest.mark.usefixtures("greek_without_catalog")
def test_language_without_catalog_gets_german_labels_and_says_so(client: TestClient):
    response = client.get(f"/services/{EVENING_COURSE}/handout", params={"lang": "el"})
    assert response.status_code == 200
    assert html_tag(response.text) == '<html lang="de" dir="ltr">'
    assert "Öffnungszeiten" in response.text
    assert "noch nicht auf Griechisch verfügbar" in response.text


def test_handout_shows_what_a_client_needs(client: TestClient):
    page = client.get(f"/services/{EVENING_COURSE}/handout", params={"lang": "de"}).text
    assert "Integrationskurs am Abend (Demo)" in page
    assert "Selbecker Straße 9" in page
    assert "Bus 510, 514: Haltestelle Selbecker Straße" in page
    assert "openstreetmap.org/?mlat=51.34080&amp;mlon=7.48930" in page
    assert '<span class="box" aria-hidden="true"></span>' in page  # the checklist
    assert "Pass und Aufenthaltsdokument" in page
    assert f"http://127.0.0.1:8000/services/{EVENING_COURSE}" in page
    assert "Lotse – Hagen" in page
    assert "print.css" in page
    assert "lotse.css" not in page
    assert "<img" not in page
    assert "Gedruckt am" in page


def test_language_picker_links_every_known_language(client: TestClient):
    page = client.get(f"/services/{KIM}/handout", params={"lang": "uk"}).text
    assert 'href="?lang=ar" lang="ar" hreflang="ar" dir="rtl"' in page
    assert 'href="?lang=el" lang="el" hreflang="el" dir="ltr"' in page
    assert re.search(r'href="\?lang=uk"[^>]*aria-current="true"', page)


def test_handout_defaults_to_the_interface_language(client: TestClient):
    response = client.get(f"/services/{KIM}/handout", headers={"Accept-Language": "en"})
    assert html_tag(response.text) == '<html lang="en" dir="ltr">'
    unknown = client.get(f"/services/{KIM}/handout", params={"lang": "xx"})
    assert html_tag(unknown.text) == '<html lang="de" dir="ltr">'


def test_handout_of_a_missing_service_is_404(client: TestClient):
    assert client.get(f"/services/{uuid.uuid4()}/handout").status_code == 404


# --- the referral handout ---------------------------------------------------------------------


def test_referral_handout_shows_the_appointment_in_the_clients_language(
    client: TestClient, session: Session
):
    referral = make_referral(session, languages=["uk", "ru"])
    login(client, "case_manager")
    response = client.get(f"/referrals/{referral.id}/handout")
    assert response.status_code == 200
    assert html_tag(response.text) == '<html lang="uk" dir="ltr">'
    page = response.text
    assert "Ваш запис на прийом" in page  # "Your appointment"
    assert "вівторок" in page  # 3 March 2026 was a Tuesday
    assert "18:30" in page
    assert "Raum 2.14" in page
    assert "V-2026-99901" in page
    assert response.headers["cache-control"] == "no-store"
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "referral.handout_printed",
            AuditEvent.object_id == str(referral.id),
        )
    ).all()
    assert len(events) == 1
    assert events[0].category == "client_data"
    assert events[0].actor_email == PASSWORDS["case_manager"][0]


def test_referral_handout_in_another_language_on_request(client: TestClient, session: Session):
    referral = make_referral(session, languages=["uk"], appointment=False)
    login(client, "case_manager")
    response = client.get(f"/referrals/{referral.id}/handout", params={"lang": "ar"})
    assert html_tag(response.text) == '<html lang="ar" dir="rtl">'
    assert "V-2026-99901" in response.text
    assert "18:30" not in response.text


@pytest.mark.usefixtures("greek_without_catalog")
def test_client_language_without_catalog_falls_back_to_the_interface_language(
    client: TestClient, session: Session
):
    referral = make_referral(session, languages=["el"])
    login(client, "case_manager")
    response = client.get(f"/referrals/{referral.id}/handout")
    assert html_tag(response.text) == '<html lang="de" dir="ltr">'
    assert "Ihr Termin" in response.text


def test_another_case_manager_cannot_print_the_handout(client: TestClient, session: Session):
    referral = make_referral(session, languages=["uk"])
    manager = case_manager(session)
    accounts.create_user(
        session=session,
        actor=SYSTEM,
        user_in=accounts.NewUser(
            email="zweite-fallmanagerin@demo.lotse.example.org",
            display_name="Zweite Fallmanagerin",
            organization_id=manager.organization_id,
            roles=frozenset({Role.case_manager}),
            password="Anderes-Passwort-2026",
        ),
    )
    session.flush()
    login(client, "zweite-fallmanagerin@demo.lotse.example.org", "Anderes-Passwort-2026")
    response = client.get(f"/referrals/{referral.id}/handout")
    assert response.status_code == 404
    assert "V-2026-99901" not in response.text


@pytest.mark.parametrize("who", ["partner_staff", "partner_admin"])
def test_the_receiving_partner_prints_the_appointment_slip(
    client: TestClient, session: Session, who: str
):
    referral = make_referral(session, languages=["uk", "ru"])
    login(client, who)
    page = client.get(f"/referrals/{referral.id}").text
    assert f"/referrals/{referral.id}/handout" in page
    response = client.get(f"/referrals/{referral.id}/handout")
    assert response.status_code == 200
    # The client's language was shared with the partner: the slip is in Ukrainian.
    assert html_tag(response.text) == '<html lang="uk" dir="ltr">'
    assert "18:30" in response.text and "Raum 2.14" in response.text
    assert "V-2026-99901" in response.text
    assert client.get(f"/referrals/{referral.id}/handout.pdf").status_code == 200
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "referral.handout_printed",
            AuditEvent.object_id == str(referral.id),
        )
    ).all()
    assert events and events[0].actor_email == PASSWORDS[who][0]


def test_the_partner_learns_no_unshared_language_from_the_slip(
    client: TestClient, session: Session
):
    referral = make_referral(session, languages=["uk"], shared=("identity",))
    login(client, "partner_staff")
    response = client.get(f"/referrals/{referral.id}/handout")
    assert response.status_code == 200
    assert html_tag(response.text) == '<html lang="de" dir="ltr">'
    assert "Ihr Termin" in response.text


def test_another_partner_cannot_print_the_slip(client: TestClient, session: Session):
    referral = make_referral(session, languages=["uk"])
    login(client, "other_partner")
    for path in ("handout", "handout.pdf"):
        response = client.get(f"/referrals/{referral.id}/{path}")
        assert response.status_code == 404
        assert "V-2026-99901" not in response.text


def test_the_partner_cannot_print_a_referral_never_sent(client: TestClient, session: Session):
    referral = make_referral(session, languages=["uk"])
    referral.sent_at = None
    session.add(referral)
    session.flush()
    login(client, "partner_staff")
    assert client.get(f"/referrals/{referral.id}/handout").status_code == 404


def test_anonymous_visitors_must_log_in_for_a_referral_handout(
    client: TestClient, session: Session
):
    referral = make_referral(session, languages=["uk"])
    response = client.get(f"/referrals/{referral.id}/handout", follow_redirects=False)
    assert response.status_code in (302, 303, 401)
    assert "V-2026-99901" not in response.text


# --- the consent form -------------------------------------------------------------------------


def consent_page(client: TestClient, session: Session, **values) -> str:
    patient = make_client(session, languages=["uk"])
    consent = make_consent(session, patient, **values)
    login(client, "case_manager")
    response = client.get(f"/clients/{patient.id}/consents/{consent.id}/print")
    assert response.status_code == 200
    return response.text


def test_consent_form_in_ukrainian(client: TestClient, session: Session):
    page = consent_page(client, session, text_language="uk", includes_health=True)
    assert html_tag(page) == '<html lang="uk" dir="ltr">'
    assert "Olena K." in page
    assert "1988" in page
    assert "Sprachschule Volmetal (Demo)" in page
    assert "Anmeldung zum Integrationskurs am Abend" in page
    assert "Псевдонім і рік народження" in page  # "Alias and year of birth"
    assert "до відкликання" in page  # "until withdrawn"
    assert "Я прямо погоджуюся" in page  # the explicit health sentence
    assert "print.css" in page
    assert "not yet available" not in page


def test_consent_form_ticks_only_the_consented_categories(client: TestClient, session: Session):
    page = consent_page(client, session, text_language="de", expires_on=date(2027, 6, 30))
    ticked = re.findall(r'<span class="box box--checked" aria-hidden="true">✕</span>', page)
    assert len(ticked) == 2  # identity and languages; health was not consented
    assert "Angaben zu meiner Gesundheit werden nicht weitergegeben." in page
    assert "30. Juni 2027" in page


def test_consent_form_in_arabic_is_right_to_left(client: TestClient, session: Session):
    page = consent_page(client, session, text_language="ar")
    assert html_tag(page) == '<html lang="ar" dir="rtl">'
    assert "الاسم المستعار وسنة الميلاد" in page  # "Alias and year of birth"


@pytest.mark.usefixtures("greek_without_catalog")
def test_consent_form_without_catalog_is_german_and_says_so(client: TestClient, session: Session):
    page = consent_page(client, session, text_language="el")
    assert html_tag(page) == '<html lang="de" dir="ltr">'
    assert "Einwilligungserklärung" in page
    assert "noch nicht auf Griechisch verfügbar" in page


# --- the new interface languages ------------------------------------------------------------


def test_arabic_interface_is_right_to_left(client: TestClient):
    client.cookies.set("lotse_lang", "ar")
    response = client.get("/")
    assert html_tag(response.text) == '<html lang="ar" dir="rtl">'


def test_ukrainian_interface(client: TestClient):
    client.cookies.set("lotse_lang", "uk")
    response = client.get("/")
    assert html_tag(response.text) == '<html lang="uk" dir="ltr">'


PLACEHOLDER = re.compile(r"%\((\w+)\)s")
MARKUP = re.compile(r"</?[a-z][^>]*>")


@pytest.mark.parametrize("language", ["uk", "ar"])
def test_translations_keep_every_placeholder_and_tag(language: str):
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    assert not catalog.fuzzy
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in filter(None, strings):
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(ids[-1])), ids[0]
            assert sorted(MARKUP.findall(text)) == sorted(MARKUP.findall(ids[0])), ids[0]
