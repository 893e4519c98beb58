"""Art. 18: a restricted client is frozen in the referral domain itself, whatever the route;
what stops processing stays possible. Refusals change nothing."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from directory.models import Service
from lotse.audit import SYSTEM
from lotse.auth import Principal, roles_of
from lotse.timeutil import utcnow
from privacy import restriction
from referrals import clients, drafts, thread, workflow
from referrals.inputs import MessageIn
from referrals.models import Client, ReferralMessage, ReferralStatus, Urgency
from referrals.restriction import ClientRestricted
from tests.privacy.factories import make_subject
from tests.referrals.factories import EVENING_COURSE, VOLMETAL, case_manager


def _principal(session: Session) -> Principal:
    user = case_manager(session=session)
    return Principal(user=user, roles=roles_of(session=session, user_id=user.id))


def test_nothing_moves_while_restricted(session: Session) -> None:
    subject = make_subject(session=session)
    client = subject.client
    principal = _principal(session)
    restriction.restrict(
        session=session, client=client, reason="Widerspruch", actor=SYSTEM, now=utcnow()
    )
    draft_in = drafts.DraftIn(
        need=None,
        urgency=Urgency.normal,
        note="neu",
        health_note="",
        shared_categories=[],
        contact_preference=None,
        contact_detail=None,
    )
    refused = [
        lambda: clients.update_client(
            session=session,
            client=client,
            client_in=clients.ClientIn("Anders", None, [], [], False, None),
            actor=SYSTEM,
        ),
        lambda: clients.record_consent(
            session=session,
            client=client,
            consent_in=clients.ConsentIn(VOLMETAL, "x", [], False, "written", "de", None),
            principal=principal,
            actor=SYSTEM,
        ),
        lambda: drafts.create_draft(
            session=session,
            principal=principal,
            client=client,
            service=session.get(Service, EVENING_COURSE),
            draft_in=draft_in,
            actor=SYSTEM,
        ),
        lambda: drafts.update_draft(
            session=session, referral=subject.draft, draft_in=draft_in, actor=SYSTEM
        ),
        lambda: thread.post_message(
            session=session,
            referral=subject.open,
            principal=principal,
            message_in=MessageIn(body="Hallo"),
            actor=SYSTEM,
            base_url="",
        ),
        lambda: workflow.transition(
            session=session,
            referral=subject.open,
            target=ReferralStatus.in_progress,
            side="receiver",
            actor_id=None,
            actor_organization_id=VOLMETAL,
        ),
        lambda: workflow.transition(
            session=session,
            referral=subject.draft,
            target=ReferralStatus.sent,
            side="sender",
            actor_id=None,
            actor_organization_id=None,
        ),
        lambda: workflow.book_appointment(
            session=session,
            referral=subject.open,
            at=utcnow() + timedelta(days=2),
            place=None,
            actor_id=principal.id,
            actor_organization_id=VOLMETAL,
        ),
    ]
    messages_before = len(session.exec(select(ReferralMessage)).all())
    for attempt in refused:
        with pytest.raises(ClientRestricted), session.begin_nested():
            attempt()
    session.refresh(client)
    assert client.alias != "Anders"
    assert len(session.exec(select(ReferralMessage)).all()) == messages_before
    session.refresh(subject.open)
    assert subject.open.status == ReferralStatus.accepted and subject.open.appointment_at is None

    # Stopping is allowed: cancelling a referral and withdrawing a consent.
    workflow.transition(
        session=session,
        referral=subject.open,
        target=ReferralStatus.cancelled,
        side="sender",
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(reason="client_withdrew"),
    )
    clients.withdraw_consent(
        session=session, consent=subject.consent, principal=principal, actor=SYSTEM, base_url=""
    )
    assert subject.open.status == ReferralStatus.cancelled

    restriction.lift(session=session, client=client, actor=SYSTEM)
    clients.update_client(
        session=session,
        client=client,
        client_in=clients.ClientIn("Anders", None, [], [], False, None),
        actor=SYSTEM,
    )
    assert session.get(Client, client.id).alias == "Anders"


def test_restriction_needs_a_reason_and_is_not_set_twice(session: Session) -> None:
    client = make_subject(session=session).client
    for reason in ("", "   ", "x" * (restriction.REASON_MAX + 1)):
        with pytest.raises((restriction.ReasonMissing, restriction.ReasonTooLong)):
            restriction.restrict(
                session=session, client=client, reason=reason, actor=SYSTEM, now=utcnow()
            )
    assert client.restricted_at is None
    restriction.restrict(session=session, client=client, reason="a", actor=SYSTEM, now=utcnow())
    with pytest.raises(restriction.AlreadyRestricted):
        restriction.restrict(session=session, client=client, reason="b", actor=SYSTEM, now=utcnow())
    assert client.restriction_reason == "a"
    assert restriction.restricted_clients(session=session)[-1].id == client.id
