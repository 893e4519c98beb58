"""The data subject's rights as pages: export, restriction and erasure of one client."""

import io
import json
from html import escape

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, col, select

from directory.models import TargetGroup, TaxonomyTerm
from lotse.models import AuditEvent, Role, User, UserRole
from lotse.outbox import OutboxMessage
from referrals.models import Client, Referral, ReferralStatus
from tests.accounts import login, post
from tests.privacy.factories import ALIAS, HEALTH_NOTE, MESSAGE, NOTE, make_subject
from tests.referrals.factories import VOLMETAL_EMAIL


def _url(client: Client, tail: str = "") -> str:
    return f"/privacy/clients/{client.id}{tail}"


def test_the_client_page_leads_to_the_rights_page(app, session: Session) -> None:
    subject = make_subject(session=session)
    with TestClient(app) as browser:
        login(browser, "case_manager")
        page = browser.get(f"/clients/{subject.client.id}")
        assert _url(subject.client) in page.text
        rights = browser.get(_url(subject.client))
        assert rights.status_code == 200 and ALIAS in rights.text


def test_json_export_holds_everything_and_is_audited(app, session: Session) -> None:
    subject = make_subject(session=session)
    with TestClient(app) as browser:
        login(browser, "case_manager")
        response = browser.get(_url(subject.client, "/export.json"))
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    export = json.loads(response.text)
    assert export["client"]["alias"] == ALIAS
    numbers = {r["number"] for r in export["referrals"]}
    assert subject.closed.number in numbers and subject.draft.number in numbers
    closed = next(r for r in export["referrals"] if r["number"] == subject.closed.number)
    assert closed["health_note"] == HEALTH_NOTE
    assert closed["messages"][0]["body"] == MESSAGE
    assert [e["to_status"] for e in closed["events"] if e["kind"] == "transition"] == [
        "sent",
        "accepted",
        "in_progress",
        "completed",
        "closed",
    ]
    assert "Sprachschule Volmetal" in " ".join(export["recipients"])
    audited = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "client.exported",
            AuditEvent.object_id == str(subject.client.id),
        )
    ).all()
    assert len(audited) == 1


def test_document_in_the_clients_language_right_to_left(app, session: Session) -> None:
    subject = make_subject(session=session)  # languages ar, de, fr: Arabic first
    with TestClient(app) as browser:
        login(browser, "case_manager")
        page = browser.get(_url(subject.client, "/export"))
        assert page.status_code == 200
        assert '<html lang="ar" dir="rtl">' in page.text
        assert NOTE in page.text and MESSAGE in page.text
        document = browser.get(_url(subject.client, "/export.pdf"))
    assert document.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(document.content)).pages)
    assert ALIAS in text


def test_document_falls_back_to_german(app, session: Session) -> None:
    subject = make_subject(session=session)
    subject.client.languages = ["sw"]  # Swahili: no interface catalog
    session.add(subject.client)
    session.flush()
    with TestClient(app) as browser:
        login(browser, "case_manager")
        page = browser.get(_url(subject.client, "/export"))
    assert '<html lang="de" dir="ltr">' in page.text


def test_erasure_asks_for_a_reason_and_a_confirmation(app, session: Session) -> None:
    subject = make_subject(session=session)
    with TestClient(app, headers={"Accept-Language": "en"}) as browser:
        login(browser, "case_manager")
        missing = post(browser, _url(subject.client, "/erase"), {"reason": "  "})
        assert missing.status_code == 422 and "Please give a reason." in missing.text
        naming = post(browser, _url(subject.client, "/erase"), {"reason": f"Brief von {ALIAS}"})
        assert naming.status_code == 422 and "must not name the client" in naming.text
        asking = post(browser, _url(subject.client, "/erase"), {"reason": "Antrag vom 3.12."})
        assert asking.status_code == 200 and 'name="confirmed" value="yes"' in asking.text
        assert subject.open.number in asking.text
        session.expire_all()
        assert session.get(Client, subject.client.id).anonymised_at is None

        done = post(
            browser,
            _url(subject.client, "/erase"),
            {"reason": "Antrag vom 3.12.", "confirmed": "yes"},
        )
        assert done.status_code == 303
        assert browser.get(done.headers["location"]).status_code == 200
        assert ALIAS not in browser.get("/clients").text
        assert browser.get(f"/clients/{subject.client.id}").status_code == 404
        again = post(
            browser,
            _url(subject.client, "/erase"),
            {"reason": "Antrag vom 3.12.", "confirmed": "yes"},
        )
        assert again.status_code == 409 and "already been erased" in again.text

    session.expire_all()
    client = session.get(Client, subject.client.id)
    assert client.anonymised_at is not None and client.alias == ""
    statuses = {
        r.number: r.status
        for r in session.exec(select(Referral).where(Referral.client_id == client.id))
    }
    assert statuses[subject.open.number] == ReferralStatus.cancelled
    assert statuses[subject.draft.number] == ReferralStatus.cancelled
    assert statuses[subject.closed.number] == ReferralStatus.closed
    notice = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.referral_id == subject.open.id, OutboxMessage.kind == "erased"
        )
    ).one()
    assert notice.recipient == VOLMETAL_EMAIL
    assert subject.open.number in notice.body and "Art. 19" in notice.body
    for secret in (ALIAS, NOTE, str(client.id)):
        assert secret not in notice.body and secret not in notice.subject
    erasure_entry = session.exec(
        select(AuditEvent).where(AuditEvent.action == "privacy.erasure")
    ).one()
    assert erasure_entry.object_id is None and erasure_entry.object_type is None
    for secret in (ALIAS, str(client.id), str(subject.open.id), subject.open.number):
        assert secret not in erasure_entry.details
    # The erasure left no other trace in the audit log that names the client or its referrals.
    ids = {str(client.id), *(str(r) for r in (subject.open.id, subject.draft.id))}
    later = session.exec(select(AuditEvent).where(col(AuditEvent.at) >= erasure_entry.at)).all()
    assert not [e for e in later if e.object_id in ids and e.action != "client.viewed"]


def test_restriction_freezes_the_client(app, session: Session) -> None:
    subject = make_subject(session=session)
    with TestClient(app, headers={"Accept-Language": "en"}) as browser:
        login(browser, "case_manager")
        empty = post(browser, _url(subject.client, "/restrict"), {"restriction_reason": ""})
        assert empty.status_code == 422 and "Please give a reason." in empty.text
        assert post(browser, _url(subject.client, "/lift")).status_code == 409
        done = post(
            browser,
            _url(subject.client, "/restrict"),
            {"restriction_reason": "Richtigkeit bestritten"},
        )
        assert done.status_code == 303
        assert "is restricted" in browser.get(f"/clients/{subject.client.id}").text
        edit = post(
            browser,
            f"/clients/{subject.client.id}/consents",
            {
                "recipient": str(subject.consent.recipient_organization_id),
                "purpose": "Noch eine",
                "categories": ["identity"],
                "form": "written",
                "text_language": "de",
            },
        )
        assert edit.status_code == 409 and "restricted" in edit.text
        message = post(
            browser, f"/referrals/{subject.open.id}/messages", {"body": "Geht das noch?"}
        )
        assert message.status_code == 409
        listed = browser.get("/privacy/restricted")
        assert ALIAS in listed.text and "Richtigkeit bestritten" in listed.text
        assert (
            post(
                browser, _url(subject.client, "/restrict"), {"restriction_reason": "x"}
            ).status_code
            == 409
        )
        assert post(browser, _url(subject.client, "/lift")).status_code == 303
        assert ALIAS not in browser.get("/privacy/restricted").text
    session.expire_all()
    assert session.get(Client, subject.client.id).restricted_at is None


def test_the_data_protection_officer_acts_for_every_client(app, session: Session) -> None:
    subject = make_subject(session=session)
    officer = User(
        email="dsb@matrix.lotse.example.org",
        display_name="Datenschutz",
        password_hash=session.exec(
            select(User.password_hash).where(User.email == "admin@demo.lotse.example.org")
        ).one(),
        organization_id=subject.client.organization_id,
    )
    session.add(officer)
    session.flush()
    session.add(UserRole(user_id=officer.id, role=Role.privacy_officer))
    session.flush()
    with TestClient(app) as browser:
        login(browser, officer.email, "Lotse-Betrieb-2026")
        assert browser.get(_url(subject.client)).status_code == 200
        assert browser.get(_url(subject.client, "/export.json")).status_code == 200
        assert browser.get(f"/clients/{subject.client.id}").status_code == 403


def test_the_document_names_needs_and_residence_group_in_words(app, session: Session) -> None:
    """The person reads the names of their needs and status group, not the stored codes."""
    term = session.exec(select(TaxonomyTerm).order_by(TaxonomyTerm.code)).first()
    group = session.exec(select(TargetGroup).order_by(TargetGroup.code)).first()
    assert term is not None and group is not None
    subject = make_subject(session=session)
    subject.client.languages = ["de"]
    subject.client.needs = [term.code]
    subject.client.residence_group = group.code
    session.add(subject.client)
    session.flush()
    with TestClient(app) as browser:
        login(browser, "case_manager")
        page = browser.get(_url(subject.client, "/export"))
    assert page.status_code == 200
    facts = page.text.split('id="record-title"')[1].split("</section>")[0]
    assert escape(term.name) in facts and escape(group.name) in facts
    assert f">{term.code}<" not in facts and f">{group.code}<" not in facts
