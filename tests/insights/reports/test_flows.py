"""Referral flows, against the hand-built scenario."""

from insights.reports import flows
from insights.reports.query import Scope
from tests.insights.scenario import LT5, WOHNRAUM, query, table
from tests.referrals.factories import KIM_TEAM, VOLMETAL


def test_flows_between_organisations(session, data):
    pairs = table(flows.report(session=session, query=query()), "flows")
    assert pairs == {
        f"{KIM_TEAM}>{VOLMETAL}": {"referrals": "9", "completed": "5", "loop_closed": LT5},
        f"{KIM_TEAM}>{WOHNRAUM}": {"referrals": LT5, "completed": "0", "loop_closed": "0"},
    }
    own = table(flows.report(session=session, query=query(Scope.own(data.other.id))), "flows")
    assert own == {
        f"{KIM_TEAM}>{WOHNRAUM}": {"referrals": LT5, "completed": "0", "loop_closed": "0"}
    }
