"""Emails are written in the recipient's language, not in the language of whoever caused them."""

from datetime import timedelta

from sqlmodel import Session, select

from lotse import i18n
from lotse.outbox import OutboxMessage
from partners.models import PartnerOrganization
from referrals import notifications, workflow
from referrals.jobs import run_jobs
from referrals.models import ReferralStatus
from tests.lotse.test_mailer import Inbox, free_port, smtp_server, smtp_settings
from tests.referrals.factories import (
    VOLMETAL,
    VOLMETAL_EMAIL,
    case_manager,
    make_referral,
    send_referral,
)


def _accept_in_arabic(session: Session):
    referral = make_referral(session=session)
    send_referral(session=session, referral=referral)
    partner_user_org = referral.recipient_organization_id
    # The partner works in the Arabic interface.
    with i18n.language("ar"):
        workflow.transition(
            session=session,
            referral=referral,
            target=ReferralStatus.accepted,
            side="receiver",
            actor_id=None,
            actor_organization_id=partner_user_org,
            response_default_days=5,
            base_url="",
        )
    return referral


def _mail_to(session: Session, referral, address: str) -> OutboxMessage:
    return session.exec(
        select(OutboxMessage).where(
            OutboxMessage.referral_id == referral.id,
            OutboxMessage.recipient == address,
            OutboxMessage.kind == "status_changed",
        )
    ).one()


def test_an_arabic_speaking_partner_tells_a_german_case_manager_in_german(session: Session):
    manager = case_manager(session=session)
    manager.language = None
    referral = _accept_in_arabic(session)
    mail = _mail_to(session, referral, manager.email)
    with i18n.language("de"):
        accepted = i18n.gettext("Accepted")
    assert mail.subject == f"Vermittlung {referral.number}: {accepted}", mail.subject
    assert "Datenschutz" in mail.body
    assert not any("\u0600" <= char <= "\u06ff" for char in mail.subject + mail.body)


def test_a_case_manager_who_reads_turkish_gets_turkish(session: Session):
    manager = case_manager(session=session)
    manager.language = "tr"
    referral = _accept_in_arabic(session)
    mail = _mail_to(session, referral, manager.email)
    with i18n.language("tr"):
        expected = i18n.gettext("Open the referral in Lotse: %(link)s") % {"link": ""}
    assert expected.strip() in mail.body
    assert expected != "Open the referral in Lotse: "


def test_a_turkish_set_organisation_gets_turkish_from_the_page_and_from_the_jobs(
    session_factory,
):
    """Sent by a case manager working in Arabic, reminded by the scheduled job: both emails
    reach the language school's address, set to Turkish, in Turkish, over real SMTP."""
    port = free_port()
    settings = smtp_settings(port, referral_response_days=5)
    with session_factory() as session:
        session.get_one(PartnerOrganization, VOLMETAL).notification_language = "tr"
        session.commit()
    try:
        with session_factory() as session, i18n.language("ar"):
            referral = make_referral(session=session)
            send_referral(session=session, referral=referral, base_url=settings.base_url)
            session.commit()
            number = referral.number
            assert referral.sent_at and referral.response_due_at
            half_time = referral.sent_at + (referral.response_due_at - referral.sent_at) / 2
        with smtp_server(port=port, inbox=Inbox()) as inbox:
            report = run_jobs(
                session_factory=session_factory,
                settings=settings,
                now=half_time + timedelta(minutes=1),
            )
        assert report.reminded == 1
        with i18n.language("tr"):
            expected = {
                i18n.gettext(notifications.SUBJECTS["new_referral"], number=number),
                i18n.gettext(notifications.SUBJECTS["reminder"], number=number),
            }
        assert not expected & {
            notifications.SUBJECTS["new_referral"] % {"number": number},
            notifications.SUBJECTS["reminder"] % {"number": number},
        }
        to_school = {m["Subject"] for m in inbox.messages if m["To"] == VOLMETAL_EMAIL}
        assert to_school == expected
    finally:
        with session_factory() as session:
            session.get_one(PartnerOrganization, VOLMETAL).notification_language = None
            session.commit()
