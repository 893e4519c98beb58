"""Directory health, against the hand-built scenario."""

from sqlmodel import col, select

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


def test_the_report_counts_the_same_stale_listings_as_the_stale_list(session):
    """Both count listed services (temporarily closed ones too, none of an archived provider)
    with one definition; they once said 50 and 52 for the same thing."""
    from datetime import UTC, datetime

    from directory.models import Organization, Service, ServiceStatus
    from directory.upkeep import verification
    from insights.reports.query import ReportQuery
    from tests.insights.scenario import PERIOD

    gone = Organization(
        name="Aufgelöster Träger (Test)", archived_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    session.add(gone)
    session.flush()
    session.add(Service(name="Beratung eines aufgelösten Trägers", organization_id=gone.id))
    provider = session.exec(
        select(Organization).where(col(Organization.archived_at).is_(None))
    ).first()
    for name in ("Sommerpause-Café", "Kurs in Umbau"):
        session.add(
            Service(name=name, organization_id=provider.id, status=ServiceStatus.temporarily_closed)
        )
    session.flush()
    now = datetime(2026, 12, 1, tzinfo=UTC)

    _, listed = verification.stale_services(session=session, stale_after_days=183, now=now)
    report = directory_health.report(
        session=session,
        query=ReportQuery(period=PERIOD, scope=Scope.city(), stale_after_days=183, now=now),
    )
    assert listed >= 5  # shown, not suppressed
    assert table(report, "overview")["stale"] == {"services": str(listed)}
