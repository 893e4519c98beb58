"""Waitlists and capacity by week, against the hand-built scenario."""

from insights.reports import capacity
from insights.reports.query import Scope
from tests.insights.scenario import query, table


def test_waitlists_and_capacity_by_week(session, data):
    report = capacity.report(session=session, query=query())
    assert table(report, "waitlisted_referrals") == {
        "2019-03-04": {"referrals": "6"},
        "2019-03-11": {"referrals": "5"},
    }
    assert table(report, "capacity_by_week") == {
        str(data.b.id): {"2019-03-04": "", "2019-03-11": "no_places"},
        str(data.a.id): {"2019-03-04": "waitlist", "2019-03-11": "has_places"},
    }


def test_a_case_manager_sees_waitlists_of_own_referrals_only(session, data):
    report = capacity.report(session=session, query=query(Scope.own(data.other.id)))
    assert table(report, "waitlisted_referrals") == {
        "2019-03-04": {"referrals": "0"},
        "2019-03-11": {"referrals": "0"},
    }
    assert [t.key for t in report.tables] == ["waitlisted_referrals"]
