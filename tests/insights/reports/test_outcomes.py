"""Referrals by outcome and decline reason, against the hand-built scenario."""

from insights.reports import flows, outcomes
from insights.reports.query import Scope
from lotse.suppression import WITHHELD
from tests.insights.scenario import LT5, WOHNRAUM, query, table
from tests.referrals.factories import KIM_TEAM, VOLMETAL


def test_outcomes_per_provider_and_category(session, data):
    report = outcomes.report(session=session, query=query())
    volmetal, wohnraum = str(VOLMETAL), str(WOHNRAUM)
    by_provider = table(report, "outcome_by_provider")
    assert by_provider[volmetal] == {
        "completed": "5", "not_completed": "0", "declined": LT5, "expired": "0",
        "cancelled": "0", "open": LT5, "total": WITHHELD,
    }  # fmt: skip
    assert by_provider[wohnraum] == {
        "completed": "0", "not_completed": "0", "declined": "0", "expired": LT5,
        "cancelled": LT5, "open": "0", "total": LT5,
    }  # fmt: skip
    assert by_provider["all"] == {
        "completed": "5", "not_completed": "0", "declined": LT5, "expired": LT5,
        "cancelled": LT5, "open": LT5, "total": WITHHELD,
    }  # fmt: skip
    by_category = table(report, "outcome_by_category")
    assert by_category["integrationskurs"] == by_provider[volmetal]
    assert by_category["wohnungssuche"] == by_provider[wohnraum]  # W1 by its service's category
    declines = table(report, "decline_by_provider")
    assert declines == {
        volmetal: {
            "no_capacity": LT5, "not_eligible": LT5, "not_reachable": "0", "out_of_scope": "0",
            "other": "0", "total": LT5,
        },
        "all": {
            "no_capacity": LT5, "not_eligible": LT5, "not_reachable": "0", "out_of_scope": "0",
            "other": "0", "total": LT5,
        },
    }  # fmt: skip


def test_a_partner_sees_only_referrals_addressed_to_it(session, data):
    report = outcomes.report(session=session, query=query(Scope.organization(WOHNRAUM)))
    by_provider = table(report, "outcome_by_provider")
    assert set(by_provider) == {str(WOHNRAUM), "all"}
    pairs = table(flows.report(session=session, query=query(Scope.organization(VOLMETAL))), "flows")
    assert set(pairs) == {f"{KIM_TEAM}>{VOLMETAL}"}
