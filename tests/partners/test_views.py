"""The admin pages for organisations and their accounts, as coordinators and partner admins use
them: what is saved, what a bad form says (every error at once, nothing changed), who may."""

import uuid
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from directory.seed import stable_id
from lotse import auth
from lotse.models import Role, User
from lotse.outbox import OutboxMessage
from partners import organizations
from partners.models import PartnerOrganization
from tests.accounts import PASSWORDS, login, post

VOLMETAL = stable_id("partner_organization", "volmetal")
WOHNRAUMHILFE = stable_id("partner_organization", "wohnraumhilfe")


@pytest.fixture
def person(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        yield client


def as_(client: TestClient, role: str) -> TestClient:
    assert login(client, role).status_code == 303
    return client


def text(response) -> str:
    return unescape(response.text)


def shown_with_its_field(response, message: str) -> bool:
    """The message stands next to its field and again in the summary at the top."""
    return text(response).count(message) >= 2


def assert_refused_with(response, *messages: str) -> None:
    """The form comes back (422) with every one of these errors shown at once."""
    assert response.status_code == 422
    missing = [message for message in messages if not shown_with_its_field(response, message)]
    assert not missing, missing


def partner_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(PartnerOrganization)).one()


def user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def form_of(session: Session, partner_id: uuid.UUID, **changes) -> dict:
    """The organisation form as it stands, with some fields changed."""
    partner = organizations.get_partner(session=session, partner_id=partner_id)
    services = organizations.referral_service_ids(session=session, partner_id=partner_id)
    return {
        "name": partner.name,
        "notification_email": partner.notification_email or "",
        "directory_organization_id": str(partner.directory_organization_id or ""),
        "referral_services": [str(service_id) for service_id in services],
        **changes,
    }


def coordinator_edits_volmetal(person: TestClient, session: Session, **changes):
    """The coordinator posts the language school's form with these fields changed."""
    form = form_of(session, VOLMETAL, **changes)
    return post(as_(person, "coordinator"), f"/admin/organizations/{VOLMETAL}", form)


# --- organisations ------------------------------------------------------------------------


def test_a_coordinator_adds_an_organisation_and_finds_it_in_the_list(person, session):
    listing = organizations.get_partner(session=session, partner_id=VOLMETAL)
    service = organizations.listing_services(
        session=session, organization_id=listing.directory_organization_id
    )[0]
    response = post(
        as_(person, "coordinator"),
        "/admin/organizations/new",
        {
            "name": "Sprachcafé Wehringhausen",
            "notification_email": "Info@Sprachcafe.example.org",
            "directory_organization_id": str(listing.directory_organization_id),
            "referral_services": [str(service.id)],
        },
    )
    assert response.status_code == 303
    created = session.exec(
        select(PartnerOrganization).where(PartnerOrganization.name == "Sprachcafé Wehringhausen")
    ).one()
    assert response.headers["location"] == f"/admin/organizations/{created.id}?saved=1"
    assert created.notification_email == "info@sprachcafe.example.org"
    assert organizations.referral_service_ids(session=session, partner_id=created.id) == {
        service.id
    }
    page = person.get(response.headers["location"])
    assert "Your changes have been saved." in page.text
    assert "Sprachcafé Wehringhausen" in person.get("/admin/organizations").text


# A bad form of each kind: what is typed, and every error the page must show at once.
BAD_FORMS = {
    "organisation": (
        "/admin/organizations/new",
        {"name": " x ", "notification_email": "kein-at", "directory_organization_id": "irgendwas"},
        (
            "Please enter the organisation's name.",
            "This is not a valid email address.",
            "Please choose a listing from the list.",
        ),
    ),
    "account": (
        "/admin/users/new",
        {"email": "niemand", "display_name": "N", "organization_id": "unbekannt"},
        (
            "This is not a valid email address.",
            "Please enter the person's name.",
            "Choose at least one role.",
            "Please choose an organisation.",
        ),
    ),
}


@pytest.mark.parametrize("form", BAD_FORMS)
def test_a_bad_form_shows_every_error_at_once_and_creates_nothing(person, session, form):
    url, data, messages = BAD_FORMS[form]
    before = partner_count(session), session.exec(select(func.count()).select_from(User)).one()
    response = post(as_(person, "coordinator"), url, data)
    assert_refused_with(response, *messages)
    typed = data.get("notification_email") or data["email"]
    assert f'value="{typed}"' in response.text  # what was typed stays in the form
    after = partner_count(session), session.exec(select(func.count()).select_from(User)).one()
    assert after == before


def test_a_service_of_another_listing_is_refused_and_nothing_changes(person, session):
    foreign = organizations.referral_service_ids(session=session, partner_id=WOHNRAUMHILFE)
    before = form_of(session, VOLMETAL)
    response = coordinator_edits_volmetal(
        person,
        session,
        name="Umbenannt",
        referral_services=[*before["referral_services"], str(next(iter(foreign)))],
    )
    assert_refused_with(
        response, "Only services of the organisation's own directory listing can take referrals."
    )
    session.expire_all()
    assert form_of(session, VOLMETAL) == before


def test_a_coordinator_edits_an_organisation(person, session):
    kept = sorted(organizations.referral_service_ids(session=session, partner_id=VOLMETAL))[:1]
    response = coordinator_edits_volmetal(
        person,
        session,
        name="Sprachschule Volmetal",
        notification_email="",
        referral_services=[str(service_id) for service_id in kept],
    )
    assert response.status_code == 303
    session.expire_all()
    partner = organizations.get_partner(session=session, partner_id=VOLMETAL)
    assert partner.name == "Sprachschule Volmetal" and partner.notification_email is None
    assert organizations.referral_service_ids(session=session, partner_id=VOLMETAL) == set(kept)


def test_a_disabled_organisation_is_no_longer_offered_for_new_accounts(person, session):
    client = as_(person, "coordinator")
    option = f'value="{WOHNRAUMHILFE}"'
    assert option in client.get("/admin/users/new").text
    response = post(client, f"/admin/organizations/{WOHNRAUMHILFE}/active", {"active": "false"})
    assert response.status_code == 303
    session.expire_all()
    assert not organizations.get_partner(session=session, partner_id=WOHNRAUMHILFE).is_active
    assert option not in client.get("/admin/users/new").text
    page = client.get(f"/admin/organizations/{WOHNRAUMHILFE}")
    assert "Enable organisation" in page.text
    post(client, f"/admin/organizations/{WOHNRAUMHILFE}/active", {"active": "true"})
    assert option in client.get("/admin/users/new").text


def test_an_unknown_organisation_is_not_found(person, session):
    client = as_(person, "coordinator")
    missing = uuid.uuid4()
    page = client.get(f"/admin/organizations/{missing}")
    assert page.status_code == 404 and "This organisation does not exist." in page.text
    before = partner_count(session)
    assert post(client, f"/admin/organizations/{missing}", {"name": "Neu"}).status_code == 404
    assert post(client, f"/admin/organizations/{missing}/active").status_code == 404
    assert partner_count(session) == before


@pytest.mark.parametrize("role", ["case_manager", "partner_staff", "partner_admin"])
def test_only_coordinators_change_organisations(person, session, role):
    client = as_(person, role)
    before = form_of(session, VOLMETAL)
    count = partner_count(session)
    assert client.get(f"/admin/organizations/{VOLMETAL}").status_code == 403
    changed = post(client, f"/admin/organizations/{VOLMETAL}", {**before, "name": "Übernommen"})
    assert changed.status_code == 403
    assert post(client, f"/admin/organizations/{VOLMETAL}/active").status_code == 403
    assert post(client, "/admin/organizations/new", {"name": "Eigene"}).status_code == 403
    session.expire_all()
    assert form_of(session, VOLMETAL) == before
    assert organizations.get_partner(session=session, partner_id=VOLMETAL).is_active
    assert partner_count(session) == count


# --- accounts -------------------------------------------------------------------------------


def test_a_partner_admin_adds_staff_to_their_own_organisation_only(person, session):
    email = "neu.kollegin@volmetal.example.org"
    response = post(
        as_(person, "partner_admin"),
        "/admin/users/new",
        {
            "email": email,
            "display_name": "Neue Kollegin",
            "organization_id": str(WOHNRAUMHILFE),  # not theirs: ignored
            "roles": ["partner_staff"],
        },
    )
    assert response.status_code == 200
    user = user_by_email(session, email)
    assert user is not None and user.organization_id == VOLMETAL
    assert auth.roles_of(session=session, user_id=user.id) == {Role.partner_staff}
    # The new person gets a link to set a password; the admin sees where it went, not the link.
    assert email in response.text and "/account/reset/" not in response.text
    assert session.exec(select(OutboxMessage).where(OutboxMessage.recipient == email)).first()


def test_an_email_address_is_one_account(person, session):
    count = session.exec(select(func.count()).select_from(User)).one()
    response = post(
        as_(person, "admin"),
        "/admin/users/new",
        {
            "email": PASSWORDS["partner_staff"][0],
            "display_name": "Doppelt",
            "organization_id": str(VOLMETAL),
            "roles": ["partner_staff"],
        },
    )
    assert_refused_with(response, "There is already an account with this email address.")
    assert session.exec(select(func.count()).select_from(User)).one() == count


def test_a_partner_admin_renames_a_colleague_and_a_bad_name_changes_nothing(person, session):
    colleague = user_by_email(session, PASSWORDS["partner_staff"][0])
    assert colleague is not None
    client = as_(person, "partner_admin")
    bad = post(
        client, f"/admin/users/{colleague.id}", {"display_name": " ", "roles": ["partner_staff"]}
    )
    assert_refused_with(bad, "Please enter the person's name.")
    session.expire_all()
    assert colleague.display_name == "Jonas Albers (Demo)"
    good = post(
        client,
        f"/admin/users/{colleague.id}",
        {"display_name": "Jonas Albers", "roles": ["partner_staff", "partner_admin"]},
    )
    assert good.status_code == 303
    session.expire_all()
    assert colleague.display_name == "Jonas Albers"
    assert auth.roles_of(session=session, user_id=colleague.id) == {
        Role.partner_staff,
        Role.partner_admin,
    }


def test_nobody_disables_their_own_account(person, session):
    me = user_by_email(session, PASSWORDS["admin"][0])
    assert me is not None
    response = post(as_(person, "admin"), f"/admin/users/{me.id}/active", {"active": "false"})
    assert response.status_code == 422
    assert "You cannot disable your own account." in text(response)
    session.expire_all()
    assert me.is_active


def test_coordinators_see_every_organisations_accounts(person, session):
    listing = as_(person, "coordinator").get("/admin/users")
    for who in ("case_manager", "partner_staff", "other_partner", "admin"):
        assert PASSWORDS[who][0] in listing.text, who


# --- the language of the notification address -------------------------------------------------


def test_the_notification_address_gets_its_own_language(person, session):
    response = coordinator_edits_volmetal(person, session, notification_language="tr")
    assert response.status_code == 303
    session.expire_all()
    partner = organizations.get_partner(session=session, partner_id=VOLMETAL)
    assert partner.notification_language == "tr"
    page = person.get(f"/admin/organizations/{VOLMETAL}").text
    assert '<option value="tr" lang="tr" selected>Türkçe</option>' in page


@pytest.mark.parametrize("code", ["xx", "de-x-ls", "prs"])
def test_an_email_language_lotse_cannot_write_is_refused_next_to_the_field(person, session, code):
    response = coordinator_edits_volmetal(person, session, notification_language=code)
    assert response.status_code == 422
    assert 'id="notification_language-error"' in response.text
    assert "Please choose a language from the list." in response.text
    session.expire_all()
    partner = organizations.get_partner(session=session, partner_id=VOLMETAL)
    assert partner.notification_language is None
