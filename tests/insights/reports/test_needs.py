"""Needs without offers, against the hand-built scenario of ``tests.insights.scenario``."""

from insights.reports import needs
from insights.reports.query import Scope
from tests.insights.scenario import DISTRICT, LT5, query, table


def test_needs_in_a_district_count_referral_needs_and_searches(session, data):
    report = needs.report(session=session, query=query())
    by_category = table(report, "by_category")
    assert by_category == {
        "integrationskurs": {
            "clients": "0", "referrals": "9", "searches": "0", "offers": "5",
            "offers_with_places": "5",
        },
        "wohnungssuche": {
            "clients": "0", "referrals": LT5, "searches": "0", "offers": LT5,
            "offers_with_places": "0",
        },
        "": {
            "clients": "0", "referrals": "0", "searches": "5", "offers": "",
            "offers_with_places": "",
        },
        "schuldnerberatung": {
            "clients": "0", "referrals": "0", "searches": LT5, "offers": "0",
            "offers_with_places": "0",
        },
    }  # fmt: skip
    assert table(report, "by_language") == {
        "uk": {"clients": "0", "referrals": "5", "searches": "5"},
        "ar": {"clients": "0", "referrals": LT5, "searches": LT5},
        "ro": {"clients": "0", "referrals": LT5, "searches": "0"},
    }
    assert table(report, "by_district") == {
        DISTRICT: {"clients": "0", "referrals": "10", "searches": "6"}
    }
    # "Schuldner" was searched once: not listed at all, not even as "< 5".
    assert table(report, "frequent_queries") == {"zahnarzt": {"searches": "5"}}


def test_client_needs_of_a_case_manager_are_their_own(session, data):
    report = needs.report(session=session, query=query(Scope.own(data.me.id), district=None))
    by_category = table(report, "by_category")
    # Needs of clients: uk (2 needs), ar, three more uk; referrals R1-R9 and, with no district
    # chosen, the one to a service elsewhere.
    assert by_category["integrationskurs"]["clients"] == "5"
    assert by_category["integrationskurs"]["referrals"] == "10"
    # The other case manager's client (ro) and referral (W2) are not counted.
    assert by_category["wohnungssuche"]["clients"] == LT5
    assert by_category["wohnungssuche"]["referrals"] == "0"
    assert table(report, "by_language") == {
        "uk": {"clients": "5", "referrals": "6", "searches": "0"},
        "ar": {"clients": LT5, "referrals": LT5, "searches": "0"},
    }
    assert "frequent_queries" not in {t.key for t in report.tables}
