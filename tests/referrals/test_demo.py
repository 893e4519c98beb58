"""The demo shows a living system: referrals in every state, loaded once."""

from sqlmodel import select

from referrals.demo import seed_demo_referrals
from referrals.models import Referral, ReferralStatus


def test_the_demo_has_a_referral_in_every_state(session):
    states = {referral.status for referral in session.exec(select(Referral)).all()}
    assert states >= set(ReferralStatus)


def test_seeding_the_demo_again_changes_nothing(session):
    before = len(session.exec(select(Referral)).all())
    assert seed_demo_referrals(session=session) == 0
    assert len(session.exec(select(Referral)).all()) == before
