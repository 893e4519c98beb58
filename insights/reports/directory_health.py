"""Directory health: stale listings, listings without hours, and translation gaps."""

import uuid

from sqlmodel import Session, col, select

from directory import listings
from directory.models import (
    ListingKind,
    Schedule,
    Service,
    ServiceAtLocation,
    Translation,
)
from directory.translations import source_hash
from directory.versions import TRANSLATED_FIELDS
from insights.reports import lookups
from insights.reports.query import ReportQuery, ScopeKind
from lotse.i18n import N_, gettext
from lotse.report_tables import Report, Row, build_table, translated
from lotse.suppression import count

# Languages whose translations the directory health report checks (German is the source).
TRANSLATION_LANGUAGES = ("en", "uk", "ar", "tr", "ru", "ro", "bg", "pl", "el")


TRANSLATION_COLUMNS = (
    ("services_missing", N_("Services with missing texts")),
    ("texts_missing", N_("Missing texts")),
    ("texts_machine", N_("Machine translations")),
    ("texts_outdated", N_("Outdated translations")),
)


def report(*, session: Session, query: ReportQuery) -> Report:
    title = gettext("Directory health")
    if query.scope.kind == ScopeKind.own:
        return Report(
            "directory-health",
            title,
            (),
            unavailable=gettext(
                "Directory health is about listings; it is shown to coordinators and to "
                "partners for their own listings."
            ),
        )
    # The listings a visitor sees, as the stale list counts them (listings.stale_services).
    filters = listings.ServiceFilters(district=query.district)
    wanted = lookups.in_scope_services(session, query.scope)
    listed = listings.listed_services(session, filters=filters)
    if wanted is not None:
        listed = listed.where(col(Service.id).in_(wanted))
    services = list(session.exec(listed).all())
    ids = [s.id for s in services]

    with_hours: set[uuid.UUID] = set()
    if ids:
        with_hours |= {
            service_id
            for service_id in session.exec(
                select(Schedule.service_id).where(col(Schedule.service_id).in_(ids))
            ).all()
            if service_id is not None
        }
        with_hours |= set(
            session.exec(
                select(ServiceAtLocation.service_id)
                .join(Schedule, col(Schedule.location_id) == ServiceAtLocation.location_id)
                .where(col(ServiceAtLocation.service_id).in_(ids))
            ).all()
        )
    stale = listings.count_of(
        session,
        listings.stale_services(
            session,
            stale_after_days=query.stale_after_days,
            now=query.now,
            filters=filters,
            among=wanted,
        ),
    )
    overview = build_table(
        "overview",
        gettext("Listings"),
        gettext("Listings"),
        [("services", gettext("Services"))],
        (
            Row("active", gettext("Listed services"), (count(len(services)),)),
            Row("stale", gettext("Not verified recently (stale)"), (count(stale),)),
            Row(
                "without_hours",
                gettext("Without opening hours"),
                (count(sum(1 for s in services if s.id not in with_hours)),),
            ),
        ),
        chart_column="services",
        sort=False,
    )

    fields = TRANSLATED_FIELDS[ListingKind.service]
    translations: dict[tuple[uuid.UUID, str, str], Translation] = {}
    for start in range(0, len(ids), 500):
        for row in session.exec(
            select(Translation).where(
                Translation.entity_type == "service",
                col(Translation.entity_id).in_(ids[start : start + 500]),
                col(Translation.language).in_(TRANSLATION_LANGUAGES),
            )
        ).all():
            translations[(row.entity_id, row.field, row.language)] = row
    rows = []
    for language in TRANSLATION_LANGUAGES:
        missing_services = missing = machine = outdated = 0
        for service in services:
            gaps = 0
            for name in fields:
                source = getattr(service, name)
                if not source:
                    continue
                found = translations.get((service.id, name, language))
                if found is None:
                    gaps += 1
                    continue
                if found.kind == "machine":
                    machine += 1
                if found.source_hash and found.source_hash != source_hash(source):
                    outdated += 1
            missing += gaps
            missing_services += 1 if gaps else 0
        rows.append(
            Row(
                language,
                lookups.language_label(language),
                (count(missing_services), count(missing), count(machine), count(outdated)),
            )
        )
    translation_table = build_table(
        "translations",
        gettext("Translations of active services"),
        gettext("Language"),
        translated(TRANSLATION_COLUMNS),
        rows,
        chart_column="services_missing",
        sort=False,
    )
    return Report(
        "directory-health",
        title,
        (overview, translation_table),
        notes=(
            gettext(
                "Listed services now, whatever the period. A listing is stale when nobody "
                "verified it for %(days)s days. Texts are the name, description, eligibility, "
                "how to apply, fees and alert of a service, where the German text exists.",
                days=query.stale_after_days,
            ),
        ),
    )
