"""The case manager's referral pages and the referral page both sides share: the refer form,
the dashboard, drafts, and the steps and messages on a referral, refused in place when wrong."""

import uuid

from fastapi.testclient import TestClient
from sqlmodel import col, select

from lotse.models import AuditEvent
from referrals.models import Referral, ReferralEvent
from tests.accounts import login, post
from tests.referrals.test_loop import COURSE, act, consented_draft


def _sent(case_manager: TestClient, alias: str) -> uuid.UUID:
    _, referral_id = consented_draft(case_manager, alias=alias)
    assert act(case_manager, referral_id, "sent").status_code == 303
    return referral_id


def test_a_referral_without_a_client_is_refused_and_keeps_what_was_typed(client, session):
    login(client, "case_manager")
    before = len(session.exec(select(Referral)).all())
    response = post(
        client,
        f"/services/{COURSE}/refer",
        {"client_id": "", "note": "Abends bitte", "urgency": "sofort", "shared": ["identity"]},
    )
    assert response.status_code == 422
    assert 'href="#client_id"' in response.text and 'href="#urgency"' in response.text
    assert "Abends bitte" in response.text
    assert len(session.exec(select(Referral)).all()) == before


def test_the_dashboard_filters_by_state_and_alias(client, session):
    login(client, "case_manager")
    consented_draft(client, alias="Oranger Ball")
    drafts = client.get("/referrals", params={"status": "draft", "q": "Oranger"})
    assert drafts.status_code == 200 and "Oranger Ball" in drafts.text
    sent = client.get("/referrals", params={"status": "sent", "q": "Oranger"})
    assert sent.status_code == 200 and "Oranger Ball" not in sent.text


def test_only_the_sender_edits_a_draft_and_only_while_it_is_one(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        _, referral_id = consented_draft(case_manager, alias="Weißer Stift")
        wrong = post(case_manager, f"/referrals/{referral_id}/draft", {"urgency": "gestern"})
        assert wrong.status_code == 422 and "error-summary" in wrong.text
        saved = post(
            case_manager,
            f"/referrals/{referral_id}/draft",
            {"urgency": "urgent", "note": "Neu", "shared": ["identity"]},
        )
        assert saved.status_code == 303
        assert saved.headers["location"].endswith(f"/referrals/{referral_id}?saved=1")
        session.expire_all()
        assert session.get(Referral, referral_id).note == "Neu"
        assert act(case_manager, referral_id, "sent").status_code == 303
        assert (
            post(case_manager, f"/referrals/{referral_id}/draft", {"note": "x"}).status_code == 409
        )
        login(partner, "partner_staff")
        assert post(partner, f"/referrals/{referral_id}/draft", {"note": "x"}).status_code == 403
    session.expire_all()
    assert session.get(Referral, referral_id).note == "Neu"


def test_a_refused_step_shows_the_page_with_the_reason_and_changes_nothing(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Grünes Band")
        login(partner, "partner_staff")
        version = session.get(Referral, referral_id).version

        unreadable = act(partner, referral_id, "vielleicht")
        assert unreadable.status_code == 422 and 'id="error-summary"' in unreadable.text
        bad_date = act(partner, referral_id, "accepted", waitlist_until="morgen")
        assert bad_date.status_code == 422
        missing = act(partner, referral_id, "declined")
        assert missing.status_code == 422 and "error-summary" in missing.text
        illegal = act(partner, referral_id, "completed", outcome="need_met")
        assert illegal.status_code == 409
        stale = act(partner, referral_id, "accepted", version=str(version - 1))
        assert stale.status_code == 409
        session.expire_all()
        assert session.get(Referral, referral_id).status == "sent"

        accepted = act(partner, referral_id, "accepted", version=str(version))
        assert accepted.status_code == 303
        assert accepted.headers["location"].endswith(f"/referrals/{referral_id}?changed=accepted")
    entries = session.exec(
        select(AuditEvent).where(
            AuditEvent.object_id == str(referral_id), AuditEvent.action == "referral.transition"
        )
    ).all()
    # Refused steps leave no trace; the sending and the accepting do.
    assert len(entries) == 2


def test_closing_needs_the_feedback(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Graue Tasche")
        login(partner, "partner_staff")
        assert (
            act(partner, referral_id, "declined", reason="out_of_scope", note="x").status_code
            == 303
        )
        refused = act(case_manager, referral_id, "closed", helpful="yes")
        assert refused.status_code == 422 and "error-summary" in refused.text
        closed = act(case_manager, referral_id, "closed", got_help="yes", helpful="weiß nicht")
        assert closed.status_code == 303
    session.expire_all()
    referral = session.get(Referral, referral_id)
    assert referral.status == "closed" and referral.feedback_got_help is True
    assert referral.feedback_helpful is None


def _origin(page: str) -> str:
    return page.split('id="referral-origin"')[1].split("</p>")[0]


def test_a_draft_says_who_drafted_it_and_only_a_sent_referral_who_sent_it(client, session):
    login(client, "case_manager")
    _, referral_id = consented_draft(client, alias="Lila Mütze")
    client.cookies.set("lotse_lang", "en")
    draft = _origin(client.get(f"/referrals/{referral_id}").text)
    assert "Drafted by" in draft and "Sent by" not in draft
    assert act(client, referral_id, "sent").status_code == 303
    sent = _origin(client.get(f"/referrals/{referral_id}").text)
    assert "Sent by" in sent and "Drafted by" not in sent


def test_the_closing_feedback_is_shown_to_the_sender_but_not_to_the_partner(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Rosa Schirm")
        login(partner, "partner_staff")
        declined = act(partner, referral_id, "declined", reason="out_of_scope", note="x")
        assert declined.status_code == 303
        feedback = {"got_help": "no", "helpful": "partly", "feedback_note": "Kam nie an"}
        assert act(case_manager, referral_id, "closed", **feedback).status_code == 303

        case_manager.cookies.set("lotse_lang", "en")
        partner.cookies.set("lotse_lang", "en")
        page = case_manager.get(f"/referrals/{referral_id}").text
        assert "The client did not get help." in page
        assert "Was it helpful?" in page and '<dd id="feedback-helpful">partly</dd>' in page
        assert "Kam nie an" in page
        # The partner reads whether the client got help, not the case manager's judgement.
        theirs = partner.get(f"/referrals/{referral_id}").text
        assert "The client did not get help." in theirs
        assert "feedback-helpful" not in theirs and "Kam nie an" not in theirs


def test_messages_go_to_the_other_side_and_empty_ones_are_refused(app, session):
    with TestClient(app) as case_manager:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Braune Mappe")
        empty = post(case_manager, f"/referrals/{referral_id}/messages", {"body": "  "})
        assert empty.status_code == 422
        none = post(case_manager, f"/referrals/{referral_id}/messages", {"body": ""})
        assert none.status_code == 422
        sent = post(case_manager, f"/referrals/{referral_id}/messages", {"body": "Hallo"})
        assert sent.status_code == 303
        assert sent.headers["location"].endswith(f"/referrals/{referral_id}#messages")
    kinds = session.exec(
        select(ReferralEvent.kind)
        .where(ReferralEvent.referral_id == referral_id)
        .order_by(col(ReferralEvent.at))
    ).all()
    assert kinds.count("message") == 1


def test_referring_elsewhere_is_the_senders_and_links_the_new_form(app, session):
    with TestClient(app) as case_manager, TestClient(app) as partner:
        login(case_manager, "case_manager")
        referral_id = _sent(case_manager, "Schwarzer Schuh")
        jump = case_manager.get(
            f"/referrals/{referral_id}/refer-elsewhere",
            params={"service_id": str(COURSE)},
            follow_redirects=False,
        )
        assert jump.status_code == 303
        assert f"/services/{COURSE}/refer?client_id=" in jump.headers["location"]
        assert f"previous={referral_id}" in jump.headers["location"]
        login(partner, "partner_staff")
        page = partner.get(f"/referrals/{referral_id}")
        assert page.status_code == 200
        assert (
            partner.get(
                f"/referrals/{referral_id}/refer-elsewhere",
                params={"service_id": str(COURSE)},
                follow_redirects=False,
            ).status_code
            == 403
        )
        assert partner.get(f"/referrals/{uuid.uuid4()}").status_code == 404
