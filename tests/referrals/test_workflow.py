"""The state machine: every legal and illegal step for every actor, consent, scoping, races."""

import threading
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from directory.seed import stable_id
from lotse.auth import Principal, roles_of
from lotse.models import User
from lotse.outbox import OutboxMessage
from referrals import clients, sides, workflow
from referrals.models import (
    Client,
    Consent,
    DataCategory,
    Referral,
    ReferralEvent,
    ReferralStatus,
    Urgency,
)
from tests.accounts import PASSWORDS, login, post
from tests.referrals.factories import make_client, make_consent, make_referral
from tests.referrals.test_loop import (
    VOLMETAL,
    WOHNRAUM,
    act,
    consent,
    consented_draft,
    draft,
    new_client,
)

S = ReferralStatus
REQUIRED = {
    S.declined: workflow.Change(reason="no_capacity", note="voll"),
    S.not_completed: workflow.Change(reason="client_not_reached", note="drei Versuche"),
    S.cancelled: workflow.Change(reason="need_changed"),
    S.completed: workflow.Change(outcome="need_met"),
    S.on_hold: workflow.Change(hold_kind="waitlist", waitlist_position=3),
    S.closed: workflow.Change(feedback={"got_help": True, "helpful": "yes"}),
    S.entered_in_error: workflow.Change(note="falscher Klient"),
}
# The system holds a referral only for an expired consent (people: waitlist, client action).
REQUIRED_OF_SIDE = {(S.on_hold, "system"): workflow.Change(hold_kind=workflow.CONSENT_EXPIRED)}
# DESIGN.md's table, written out: (from, to) → the sides that may take the step.
ALLOWED = {
    (S.draft, S.sent): {"sender"},
    (S.draft, S.cancelled): {"sender", "system"},
    (S.sent, S.accepted): {"receiver"},
    (S.sent, S.declined): {"receiver"},
    (S.sent, S.expired): {"system"},
    (S.sent, S.on_hold): {"receiver"},
    (S.sent, S.cancelled): {"sender", "receiver", "system"},
    (S.accepted, S.in_progress): {"receiver"},
    (S.accepted, S.on_hold): {"receiver", "system"},
    (S.accepted, S.cancelled): {"sender", "receiver", "system"},
    (S.in_progress, S.on_hold): {"receiver", "system"},
    (S.in_progress, S.completed): {"receiver"},
    (S.in_progress, S.not_completed): {"receiver"},
    (S.in_progress, S.cancelled): {"sender", "receiver", "system"},
    (S.on_hold, S.accepted): {"receiver"},
    (S.on_hold, S.in_progress): {"receiver"},
    (S.on_hold, S.completed): {"receiver"},
    (S.on_hold, S.not_completed): {"receiver"},
    (S.on_hold, S.cancelled): {"sender", "receiver", "system"},
    **{
        (finished, S.closed): {"sender"}
        for finished in (S.completed, S.not_completed, S.declined, S.expired)
    },
    **{
        (state, S.entered_in_error): {"sender", "admin"}
        for state in S
        if state != S.entered_in_error
    },
}
SIDES = ("sender", "receiver", "system", "admin")


def user(session, who: str) -> User:
    return session.exec(select(User).where(User.email == PASSWORDS[who][0])).one()


def principal(session, who: str) -> Principal:
    account = user(session, who)
    return Principal(user=account, roles=roles_of(session=session, user_id=account.id))


def step(session, referral, target, side, change=None):
    """Take one step on a side without a person or organisation behind it."""
    return workflow.transition(
        session=session,
        referral=referral,
        target=target,
        side=side,
        actor_id=None,
        actor_organization_id=None,
        change=change,
    )


@pytest.fixture
def referral_in(session):
    """A factory: a referral of a fresh client with an active consent, in any state.

    The consent covers the client's identity only, so what a partner sees is the alias.
    """

    def make(status: ReferralStatus) -> Referral:
        client = make_client(session=session)
        make_consent(session=session, client=client, categories=(DataCategory.identity,))
        return make_referral(session=session, status=status, client=client)

    return make


@pytest.mark.parametrize(
    ("current", "target"), [(current, target) for current in S for target in S if current != target]
)
def test_every_transition_for_every_side(session, referral_in, current, target):
    allowed = ALLOWED.get((current, target), set())
    for side in SIDES:
        referral = referral_in(current)
        before = (referral.status, referral.version)
        change = REQUIRED_OF_SIDE.get((target, side)) or REQUIRED.get(target, workflow.Change())
        if side in allowed:
            step(session, referral, target, side, change)
            assert referral.status == target and referral.version == before[1] + 1
            event = session.exec(
                select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
            ).one()
            assert (event.from_status, event.to_status) == (current, target)
        else:
            with pytest.raises(workflow.IllegalTransition):
                step(session, referral, target, side, change)
            session.refresh(referral)
            assert (referral.status, referral.version) == before


def test_illegal_transition_message_names_state_and_next_steps(session, referral_in):
    referral = referral_in(S.accepted)
    with pytest.raises(workflow.IllegalTransition) as error:
        step(session, referral, S.completed, "receiver", REQUIRED[S.completed])
    text = error.value.translated()
    for state in (S.accepted, S.in_progress, S.on_hold):
        assert workflow.status_label(state) in text


@pytest.mark.parametrize("target", [S.declined, S.not_completed, S.completed, S.on_hold])
def test_required_fields(session, referral_in, target):
    start = S.sent if target == S.declined else S.in_progress
    referral = referral_in(start)
    with pytest.raises((workflow.MissingFields, workflow.InvalidReason)):
        step(session, referral, target, "receiver", workflow.Change())
    assert referral.status == start


def test_sending_needs_a_consent_for_that_organisation(session, referral_in):
    referral = referral_in(S.draft)
    consent = session.exec(select(Consent).where(Consent.client_id == referral.client_id)).one()
    consent.recipient_organization_id = WOHNRAUM
    session.add(consent)
    session.flush()
    with pytest.raises(workflow.NoConsent):
        step(session, referral, S.sent, "sender")
    consent.recipient_organization_id = VOLMETAL
    consent.expires_on = date.today() - timedelta(days=1)
    session.add(consent)
    session.flush()
    with pytest.raises(workflow.NoConsent):
        step(session, referral, S.sent, "sender")
    assert referral.status == S.draft


def test_only_services_that_take_referrals(client, session):
    login(client, "case_manager")
    client_id = new_client(client)
    other_service = stable_id("service", "stadt-hagen-kim-case-management")
    response = post(
        client,
        f"/services/{stable_id('service', 'vhs-hagen-demo-integrationskurs-mitte')}/refer",
        {"client_id": str(client_id)},
    )
    assert response.status_code == 422
    assert other_service  # the KIM service takes referrals, the VHS course does not
    assert session.exec(select(Referral).where(Referral.client_id == client_id)).first() is None


def test_withdrawing_consent_cancels_open_referrals(client, session):
    login(client, "case_manager")
    client_id, referral_id = consented_draft(client)
    act(client, referral_id, "sent")
    stored = session.exec(select(Consent).where(Consent.client_id == client_id)).one()
    response = post(client, f"/clients/{client_id}/consents/{stored.id}/withdraw")
    assert response.status_code == 303 and "withdrawn=1" in response.headers["location"]
    session.expire_all()
    referral = session.get(Referral, referral_id)
    assert referral.status == S.cancelled and referral.status_reason == "consent_withdrawn"
    # And nothing can be sent to that organisation any more.
    second = draft(client, client_id)
    refused = act(client, second, "sent")
    assert refused.status_code == 422
    assert "Einwilligung" in refused.text or "consent" in refused.text


def test_partners_see_only_consented_and_shared_data(client, app, session):
    login(client, "case_manager")
    client_id = new_client(client)
    consent(client, client_id, categories=["identity"])  # no contact, no health
    referral_id = draft(client, client_id, shared=["identity", "contact", "health"])
    act(client, referral_id, "sent")
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        page = partner.get(f"/referrals/{referral_id}").text
    assert "Blaue Jacke" in page
    assert "0170 000000" not in page and "Rückenprobleme" not in page


def test_other_organisations_and_drafts_are_404(client, app, session):
    login(client, "case_manager")
    client_id, referral_id = consented_draft(client)
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        assert partner.get(f"/referrals/{referral_id}").status_code == 404  # still a draft
        act(client, referral_id, "sent")
        assert partner.get(f"/referrals/{referral_id}").status_code == 200
    with TestClient(app) as stranger:
        login(stranger, "other_partner")
        assert stranger.get(f"/referrals/{referral_id}").status_code == 404
        assert stranger.post(
            f"/referrals/{referral_id}/transition", data={"target": "accepted"}
        ).status_code in (403, 404)
        assert str(referral_id) not in stranger.get("/inbox").text
    with TestClient(app) as coordinator:
        login(coordinator, "coordinator")
        assert coordinator.get(f"/referrals/{referral_id}").status_code == 403
        assert coordinator.get(f"/clients/{client_id}").status_code == 403


def test_only_the_sender_acts_as_sender(client, app, session):
    login(client, "case_manager")
    _, referral_id = consented_draft(client)
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        refused = post(partner, f"/referrals/{referral_id}/transition", {"target": "sent"})
        assert refused.status_code == 404
    act(client, referral_id, "sent")
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        illegal = act(partner, referral_id, "closed", got_help="yes")
        assert illegal.status_code == 409
        assert "Gesendet" in illegal.text or "Sent" in illegal.text


def test_a_stale_page_is_a_conflict(client, app, session):
    login(client, "case_manager")
    _, referral_id = consented_draft(client)
    act(client, referral_id, "sent")
    version = session.get(Referral, referral_id).version
    with TestClient(app) as first, TestClient(app) as second:
        login(first, "partner_staff")
        login(second, "partner_admin")
        assert act(first, referral_id, "accepted", version=str(version)).status_code == 303
        late = act(
            second, referral_id, "declined", version=str(version), reason="no_capacity", note="voll"
        )
    assert late.status_code == 409
    assert session.get(Referral, referral_id).status == S.accepted


def test_two_partners_at_the_same_moment_exactly_one_wins(engine, session):
    """Two threads on two real connections race to accept and to decline the same referral."""
    with Session(engine) as setup:
        client = make_client(session=setup, alias="Wettlauf")
        referral = make_referral(session=setup, status=S.sent, client=client)
        setup.commit()
        referral_id, client_id = referral.id, client.id
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def act_as(name: str, target: ReferralStatus, change: workflow.Change) -> None:
        with Session(engine) as own:
            mine = own.get(Referral, referral_id)
            barrier.wait()
            try:
                workflow.transition(
                    session=own,
                    referral=mine,
                    target=target,
                    side="receiver",
                    actor_id=None,
                    actor_organization_id=VOLMETAL,
                    change=change,
                )
                own.commit()
                results[name] = "won"
            except workflow.ConcurrentChange:
                own.rollback()
                results[name] = "conflict"
            except Exception as error:
                own.rollback()
                results[name] = f"error: {error}"

    try:
        threads = [
            threading.Thread(target=act_as, args=("accept", S.accepted, workflow.Change())),
            threading.Thread(target=act_as, args=("decline", S.declined, REQUIRED[S.declined])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results.values()) == ["conflict", "won"], results
        with Session(engine) as check:
            final = check.get(Referral, referral_id)
            events = check.exec(
                select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
            ).all()
            assert final.status in (S.accepted, S.declined) and final.version == 2
            assert len(events) == 1
    finally:
        with Session(engine) as cleanup:
            for event in cleanup.exec(
                select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
            ).all():
                cleanup.delete(event)
            for mail in cleanup.exec(
                select(OutboxMessage).where(OutboxMessage.referral_id == referral_id)
            ).all():
                cleanup.delete(mail)
            cleanup.flush()
            cleanup.delete(cleanup.get(Referral, referral_id))
            cleanup.flush()
            cleanup.delete(cleanup.get(Client, client_id))
            cleanup.commit()


def test_shared_client_needs_consent_and_choice(session, referral_in):
    referral = referral_in(S.sent)
    client = session.get(Client, referral.client_id)
    consent_row = session.exec(select(Consent).where(Consent.client_id == client.id)).one()
    referral.shared_categories = ["identity", "languages"]
    view = sides.shared_client(
        referral=referral, client=client, consent=consent_row, today=date.today()
    )
    assert view.alias == client.alias and view.languages == []  # languages not consented
    assert (
        sides.shared_client(
            referral=referral, client=client, consent=None, today=date.today()
        ).alias
        is None
    )


def test_dashboard_puts_overdue_and_own_work_first(session, referral_in):
    overdue = referral_in(S.sent)
    overdue.response_due_at = overdue.updated_at - timedelta(days=1)
    done = referral_in(S.completed)
    waiting = referral_in(S.accepted)
    for row in (overdue, done, waiting):
        session.add(row)
    session.flush()
    rows = sides.dashboard(
        session=session, principal=principal(session, "case_manager"), team_wide=False
    )
    order = [row.referral.id for row in rows]
    assert order.index(overdue.id) < order.index(done.id) < order.index(waiting.id)
    assert clients.ClientIn  # the module's public shape is importable
    assert Urgency.urgent and DataCategory.health


def test_partners_never_see_referrals_that_were_not_sent(client, app, session):
    login(client, "case_manager")
    _, referral_id = consented_draft(client)
    assert act(client, referral_id, "entered_in_error", note="falsch angelegt").status_code == 303
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        assert partner.get(f"/referrals/{referral_id}").status_code == 404
        assert str(referral_id) not in partner.get("/inbox").text


def test_a_partner_puts_a_new_referral_straight_on_the_waiting_list(client, app, session):
    login(client, "case_manager")
    _, referral_id = consented_draft(client)
    act(client, referral_id, "sent")
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        page = partner.get(f"/referrals/{referral_id}").text
        assert 'name="hold_kind" value="waitlist"' in page
        # From new, the waiting list is the only hold: waiting for the client needs an answer.
        refused = act(partner, referral_id, "on_hold", hold_kind="client_action")
        assert refused.status_code == 422
        held = act(
            partner,
            referral_id,
            "on_hold",
            hold_kind="waitlist",
            waitlist_position="4",
            waitlist_until="2027-03-01",
        )
        assert held.status_code == 303
    referral = session.get(Referral, referral_id)
    session.refresh(referral)
    assert (referral.status, referral.hold_kind, referral.waitlist_position) == (
        S.on_hold,
        "waitlist",
        4,
    )
    assert referral.responded_at is not None
    event = session.exec(
        select(ReferralEvent).where(
            ReferralEvent.referral_id == referral_id, ReferralEvent.to_status == S.on_hold
        )
    ).one()
    assert event.from_status == S.sent and event.actor_id == user(session, "partner_staff").id
    mails = session.exec(
        select(OutboxMessage).where(OutboxMessage.recipient == PASSWORDS["case_manager"][0])
    ).all()
    assert any(referral.number in mail.subject for mail in mails)
    # The case manager sees that the client waits for a place, on the referral and the list.
    detail = client.get(f"/referrals/{referral_id}").text
    assert "Warteliste" in detail or "Waiting list" in detail
    # On the list, in this referral's own row (a demo referral on a waiting list is there too).
    listing = client.get("/referrals").text
    row = next(r for r in listing.split("<tr")[1:] if referral.number in r)
    assert "Warteliste" in row or "Waiting list" in row


def test_partners_see_the_shared_needs_and_the_need_of_the_referral(client, app, session):
    login(client, "case_manager")
    client_id = new_client(client)
    consent(client, client_id)  # covers the needs
    with_needs = draft(client, client_id, shared=["identity", "needs"])
    without = draft(client, client_id, shared=["identity"])
    act(client, with_needs, "sent")
    act(client, without, "sent")
    own_page = client.get(f"/referrals/{with_needs}").text
    assert "Bedarfe" in own_page or "Needs (topics of support)" in own_page
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        shown = partner.get(f"/referrals/{with_needs}").text
        hidden = partner.get(f"/referrals/{without}").text
    assert 'id="referral-need"' in shown and 'id="client-needs"' in shown
    assert "Integrationskurs" in shown.split('id="client-needs"')[1].split("</dd>")[0]
    assert 'id="referral-need"' not in hidden and 'id="client-needs"' not in hidden


def test_needs_not_covered_by_the_consent_stay_hidden(client, app, session):
    login(client, "case_manager")
    client_id = new_client(client)
    consent(client, client_id, categories=["identity"])
    referral_id = draft(client, client_id, shared=["identity", "needs"])
    act(client, referral_id, "sent")
    with TestClient(app) as partner:
        login(partner, "partner_staff")
        page = partner.get(f"/referrals/{referral_id}").text
    assert 'id="referral-need"' not in page and 'id="client-needs"' not in page
