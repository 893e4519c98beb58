"""Directory health, against the hand-built scenario."""

from insights.reports import directory_health
from insights.reports.query import Scope
from tests.insights.scenario import LT5, query, table
from tests.referrals.factories import VOLMETAL


def test_directory_health_of_a_district(session, data):
    report = directory_health.report(session=session, query=query())
    assert table(report, "overview") == {
        "active": {"services": "6"},
        "stale": {"services": LT5},
        "without_hours": {"services": LT5},
    }
    translations = table(report, "translations")
    # Six services with a name and a description each: 12 texts per language.
    assert translations["en"] == {
        "services_missing": "5", "texts_missing": "10", "texts_machine": "0",
        "texts_outdated": LT5,
    }  # fmt: skip
    assert translations["uk"] == {
        "services_missing": "6", "texts_missing": "11", "texts_machine": LT5,
        "texts_outdated": "0",
    }  # fmt: skip
    assert translations["ru"] == {
        "services_missing": "6", "texts_missing": "12", "texts_machine": "0",
        "texts_outdated": "0",
    }  # fmt: skip


def test_directory_health_of_a_partner_is_its_own_listings(session, data):
    report = directory_health.report(session=session, query=query(Scope.organization(VOLMETAL)))
    assert table(report, "overview")["active"] == {"services": LT5}  # service A only
    report = directory_health.report(session=session, query=query(Scope.own(data.me.id)))
    assert report.tables == () and report.unavailable
