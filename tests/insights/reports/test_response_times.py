"""Response times, against the hand-built scenario."""

from datetime import date

from insights.reports import response_times
from insights.reports.query import Period, ReportQuery, Scope
from lotse.suppression import TOO_FEW
from tests.insights.scenario import DISTRICT, LT5, WOHNRAUM, query, table
from tests.referrals.factories import VOLMETAL


def test_response_times_median_and_90th_percentile(session, data):
    rows = table(response_times.report(session=session, query=query()), "response_times")
    # First response: 0.25 0.5 1 1 1 1.5 2 3 4 → median 1.0, 90th (9th of 9) 4.0.
    # Acceptance: 0.5 1 1 1 1.5 2 4 → median 1.0, 90th (7th of 7) 4.0.
    # Completion: 4 4 6 6 8 → median 6.0, 90th (5th of 5) 8.0.
    expected = {
        "first_response_referrals": "9", "first_response_median": "1.0",
        "first_response_p90": "4.0",
        "acceptance_referrals": "7", "acceptance_median": "1.0", "acceptance_p90": "4.0",
        "completion_referrals": "5", "completion_median": "6.0", "completion_p90": "8.0",
    }  # fmt: skip
    assert rows[str(VOLMETAL)] == expected
    assert rows["all"] == expected
    # Wohnraumhilfe never answered: nothing to measure.
    assert set(rows[str(WOHNRAUM)].values()) == {"0", ""}


def test_response_times_over_fewer_than_five_referrals_are_suppressed(session, data):
    # Only R1 and R2 were sent on 03-04.
    one_day = ReportQuery(
        period=Period(date(2019, 3, 4), date(2019, 3, 4)), scope=Scope.city(), district=DISTRICT
    )
    rows = table(response_times.report(session=session, query=one_day), "response_times")
    assert rows[str(VOLMETAL)]["first_response_referrals"] == LT5
    assert rows[str(VOLMETAL)]["first_response_median"] == TOO_FEW
    assert rows[str(VOLMETAL)]["completion_p90"] == TOO_FEW


def test_percentile_is_the_nearest_rank():
    assert response_times.percentile_90([1.0, 2.0, 3.0, 4.0, 5.0]) == 5.0
    assert response_times.percentile_90([float(n) for n in range(1, 21)]) == 18.0


def test_putting_a_new_referral_on_the_waiting_list_is_its_first_response():
    from datetime import UTC, datetime, timedelta

    from referrals.models import ReferralEvent, ReferralStatus

    sent_at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    events = [
        ReferralEvent(from_status=ReferralStatus.draft, to_status=ReferralStatus.sent, at=sent_at),
        ReferralEvent(
            from_status=ReferralStatus.sent,
            to_status=ReferralStatus.on_hold,
            at=sent_at + timedelta(days=2),
        ),
    ]
    durations = response_times._durations(events)
    assert durations["first_response"] == 2.0
    assert "acceptance" not in durations
