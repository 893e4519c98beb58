"""The case manager's client pages: caseload, a client, consents, and the way back to referring."""

import re
import uuid

from fastapi.testclient import TestClient
from sqlmodel import col, select

from lotse.models import AuditEvent
from referrals.models import Client, Consent
from tests.accounts import login, post
from tests.referrals.test_loop import COURSE, VOLMETAL, consent, new_client


def _audit_actions(session, object_id: uuid.UUID) -> list[str]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(object_id))
            .order_by(col(AuditEvent.at))
        ).all()
    )


def test_a_new_client_with_mistakes_shows_every_error_and_keeps_what_was_typed(client, session):
    login(client, "case_manager")
    before = len(session.exec(select(Client)).all())
    response = post(
        client,
        "/clients",
        {"alias": " ", "birth_year": "neunzehn", "languages": ["uk"], "residence_group": "eu"},
    )
    assert response.status_code == 422
    # Both mistakes at once, each linked from the summary; the languages chosen stay chosen.
    assert 'href="#alias"' in response.text and 'href="#birth_year"' in response.text
    assert 'value="neunzehn"' in response.text and 'value="uk" checked' in response.text
    assert len(session.exec(select(Client)).all()) == before


def test_a_client_made_from_the_refer_form_leads_back_to_it(client, session):
    login(client, "case_manager")
    response = post(
        client, "/clients", {"alias": "Gelbe Mütze", "next": f"/services/{COURSE}/refer"}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    created = session.exec(select(Client).where(Client.alias == "Gelbe Mütze")).one()
    assert location.endswith(f"/services/{COURSE}/refer?client_id={created.id}")
    # Anything else in "next" is not followed: the new client's page instead.
    for elsewhere in (
        "https://example.org/services/x/refer",
        "/admin/settings",
        "/services//refer",
    ):
        other = post(client, "/clients", {"alias": "Weiter", "next": elsewhere})
        assert other.status_code == 303
        assert "/clients/" in other.headers["location"]
        assert "example.org" not in other.headers["location"]


def test_reading_a_client_is_recorded_and_other_caseloads_are_hidden(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        client_id = new_client(case_manager, alias="Lila Schal")
        page = case_manager.get(f"/clients/{client_id}")
        assert page.status_code == 200 and "Lila Schal" in page.text
        assert _audit_actions(session, client_id) == ["client.created", "client.viewed"]
        assert case_manager.get(f"/clients/{uuid.uuid4()}").status_code == 404
        login(partner, "partner_staff")
        assert partner.get(f"/clients/{client_id}").status_code == 403
    assert _audit_actions(session, client_id) == ["client.created", "client.viewed"]


def test_a_consent_with_mistakes_is_refused_field_by_field(client, session):
    login(client, "case_manager")
    client_id = new_client(client, alias="Blauer Hut")
    response = post(
        client,
        f"/clients/{client_id}/consents",
        {"recipient": str(uuid.uuid4()), "purpose": " ", "expires_on": "2001-01-01", "form": "fax"},
    )
    assert response.status_code == 422
    for field in ("recipient", "purpose", "categories", "expires_on", "form"):
        assert f'href="#{field}"' in response.text, field
    assert session.exec(select(Consent).where(Consent.client_id == client_id)).all() == []


def test_a_consent_is_recorded_printed_and_withdrawn(client, session):
    login(client, "case_manager")
    client_id = new_client(client, alias="Rotes Tuch")
    consent(client, client_id)
    recorded = session.exec(select(Consent).where(Consent.client_id == client_id)).one()
    assert recorded.recipient_organization_id == VOLMETAL and recorded.text_language == "uk"
    printed = client.get(f"/clients/{client_id}/consents/{recorded.id}/print")
    assert printed.status_code == 200 and "Rotes Tuch" in printed.text
    assert client.get(f"/clients/{client_id}/consents/{uuid.uuid4()}/print").status_code == 404
    other_client = new_client(client, alias="Fremd")
    # A consent is found only under its own client.
    assert (
        post(client, f"/clients/{other_client}/consents/{recorded.id}/withdraw").status_code == 404
    )
    withdrawn = post(client, f"/clients/{client_id}/consents/{recorded.id}/withdraw")
    assert withdrawn.status_code == 303
    assert withdrawn.headers["location"].endswith(f"/clients/{client_id}?withdrawn=0")
    session.expire_all()
    assert session.get(Consent, recorded.id).withdrawn_at is not None


def test_a_client_speaks_any_language_and_a_made_up_code_is_refused(client, session):
    login(client, "case_manager")
    saved = post(client, "/clients", {"alias": "Blaue Jacke", "languages": ["prs", "ti"]})
    assert saved.status_code == 303
    created = session.exec(select(Client).where(Client.alias == "Blaue Jacke")).one()
    assert created.languages == ["prs", "ti"]
    assert client.get("/clients").status_code == 200
    before = len(session.exec(select(Client)).all())
    refused = post(client, "/clients", {"alias": "Rote Jacke", "languages": ["klingon"]})
    assert refused.status_code == 422
    assert 'href="#languages"' in refused.text and "klingon" in refused.text
    assert len(session.exec(select(Client)).all()) == before


def test_the_language_picker_suggests_every_language_by_name_without_script(client, session):
    """A field with a datalist: the browser filters the names as one types; the code is sent.
    A language already chosen that is not among the common boxes stays a ticked box."""
    login(client, "case_manager")
    client.cookies.set("lotse_lang", "de")
    page = client.get("/clients").text
    assert 'list="languages-options"' in page
    assert '<label for="languages-more">' in page
    assert '<option value="prs">Dari · دری</option>' in page
    assert '<option value="ti">Tigrinya' in page
    assert "<script" not in page.split('id="languages-options"')[1].split("</datalist>")[0]
    refused = post(client, "/clients", {"alias": "Grüne Jacke", "languages": ["uk", "prs", "zz"]})
    assert refused.status_code == 422
    # The ticked languages stay ticked, Dari among them although it has no box of its own.
    assert (
        re.search(r'value="prs"\s+checked', refused.text) or 'value="prs" checked' in refused.text
    )
    assert 'aria-invalid="true"' in refused.text.split('id="languages-more"')[1].split(">")[0]
