"""Gap reports: where needs meet no offer, how referrals end, how fast partners answer.

Each report is a plain function over a session and a ``ReportQuery`` (period, district, scope)
and returns a ``Report``: tables of figures that have already passed small-number
suppression (``insights.suppression``), so pages, charts and CSV exports cannot show more
than they may. Nothing here writes.

What counts (shown on the pages too, see ``DEFINITIONS``):

- A referral belongs to the period when it was **sent** in it (drafts never sent and referrals
  entered in error are left out). Its **district** is that of the places of its service; a
  service at places in several districts counts in each of them.
- **Scope**: coordinators and admins see the whole city; partner staff the referrals
  addressed to their organisation and their organisation's listings; case managers the
  referrals they sent and the clients of their caseload.
- **Outcome**: the state a referral ended in (completed, not completed, declined, expired,
  cancelled); a closed referral counts with the state it was closed from. Otherwise "open".
- **Times** run from the event that sent the referral to the first event that made it
  accepted or declined (first response), accepted (acceptance) and completed (completion),
  in calendar days. Median: the middle value (the mean of the two middle values for an even
  number); 90th percentile: the smallest time within which at least 90 % of the referrals
  got there (nearest rank).
- **Loop closed**: the case manager closed the referral with feedback.
"""

import json
import math
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from directory import listings
from directory.models import (
    CapacityChange,
    District,
    ListingKind,
    Location,
    Schedule,
    SearchLog,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTaxonomyTerm,
    TaxonomyTerm,
    Translation,
)
from directory.translations import Localizer, source_hash
from directory.versions import TRANSLATED_FIELDS
from insights.suppression import THRESHOLD, Figure, count, statistic, total
from lotse.auth import Principal
from lotse.i18n import N_, get_language, gettext, language_name
from lotse.models import Role
from lotse.permissions import Forbidden
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization, ReferralService
from referrals.casework import reason_label
from referrals.models import Client, Referral, ReferralEvent, ReferralStatus
from referrals.workflow import DECLINE_REASONS, status_label

S = ReferralStatus

# Languages whose translations the directory health report checks (German is the source).
TRANSLATION_LANGUAGES = ("en", "uk", "ar", "tr", "ru", "ro", "bg", "pl", "el")
OUTCOMES = (S.completed, S.not_completed, S.declined, S.expired, S.cancelled)
OPEN = "open"
NOT_RECORDED = ""


# --- what a report is asked for ---------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end``, both days included, in the installation's local time."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, *, today: date) -> "Period":
        return cls(today - timedelta(days=days - 1), today)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        return (
            datetime.combine(self.start, time(0), tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone),
        )


class ScopeKind(StrEnum):
    city = "city"
    organization = "organization"  # a partner: its own organisation's figures
    own = "own"  # a case manager: their own referrals and caseload


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    organization_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @classmethod
    def city(cls) -> "Scope":
        return cls(ScopeKind.city)

    @classmethod
    def organization(cls, organization_id: uuid.UUID) -> "Scope":
        return cls(ScopeKind.organization, organization_id=organization_id)

    @classmethod
    def own(cls, user_id: uuid.UUID) -> "Scope":
        return cls(ScopeKind.own, user_id=user_id)


def scope_of(principal: Principal) -> Scope:
    """Whose figures a user may see (DESIGN.md, "gap reports"); the widest role wins."""
    if principal.has_role(Role.coordinator, Role.admin):
        return Scope.city()
    if principal.has_role(Role.partner_staff, Role.partner_admin):
        return Scope.organization(principal.organization_id)
    if principal.has_role(Role.case_manager):
        return Scope.own(principal.id)
    raise Forbidden()


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    scope: Scope
    district: str | None = None
    timezone: str = "Europe/Berlin"
    stale_after_days: int = 183
    now: datetime = field(default_factory=utcnow)


# --- what a report answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Status:
    """A cell that is a state, not a number (capacity in a week)."""

    code: str
    label: str

    @property
    def text(self) -> str:
        return self.code


Cell = Figure | Status


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    row_label: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    chart_column: str | None = None  # the column drawn as a bar chart
    note: str = ""

    def column_index(self, key: str) -> int:
        return [column.key for column in self.columns].index(key)


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()
    unavailable: str = ""  # why this scope has no figures here


def _table(
    key: str,
    title: str,
    row_label: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Row],
    *,
    chart_column: str | None = None,
    note: str = "",
    sort: bool = True,
) -> Table:
    rows = list(rows)
    if sort and chart_column is not None:
        index = [key for key, _ in columns].index(chart_column)

        # Order by what is shown only: a hidden count must not show through its position.
        def shown_value(row: Row) -> float:
            cell = row.cells[index]
            return float(cell.value) if isinstance(cell, Figure) and cell.value else 0.0

        rows.sort(key=lambda row: (-shown_value(row), row.label.casefold()))
    return Table(
        key=key,
        title=title,
        row_label=row_label,
        columns=tuple(Column(k, label) for k, label in columns),
        rows=tuple(rows),
        chart_column=chart_column,
        note=note,
    )


# --- shared lookups -----------------------------------------------------------------------------


def _service_districts(session: Session) -> dict[uuid.UUID, set[str]]:
    rows = session.exec(
        select(ServiceAtLocation.service_id, District.code)
        .join(Location, col(Location.id) == ServiceAtLocation.location_id)
        .join(District, col(District.id) == Location.district_id)
    ).all()
    found: dict[uuid.UUID, set[str]] = defaultdict(set)
    for service_id, code in rows:
        found[service_id].add(code)
    return found


def _district_names(session: Session) -> dict[str, str]:
    return {d.code: d.name for d in session.exec(select(District)).all()}


def _category_names(session: Session) -> dict[str, str]:
    loc = Localizer(session=session, language=get_language())
    terms = list(session.exec(select(TaxonomyTerm)).all())
    loc.load(terms)
    return {term.code: loc.text(term, "name") for term in terms}


def _service_categories(session: Session) -> dict[uuid.UUID, list[str]]:
    rows = session.exec(
        select(ServiceTaxonomyTerm.service_id, TaxonomyTerm.code).join(
            TaxonomyTerm, col(TaxonomyTerm.id) == ServiceTaxonomyTerm.taxonomy_term_id
        )
    ).all()
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    for service_id, code in rows:
        found[service_id].append(code)
    return {service_id: sorted(codes) for service_id, codes in found.items()}


def _partner_names(session: Session) -> dict[uuid.UUID, str]:
    return {p.id: p.name for p in session.exec(select(PartnerOrganization)).all()}


def _language_label(code: str) -> str:
    """A language's name in the interface language, e.g. "Ukrainisch" for uk in German."""
    return language_name(code) if code else gettext("Not recorded")


def _label(names: dict[str, str], code: str) -> str:
    return names.get(code, code) if code else gettext("Not recorded")


def _in_scope_services(session: Session, scope: Scope) -> set[uuid.UUID] | None:
    """The services a scope's figures are about; None: all of them."""
    if scope.kind == ScopeKind.city:
        return None
    if scope.kind == ScopeKind.own:
        return set()
    partner = session.get(PartnerOrganization, scope.organization_id)
    ids = set(
        session.exec(
            select(ReferralService.service_id).where(
                ReferralService.partner_organization_id == scope.organization_id
            )
        ).all()
    )
    if partner is not None and partner.directory_organization_id is not None:
        ids |= set(
            session.exec(
                select(Service.id).where(
                    Service.organization_id == partner.directory_organization_id
                )
            ).all()
        )
    return ids


def _referrals(session: Session, query: ReportQuery, *, in_period: bool = True) -> list[Referral]:
    """The referrals in scope and district, sent in the period unless ``in_period`` is False."""
    statement = select(Referral).where(
        col(Referral.sent_at).is_not(None),
        col(Referral.status).not_in((S.draft, S.entered_in_error)),
    )
    if in_period:
        start, end = query.period.bounds(query.timezone)
        statement = statement.where(col(Referral.sent_at) >= start, col(Referral.sent_at) < end)
    scope = query.scope
    if scope.kind == ScopeKind.organization:
        statement = statement.where(Referral.recipient_organization_id == scope.organization_id)
    elif scope.kind == ScopeKind.own:
        statement = statement.where(Referral.sender_id == scope.user_id)
    if query.district:
        statement = statement.where(
            col(Referral.service_id).in_(
                select(ServiceAtLocation.service_id)
                .join(Location, col(Location.id) == ServiceAtLocation.location_id)
                .join(District, col(District.id) == Location.district_id)
                .where(District.code == query.district)
            )
        )
    return list(session.exec(statement.order_by(col(Referral.sent_at))).all())


def _events(
    session: Session, referrals: Sequence[Referral]
) -> dict[uuid.UUID, list[ReferralEvent]]:
    found: dict[uuid.UUID, list[ReferralEvent]] = defaultdict(list)
    ids = [referral.id for referral in referrals]
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(ReferralEvent)
            .where(
                col(ReferralEvent.referral_id).in_(ids[start : start + 500]),
                ReferralEvent.kind == "transition",
            )
            .order_by(col(ReferralEvent.at))
        ).all()
        for event in rows:
            found[event.referral_id].append(event)
    return found


def _category_of(referral: Referral, service_categories: dict[uuid.UUID, list[str]]) -> str:
    """The need the case manager recorded, else the first category of the service."""
    if referral.need:
        return referral.need
    categories = service_categories.get(referral.service_id) or [NOT_RECORDED]
    return categories[0]


def _outcome(referral: Referral, events: list[ReferralEvent]) -> str:
    status = S(referral.status)
    if status == S.closed:
        closing = [e for e in events if e.to_status == S.closed]
        status = S(closing[-1].from_status) if closing and closing[-1].from_status else S.closed
    return status.value if status in OUTCOMES else OPEN


def _outcome_label(code: str) -> str:
    return gettext("Still open") if code == OPEN else status_label(code)


# --- needs without offers ------------------------------------------------------------------------


def needs_without_offers(*, session: Session, query: ReportQuery) -> Report:
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

    referrals = [r for r in _referrals(session, query) if r.need]
    districts = _service_districts(session)
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

    categories = _category_names(session)
    district_names = _district_names(session)
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
    by_category = _table(
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
                _label(categories, key) if key else gettext("No category chosen"),
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
    by_language = _table(
        "by_language",
        gettext("By language"),
        gettext("Language"),
        sources,
        (
            Row(key, _language_label(key), tuple(count(n) for n in numbers))
            for key, numbers in grouped(1).items()
        ),
        chart_column=chart,
    )
    by_district = _table(
        "by_district",
        gettext("By district"),
        gettext("District"),
        sources,
        (
            Row(key, _label(district_names, key), tuple(count(n) for n in numbers))
            for key, numbers in grouped(2).items()
        ),
        chart_column=chart,
    )
    tables = [by_category, by_language, by_district]
    if scope.kind == ScopeKind.city:
        tables.append(
            _table(
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


def _active_services(session: Session, query: ReportQuery) -> list[Service]:
    statement = select(Service).where(
        Service.status == ServiceStatus.active,
        col(Service.archived_at).is_(None),
        col(Service.merged_into_id).is_(None),
    )
    services = list(session.exec(statement).all())
    if query.district:
        districts = _service_districts(session)
        services = [s for s in services if query.district in districts.get(s.id, set())]
    return services


def _offers_per_category(
    session: Session, query: ReportQuery
) -> tuple[dict[str, int], dict[str, int]]:
    services = {s.id: s for s in _active_services(session, query)}
    offers: Counter[str] = Counter()
    with_places: Counter[str] = Counter()
    for service_id, codes in _service_categories(session).items():
        service = services.get(service_id)
        if service is None:
            continue
        for code in codes:
            offers[code] += 1
            if service.capacity_status == "has_places":
                with_places[code] += 1
    return offers, with_places


# --- referrals by outcome and decline reason -----------------------------------------------------


def outcomes(*, session: Session, query: ReportQuery) -> Report:
    referrals = _referrals(session, query)
    events = _events(session, referrals)
    service_categories = _service_categories(session)
    categories = _category_names(session)
    partners = _partner_names(session)

    rows: list[tuple[str, str, str, str | None]] = []  # category, provider, outcome, reason
    for referral in referrals:
        outcome = _outcome(referral, events[referral.id])
        reason = None
        if outcome == S.declined:
            declines = [e for e in events[referral.id] if e.to_status == S.declined]
            found = (declines[-1].reason if declines else None) or referral.status_reason
            reason = found if found in DECLINE_REASONS else "other"
        rows.append(
            (
                _category_of(referral, service_categories),
                str(referral.recipient_organization_id),
                outcome,
                reason,
            )
        )

    outcome_columns = [(code.value, status_label(code)) for code in OUTCOMES] + [
        (OPEN, _outcome_label(OPEN))
    ]
    reason_columns = [(code, reason_label(code)) for code in DECLINE_REASONS]

    def crosstab(
        key: str,
        title: str,
        row_label: str,
        position: int,
        labels: dict[str, str],
        columns: list[tuple[str, str]],
        value_position: int,
        chart_column: str,
    ) -> Table:
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        for item in rows:
            if item[value_position] is not None:
                groups[str(item[position])][str(item[value_position])] += 1
        table_rows = []
        for group, counts in groups.items():
            parts = [counts[column] for column, _ in columns]
            table_rows.append(
                Row(
                    group,
                    _label(labels, group),
                    (*(count(n) for n in parts), total(sum(parts), parts)),
                )
            )
        table_rows.sort(key=lambda row: row.label.casefold())
        column_parts = [[groups[g][column] for g in groups] for column, _ in columns]
        all_parts = [n for parts in column_parts for n in parts]
        table_rows.append(
            Row(
                "all",
                gettext("All"),
                (
                    *(total(sum(parts), parts) for parts in column_parts),
                    total(sum(all_parts), all_parts),
                ),
            )
        )
        return _table(
            key,
            title,
            row_label,
            [*columns, ("total", gettext("Total"))],
            table_rows,
            chart_column=chart_column,
            sort=False,
        )

    provider_labels = {str(k): v for k, v in partners.items()}
    tables = (
        crosstab(
            "outcome_by_category",
            gettext("Outcome by category"),
            gettext("Category"),
            0,
            categories,
            outcome_columns,
            2,
            "completed",
        ),
        crosstab(
            "outcome_by_provider",
            gettext("Outcome by provider"),
            gettext("Provider"),
            1,
            provider_labels,
            outcome_columns,
            2,
            "completed",
        ),
        crosstab(
            "decline_by_category",
            gettext("Decline reasons by category"),
            gettext("Category"),
            0,
            categories,
            reason_columns,
            3,
            "no_capacity",
        ),
        crosstab(
            "decline_by_provider",
            gettext("Decline reasons by provider"),
            gettext("Provider"),
            1,
            provider_labels,
            reason_columns,
            3,
            "no_capacity",
        ),
    )
    return Report(
        "outcomes",
        gettext("Referrals by outcome"),
        tables,
        notes=(
            gettext(
                "Referrals sent in the period. A closed referral counts with the state it was "
                "closed from; a referral's category is the need recorded with it, or else the "
                "first category of the service."
            ),
        ),
    )


# --- response times -------------------------------------------------------------------------------


def percentile_90(values: Sequence[float]) -> float:
    """Nearest rank: the smallest value that at least 90 % of the values do not exceed."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


MEASURES = (
    ("first_response", N_("First response")),
    ("acceptance", N_("Acceptance")),
    ("completion", N_("Completion")),
)


def _durations(events: list[ReferralEvent]) -> dict[str, float]:
    """Days from sending to each milestone this referral reached."""
    sent = next((e.at for e in events if e.to_status == S.sent), None)
    if sent is None:
        return {}
    firsts = {
        "first_response": next(
            (
                e.at
                for e in events
                if e.from_status == S.sent and e.to_status in (S.accepted, S.declined)
            ),
            None,
        ),
        "acceptance": next((e.at for e in events if e.to_status == S.accepted), None),
        "completion": next((e.at for e in events if e.to_status == S.completed), None),
    }
    return {
        measure: (moment - sent).total_seconds() / 86400
        for measure, moment in firsts.items()
        if moment is not None and moment >= sent
    }


def response_times(*, session: Session, query: ReportQuery) -> Report:
    referrals = _referrals(session, query)
    events = _events(session, referrals)
    partners = _partner_names(session)
    per_provider: dict[uuid.UUID, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    overall: dict[str, list[float]] = defaultdict(list)
    for referral in referrals:
        # Every provider that got referrals has a row, also one that never answered.
        provider = per_provider[referral.recipient_organization_id]
        for measure, days in _durations(events[referral.id]).items():
            provider[measure].append(days)
            overall[measure].append(days)

    def cells(values: dict[str, list[float]]) -> tuple[Figure, ...]:
        result: list[Figure] = []
        for measure, _ in MEASURES:
            found = values.get(measure, [])
            result += [
                count(len(found)),
                statistic(statistics.median(found) if found else None, len(found)),
                statistic(percentile_90(found) if found else None, len(found)),
            ]
        return tuple(result)

    columns: list[tuple[str, str]] = []
    for measure, label in MEASURES:
        columns += [
            (f"{measure}_referrals", gettext("%(measure)s: referrals", measure=gettext(label))),
            (f"{measure}_median", gettext("%(measure)s: median days", measure=gettext(label))),
            (f"{measure}_p90", gettext("%(measure)s: 90th percentile", measure=gettext(label))),
        ]
    rows = [
        Row(str(provider), partners.get(provider, str(provider)), cells(values))
        for provider, values in per_provider.items()
    ]
    rows.sort(key=lambda row: row.label.casefold())
    rows.append(Row("all", gettext("All providers"), cells(overall)))
    table = _table(
        "response_times",
        gettext("Days until first response, acceptance and completion"),
        gettext("Provider"),
        columns,
        rows,
        chart_column="first_response_median",
        sort=False,
    )
    return Report(
        "response-times",
        gettext("Response times"),
        (table,),
        notes=(
            gettext(
                "Calendar days from the moment a referral was sent to the first time it was "
                "accepted or declined (first response), accepted (acceptance) and completed "
                "(completion), for referrals sent in the period."
            ),
            gettext(
                "Median: the middle value. 90th percentile: the smallest time within which at "
                "least nine in ten of the referrals got there. Both are shown only for 5 or "
                "more referrals (n < 5 otherwise)."
            ),
        ),
    )


# --- waitlists and capacity over time -------------------------------------------------------------


def weeks(period: Period) -> list[date]:
    """The Mondays of the weeks that overlap the period."""
    monday = period.start - timedelta(days=period.start.weekday())
    found = []
    while monday <= period.end:
        found.append(monday)
        monday += timedelta(days=7)
    return found


def _week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return gettext("Week %(week)s/%(year)s", week=f"{week:02d}", year=year)


def _hold_intervals(
    events: list[ReferralEvent], until: datetime
) -> list[tuple[datetime, datetime]]:
    intervals = []
    entered: datetime | None = None
    for event in events:
        if event.to_status == S.on_hold and entered is None:
            entered = event.at
        elif event.from_status == S.on_hold and event.to_status != S.on_hold and entered:
            intervals.append((entered, event.at))
            entered = None
    if entered is not None:
        intervals.append((entered, until))
    return intervals


def capacity(*, session: Session, query: ReportQuery) -> Report:
    zone = ZoneInfo(query.timezone)
    mondays = weeks(query.period)
    starts = [datetime.combine(m, time(0), tzinfo=zone) for m in mondays]
    ends = [start + timedelta(days=7) for start in starts]
    week_columns = [(m.isoformat(), _week_label(m)) for m in mondays]

    # Referrals on a waiting list at any moment of each week.
    referrals = [
        r for r in _referrals(session, query, in_period=False) if r.hold_kind == "waitlist"
    ]
    events = _events(session, referrals)
    waiting = [0] * len(mondays)
    for referral in referrals:
        intervals = _hold_intervals(events[referral.id], until=max(query.now, ends[-1]))
        for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if any(entered < end and left > start for entered, left in intervals):
                waiting[index] += 1
    waitlist_table = _table(
        "waitlisted_referrals",
        gettext("Referrals on a waiting list"),
        gettext("Week"),
        [("referrals", gettext("Referrals on a waiting list"))],
        (
            Row(m.isoformat(), _week_label(m), (count(n),))
            for m, n in zip(mondays, waiting, strict=True)
        ),
        chart_column="referrals",
        sort=False,
    )
    tables = [waitlist_table]

    services_in_scope = _in_scope_services(session, query.scope)
    if services_in_scope is None or services_in_scope:
        statement = select(CapacityChange).where(col(CapacityChange.changed_at) < ends[-1])
        if services_in_scope is not None:
            statement = statement.where(col(CapacityChange.service_id).in_(services_in_scope))
        changes = session.exec(statement.order_by(col(CapacityChange.changed_at))).all()
        by_service: dict[uuid.UUID, list[CapacityChange]] = defaultdict(list)
        for change in changes:
            by_service[change.service_id].append(change)
        districts = _service_districts(session)
        services = (
            {
                s.id: s
                for s in session.exec(select(Service).where(col(Service.id).in_(list(by_service))))
            }
            if by_service
            else {}
        )
        rows = []
        for service_id, history in by_service.items():
            service = services.get(service_id)
            if service is None or (
                query.district and query.district not in districts.get(service_id, set())
            ):
                continue
            cells: list[Cell] = []
            for end in ends:
                before = [c for c in history if c.changed_at < end]
                cells.append(
                    Status(before[-1].status, gettext(listings.CAPACITY_LABELS[before[-1].status]))
                    if before
                    else Status("", gettext("Not recorded"))
                )
            rows.append(Row(str(service_id), service.name, tuple(cells)))
        rows.sort(key=lambda row: row.label.casefold())
        tables.append(
            _table(
                "capacity_by_week",
                gettext("Capacity at the end of each week"),
                gettext("Service"),
                week_columns,
                rows,
                sort=False,
                note=gettext("Services whose capacity was recorded at least once."),
            )
        )
    return Report(
        "capacity",
        gettext("Waitlists and capacity over time"),
        tuple(tables),
        notes=(
            gettext(
                "A referral counts in every week in which it was on hold on a waiting list for "
                "some time. The kind of hold is kept with the referral, so a referral put on "
                "hold several times counts with its latest kind."
            ),
        ),
    )


# --- referral flows -------------------------------------------------------------------------------


def flows(*, session: Session, query: ReportQuery) -> Report:
    referrals = _referrals(session, query)
    events = _events(session, referrals)
    partners = _partner_names(session)
    pairs: dict[tuple[uuid.UUID, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0, 0])
    for referral in referrals:
        numbers = pairs[(referral.sender_organization_id, referral.recipient_organization_id)]
        numbers[0] += 1
        if _outcome(referral, events[referral.id]) == S.completed:
            numbers[1] += 1
        if referral.status == S.closed:
            numbers[2] += 1
    table = _table(
        "flows",
        gettext("Who refers to whom"),
        gettext("From → to"),
        [
            ("referrals", gettext("Referrals")),
            ("completed", gettext("Completed")),
            ("loop_closed", gettext("Loop closed")),
        ],
        (
            Row(
                f"{sender}>{recipient}",
                f"{partners.get(sender, '?')} → {partners.get(recipient, '?')}",
                tuple(count(n) for n in numbers),
            )
            for (sender, recipient), numbers in pairs.items()
        ),
        chart_column="referrals",
    )
    return Report(
        "flows",
        gettext("Referral flows"),
        (table,),
        notes=(
            gettext(
                "Referrals sent in the period from the sending organisation to the receiving "
                "one. Completed: the partner reported the referral completed. Loop closed: the "
                "case manager closed it with feedback."
            ),
        ),
    )


# --- directory health -----------------------------------------------------------------------------


def directory_health(*, session: Session, query: ReportQuery) -> Report:
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
    services = _active_services(session, query)
    wanted = _in_scope_services(session, query.scope)
    if wanted is not None:
        services = [s for s in services if s.id in wanted]
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
    stale = sum(
        1
        for s in services
        if listings.is_stale(s, stale_after_days=query.stale_after_days, now=query.now)
    )
    overview = _table(
        "overview",
        gettext("Listings"),
        gettext("Listings"),
        [("services", gettext("Services"))],
        (
            Row("active", gettext("Active services"), (count(len(services)),)),
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
                _language_label(language),
                (count(missing_services), count(missing), count(machine), count(outdated)),
            )
        )
    translation_table = _table(
        "translations",
        gettext("Translations of active services"),
        gettext("Language"),
        [
            ("services_missing", gettext("Services with missing texts")),
            ("texts_missing", gettext("Missing texts")),
            ("texts_machine", gettext("Machine translations")),
            ("texts_outdated", gettext("Outdated translations")),
        ],
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
                "Active listings now, whatever the period. A listing is stale when nobody "
                "verified it for %(days)s days. Texts are the name, description, eligibility, "
                "how to apply, fees and alert of a service, where the German text exists.",
                days=query.stale_after_days,
            ),
        ),
    )


ReportFunction = Callable[..., Report]
REPORTS: dict[str, tuple[str, ReportFunction]] = {
    "needs": (N_("Needs without offers"), needs_without_offers),
    "outcomes": (N_("Referrals by outcome"), outcomes),
    "response-times": (N_("Response times"), response_times),
    "capacity": (N_("Waitlists and capacity over time"), capacity),
    "flows": (N_("Referral flows"), flows),
    "directory-health": (N_("Directory health"), directory_health),
}
