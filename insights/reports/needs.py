"""Needs without offers: needs recorded for clients and in referrals, and searches that
found nothing, next to the active offers of each category."""

import json
from collections import Counter

from sqlmodel import Session, col, select

from directory.models import SearchLog
from insights.reports import lookups
from insights.reports.lookups import NOT_RECORDED
from insights.reports.query import ReportQuery, ScopeKind
from lotse.i18n import gettext
from lotse.report_tables import Report, Row, build_table
from lotse.suppression import THRESHOLD, Figure, count
from referrals.models import Client


def report(*, session: Session, query: ReportQuery) -> Report:
    """Needs recorded for clients and in referrals, and searches that found nothing."""
    start, end = query.period.bounds(query.timezone)
    scope = query.scope
    # (category, language, district) of each recorded need, per source.
    clients: list[tuple[str, str, str]] = []
    referral_needs: list[tuple[str, str, str]] = []
    searches: list[tuple[str, str, str]] = []
    queries: Counter[str] = Counter()

    # Clients have no place: with a district chosen their needs cannot be counted.
    if scope.kind != ScopeKind.organization and not query.district:
        statement = select(Client).where(
            col(Client.created_at) >= start, col(Client.created_at) < end
        )
        if scope.kind == ScopeKind.own:
            statement = statement.where(Client.case_manager_id == scope.user_id)
        for client in session.exec(statement).all():
            language = client.languages[0] if client.languages else NOT_RECORDED
            for need in dict.fromkeys(client.needs):
                clients.append((need, language, NOT_RECORDED))

    referrals = [r for r in lookups.referrals(session, query) if r.need]
    districts = lookups.service_districts(session)
    client_languages = (
        {
            c.id: (c.languages[0] if c.languages else NOT_RECORDED)
            for c in session.exec(
                select(Client).where(col(Client.id).in_({r.client_id for r in referrals}))
            ).all()
        }
        if referrals
        else {}
    )
    for referral in referrals:
        assert referral.need is not None
        language = client_languages.get(referral.client_id, NOT_RECORDED)
        for district in sorted(districts.get(referral.service_id) or {NOT_RECORDED}):
            referral_needs.append((referral.need, language, district))

    # The search log records no person: it belongs to the whole city's figures only.
    if scope.kind == ScopeKind.city:
        logs = session.exec(
            select(SearchLog.query, SearchLog.filters, SearchLog.language).where(
                col(SearchLog.created_at) >= start, col(SearchLog.created_at) < end
            )
        ).all()
        for text, raw_filters, ui_language in logs:
            filters = _filters(raw_filters)
            district = filters.get("district") or filters.get("place_district") or NOT_RECORDED
            if query.district and district != query.district:
                continue
            category = filters.get("category") or NOT_RECORDED
            language = filters.get("language") or ui_language or NOT_RECORDED
            searches.append((category, language, district))
            if text.strip():
                queries[text.strip().casefold()] += 1

    categories = lookups.category_names(session)
    district_names = lookups.district_names(session)
    offers, with_places = _offers_per_category(session, query)

    def grouped(position: int) -> dict[str, tuple[int, int, int]]:
        keys = {item[position] for item in clients + referral_needs + searches}
        return {
            key: (
                sum(1 for item in clients if item[position] == key),
                sum(1 for item in referral_needs if item[position] == key),
                sum(1 for item in searches if item[position] == key),
            )
            for key in keys
        }

    chart = "searches" if scope.kind == ScopeKind.city else "referrals"
    sources = [
        ("clients", gettext("Needs of clients")),
        ("referrals", gettext("Needs in referrals")),
        ("searches", gettext("Searches without results")),
    ]
    by_category = build_table(
        "by_category",
        gettext("By category"),
        gettext("Category"),
        [
            *sources,
            ("offers", gettext("Active offers")),
            ("offers_with_places", gettext("Offers with places")),
        ],
        (
            Row(
                key,
                lookups.label(categories, key) if key else gettext("No category chosen"),
                (
                    count(n_clients),
                    count(n_referrals),
                    count(n_searches),
                    count(offers.get(key, 0)) if key else Figure(None),
                    count(with_places.get(key, 0)) if key else Figure(None),
                ),
            )
            for key, (n_clients, n_referrals, n_searches) in grouped(0).items()
        ),
        chart_column=chart,
    )
    by_language = build_table(
        "by_language",
        gettext("By language"),
        gettext("Language"),
        sources,
        (
            Row(key, lookups.language_label(key), tuple(count(n) for n in numbers))
            for key, numbers in grouped(1).items()
        ),
        chart_column=chart,
    )
    by_district = build_table(
        "by_district",
        gettext("By district"),
        gettext("District"),
        sources,
        (
            Row(key, lookups.label(district_names, key), tuple(count(n) for n in numbers))
            for key, numbers in grouped(2).items()
        ),
        chart_column=chart,
    )
    tables = [by_category, by_language, by_district]
    if scope.kind == ScopeKind.city:
        tables.append(
            build_table(
                "frequent_queries",
                gettext("Frequent searches without results"),
                gettext("Search words"),
                [("searches", gettext("Searches"))],
                (Row(text, text, (count(n),)) for text, n in queries.items() if n >= THRESHOLD),
                chart_column="searches",
                note=gettext("Only search words that were used at least 5 times are listed."),
            )
        )
    notes = [
        gettext(
            "A client's language is the first language recorded; a search's language is the "
            "language filter of the search, or else the language it was made in."
        ),
        gettext("Clients have no place: their needs are counted only for all districts."),
    ]
    if scope.kind != ScopeKind.city:
        notes.append(
            gettext(
                "Searches are recorded without who searched, so they are part of the city-wide "
                "figures only."
            )
        )
    return Report("needs", gettext("Needs without offers"), tuple(tables), notes=tuple(notes))


def _filters(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float)}


def _offers_per_category(
    session: Session, query: ReportQuery
) -> tuple[dict[str, int], dict[str, int]]:
    services = {s.id: s for s in lookups.active_services(session, query)}
    offers: Counter[str] = Counter()
    with_places: Counter[str] = Counter()
    for service_id, codes in lookups.service_categories(session).items():
        service = services.get(service_id)
        if service is None:
            continue
        for code in codes:
            offers[code] += 1
            if service.capacity_status == "has_places":
                with_places[code] += 1
    return offers, with_places


# --- referrals by outcome and decline reason -----------------------------------------------------
