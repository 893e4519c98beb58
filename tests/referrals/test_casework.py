"""Referral drafts and messages as the case manager and the partner meet them."""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from directory.models import Service
from lotse.audit import Actor
from lotse.auth import Principal, roles_of
from lotse.db import writing
from lotse.timeutil import utcnow
from referrals import drafts
from referrals.models import Client, Consent, Referral, ReferralEvent, ReferralMessage, Urgency
from tests.accounts import login, post
from tests.conftest import BACKEND
from tests.referrals.factories import EVENING_COURSE, case_manager, make_client
from tests.referrals.test_api import token_for
from tests.referrals.test_loop import act, consented_draft

# The large race runs on PostgreSQL; SQLite takes writers one at a time anyway.
PARALLEL_DRAFTS = 40 if BACKEND == "postgresql" else 10


@contextmanager
def _committed_client(engine: Engine) -> Iterator[uuid.UUID]:
    """A client whose drafts are committed, as a server's are, and removed afterwards."""
    with Session(engine) as session:
        client_id = make_client(session=session, alias="Parallel").id
        session.commit()
    try:
        yield client_id
    finally:
        with Session(engine) as session:
            drafts = select(Referral.id).where(Referral.client_id == client_id)
            session.exec(delete(ReferralEvent).where(col(ReferralEvent.referral_id).in_(drafts)))
            session.exec(delete(Referral).where(col(Referral.client_id) == client_id))
            session.exec(delete(Client).where(col(Client.id) == client_id))
            session.commit()


def test_drafts_made_at_the_same_moment_get_different_numbers(engine):
    with _committed_client(engine) as client_id:
        numbers: list[str] = []
        failures: list[BaseException] = []
        barrier = threading.Barrier(PARALLEL_DRAFTS)

        def draft() -> None:
            try:
                with Session(writing(engine)) as session:
                    barrier.wait()
                    user = case_manager(session=session)
                    referral = drafts.create_draft(
                        session=session,
                        principal=Principal(
                            user=user, roles=roles_of(session=session, user_id=user.id)
                        ),
                        client=session.get(Client, client_id),
                        service=session.get(Service, EVENING_COURSE),
                        draft_in=drafts.DraftIn(
                            need="language_course",
                            urgency=Urgency.normal,
                            note="",
                            health_note="",
                            shared_categories=[],
                            contact_preference=None,
                            contact_detail=None,
                        ),
                        actor=Actor.of(user),
                    )
                    session.commit()
                    numbers.append(referral.number)
            except BaseException as error:  # a thread's failure must reach the assertion
                failures.append(error)

        threads = [threading.Thread(target=draft) for _ in range(PARALLEL_DRAFTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        assert len(set(numbers)) == PARALLEL_DRAFTS
        with Session(engine) as session:
            stored = session.exec(select(Referral.number).where(Referral.client_id == client_id))
            assert sorted(stored.all()) == sorted(numbers)


def _sent_referral(case_manager: TestClient) -> tuple[uuid.UUID, uuid.UUID]:
    client_id, referral_id = consented_draft(case_manager, alias="Grüner Schal")
    assert act(case_manager, referral_id, "sent").status_code == 303
    return client_id, referral_id


def _messages(session: Session, referral_id: uuid.UUID) -> list[str]:
    rows = session.exec(select(ReferralMessage).where(ReferralMessage.referral_id == referral_id))
    return sorted(message.body for message in rows.all())


def test_nothing_more_flows_once_the_consent_is_withdrawn(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner, TestClient(app) as machine:
        login(case_manager, "case_manager")
        client_id, referral_id = _sent_referral(case_manager)
        login(partner, "partner_staff")
        bearer = token_for(TestClient(app), "partner_staff")
        page = post(partner, f"/referrals/{referral_id}/messages", {"body": "Termin am Montag?"})
        assert page.status_code == 303
        api = machine.post(
            f"/api/v1/referrals/{referral_id}/messages", headers=bearer, json={"body": "Per API"}
        )
        assert api.status_code == 201 and api.json()["body"] == "Per API"

        consent_id = session.exec(select(Consent.id).where(Consent.client_id == client_id)).one()
        withdrawn = post(case_manager, f"/clients/{client_id}/consents/{consent_id}/withdraw")
        assert withdrawn.status_code == 303
        assert session.get(Referral, referral_id).status == "cancelled"

        refused = post(partner, f"/referrals/{referral_id}/messages", {"body": "Noch da?"})
        assert refused.status_code == 409
        assert "Einwilligung" in refused.text and "zurückgezogen" in refused.text
        refused_api = machine.post(
            f"/api/v1/referrals/{referral_id}/messages", headers=bearer, json={"body": "Hallo?"}
        )
        assert refused_api.status_code == 409
        assert refused_api.json()["error"]["code"] == "consent_gone"
        sender = post(case_manager, f"/referrals/{referral_id}/messages", {"body": "Abgesagt"})
        assert sender.status_code == 409
        assert _messages(session, referral_id) == ["Per API", "Termin am Montag?"]


def test_nothing_more_flows_once_the_consent_has_expired(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        client_id, referral_id = _sent_referral(case_manager)
        for row in session.exec(select(Consent).where(Consent.client_id == client_id)).all():
            row.expires_on = utcnow().date() - timedelta(days=1)
            session.add(row)
        session.flush()
        login(partner, "partner_staff")
        refused = post(partner, f"/referrals/{referral_id}/messages", {"body": "Noch da?"})
        assert refused.status_code == 409
        assert "abgelaufen" in refused.text
        assert _messages(session, referral_id) == []
