"""The planning conference pack: what the city's findings say about a period, in one document
(page, print view and PDF) and a set of CSV files.

Findings by status, topic and district, what changed since the last conference, and the open
questions to offices (findings forwarded and not answered yet). Every figure passes
``lotse.suppression`` exactly as the gap reports' figures do: a count from 1 to 4 is shown as
"< 5" and a total that would reveal one is withheld, in the document, its charts and its CSVs.

A finding merged into another is counted once, in the one it was merged into.
"""

import uuid
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO

from babel.dates import format_date
from sqlmodel import Session, col, func, select

from directory.models import District, TaxonomyTerm
from directory.translations import Localizer
from findings.models import (
    KIND_LABELS,
    OPEN_STATES,
    STATE_LABELS,
    Finding,
    FindingConference,
    FindingEvent,
    FindingKind,
    FindingState,
)
from findings.radar.decisions import Radar
from findings.radar.proposals import PROPOSAL_LABELS, Proposal, ProposalKind
from lotse import csvfile, i18n
from lotse.errors import LotseError
from lotse.i18n import N_, gettext
from lotse.report_tables import Cell, Row, Status, Table, build_table
from lotse.report_tables import to_csv as tables_csv
from lotse.suppression import Figure, count, statistic, total
from lotse.timeutil import Period, utcnow
from partners.models import PartnerOrganization

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
CLOSED_STATES = (FindingState.resolved, FindingState.declined)
# The states a finding counted in the pack can have (merged ones live on in another).
COUNTED_STATES = (*OPEN_STATES, *CLOSED_STATES)


class InvalidConference(LotseError):
    status_code = 422
    code = "invalid_conference"

    def __init__(self, field: str, message: str, **variables: object) -> None:
        self.field = field
        super().__init__(message, **variables)


@dataclass(frozen=True)
class OpenQuestion:
    """A finding forwarded to an office that has not answered it yet."""

    finding_id: uuid.UUID
    office: str
    kind: str
    topic: str
    district: str
    forwarded_on: date | None
    due_on: date | None
    overdue: bool
    description: str


@dataclass(frozen=True)
class Change:
    """A finding whose state changed since the last conference (its latest step)."""

    finding_id: uuid.UUID
    kind: str
    topic: str
    district: str
    from_state: str
    to_state: str
    on: date


@dataclass(frozen=True)
class Pack:
    period: Period
    since: date
    last_conference: date | None
    generated_at: datetime
    tables: tuple[Table, ...]  # by status, by topic, by district
    changes: Table  # since the last conference
    changed: tuple[Change, ...]
    open_questions: tuple[OpenQuestion, ...]
    radar: tuple[Table, ...] = ()  # the gap radar's evidence for the period

    def csv_files(self) -> dict[str, str]:
        """The CSV set: one file per table and per list, figures exactly as the document."""
        files = {f"{table.key}.csv": tables_csv([table]) for table in (*self.tables, *self.radar)}
        files[f"{self.changes.key}.csv"] = tables_csv([self.changes])
        files["changed_findings.csv"] = csvfile.to_csv(
            ["finding_id", "kind", "topic", "district", "from_state", "to_state", "on"],
            (
                [c.finding_id, c.kind, c.topic, c.district, c.from_state, c.to_state, c.on]
                for c in self.changed
            ),
        )
        files["open_questions.csv"] = csvfile.to_csv(
            ["finding_id", "office", "kind", "topic", "district", "forwarded_on", "due_on",
             "overdue", "description"],
            (
                [q.finding_id, q.office, q.kind, q.topic, q.district, q.forwarded_on or "",
                 q.due_on or "", "yes" if q.overdue else "no", q.description]
                for q in self.open_questions
            ),
        )  # fmt: skip
        return files

    def csv_zip(self) -> bytes:
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in self.csv_files().items():
                archive.writestr(name, text.encode("utf-8"))
        return buffer.getvalue()


# --- conferences --------------------------------------------------------------------------


def conferences(*, session: Session, limit: int = 10) -> list[FindingConference]:
    """The conferences that took place, the latest first."""
    return list(
        session.exec(
            select(FindingConference).order_by(col(FindingConference.held_on).desc()).limit(limit)
        ).all()
    )


def record_conference(*, session: Session, user_id: uuid.UUID, held_on: date) -> FindingConference:
    """Note that a planning conference took place; the next pack counts changes from then."""
    if held_on > date.today():
        raise InvalidConference("held_on", N_("The conference date lies in the future."))
    conference = FindingConference(held_on=held_on, recorded_by_id=user_id)
    session.add(conference)
    session.flush()
    return conference


def last_conference(*, session: Session, before: date) -> date | None:
    return session.exec(
        select(func.max(FindingConference.held_on)).where(FindingConference.held_on <= before)
    ).one()


def choose_period(
    *, session: Session, start: date | None, end: date | None, since: date | None, today: date
) -> tuple[Period, date, date | None]:
    """The period (by default from the last conference, or the last 90 days, to today) and the
    day from which changes are listed (by default the last conference, or the period's start)."""
    end = end or today
    held = last_conference(session=session, before=end)
    start = start or held or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidConference("start", N_("The period's start lies after its end."))
    if (end - start).days >= MAX_DAYS:
        raise InvalidConference("start", N_("Please choose a period of at most three years."))
    since = since or held or start
    if since > end:
        raise InvalidConference("since", N_("“Changed since” lies after the period's end."))
    return Period(start, end), since, held


# --- the pack -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    topic: dict[uuid.UUID, str]
    district: dict[uuid.UUID, str]
    office: dict[uuid.UUID, str]

    def of_topic(self, finding: Finding) -> str:
        return self.topic.get(finding.topic_id, "") if finding.topic_id else ""

    def of_district(self, finding: Finding) -> str:
        return self.district.get(finding.district_id, "") if finding.district_id else ""


def _names(session: Session, findings: Iterable[Finding]) -> _Names:
    findings = list(findings)
    topic_ids = {f.topic_id for f in findings if f.topic_id}
    district_ids = {f.district_id for f in findings if f.district_id}
    office_ids = {f.routed_to_id for f in findings if f.routed_to_id}
    terms = session.exec(select(TaxonomyTerm).where(col(TaxonomyTerm.id).in_(topic_ids))).all()
    loc = Localizer(session=session, language=i18n.get_language())
    loc.load(terms)
    return _Names(
        topic={term.id: loc.text(term, "name") for term in terms},
        district={
            row.id: row.name
            for row in session.exec(select(District).where(col(District.id).in_(district_ids)))
        },
        office={
            row.id: row.name
            for row in session.exec(
                select(PartnerOrganization).where(col(PartnerOrganization.id).in_(office_ids))
            )
        },
    )


def _by_status(findings: Sequence[Finding]) -> Table:
    findings_per_state = Counter(FindingState(f.state) for f in findings)
    clients_per_state: Counter[FindingState] = Counter()
    for finding in findings:
        clients_per_state[FindingState(finding.state)] += finding.affected_count or 0
    states = [state for state in COUNTED_STATES if findings_per_state[state]]
    rows = [
        Row(
            state.value,
            gettext(STATE_LABELS[state]),
            (count(findings_per_state[state]), count(clients_per_state[state])),
        )
        for state in states
    ]
    finding_parts = [findings_per_state[state] for state in states]
    client_parts = [clients_per_state[state] for state in states]
    if rows:
        rows.append(
            Row(
                "all",
                gettext("All"),
                (
                    total(sum(finding_parts), finding_parts),
                    total(sum(client_parts), client_parts),
                ),
            )
        )
    return build_table(
        "findings_by_status",
        gettext("Findings by status"),
        gettext("Status"),
        [("findings", gettext("Findings")), ("clients", gettext("Clients affected"))],
        rows,
        chart_column="findings",
        sort=False,
    )


def _crosstab(
    key: str,
    title: str,
    row_label: str,
    findings: Sequence[Finding],
    group_of: dict[uuid.UUID, uuid.UUID | None],
    labels: dict[uuid.UUID, str],
    no_group: str,
) -> Table:
    """Open, closed and all findings and the clients affected, per topic or district."""
    groups: dict[uuid.UUID | None, Counter[str]] = {}
    for finding in findings:
        counts = groups.setdefault(group_of[finding.id], Counter())
        counts["open" if finding.state in OPEN_STATES else "closed"] += 1
        counts["clients"] += finding.affected_count or 0
    rows = []
    for group_id, counts in groups.items():
        parts = [counts["open"], counts["closed"]]
        rows.append(
            Row(
                str(group_id) if group_id else "none",
                labels.get(group_id, "") if group_id else no_group,
                (
                    count(counts["open"]),
                    count(counts["closed"]),
                    total(sum(parts), parts),
                    count(counts["clients"]),
                ),
            )
        )

    # Largest shown total first; a hidden count must not show through its position.
    def shown_total(row: Row) -> float:
        cell = row.cells[2]
        return float(cell.value) if isinstance(cell, Figure) and cell.value else 0.0

    rows.sort(key=lambda row: (-shown_total(row), row.label.casefold()))
    if rows:
        opens = [counts["open"] for counts in groups.values()]
        closed = [counts["closed"] for counts in groups.values()]
        clients = [counts["clients"] for counts in groups.values()]
        rows.append(
            Row(
                "all",
                gettext("All"),
                (
                    total(sum(opens), opens),
                    total(sum(closed), closed),
                    total(sum(opens) + sum(closed), opens + closed),
                    total(sum(clients), clients),
                ),
            )
        )
    return build_table(
        key,
        title,
        row_label,
        [
            ("open", gettext("Open")),
            ("closed", gettext("Resolved or not pursued")),
            ("findings", gettext("Findings")),
            ("clients", gettext("Clients affected")),
        ],
        rows,
        chart_column="findings",
        sort=False,
    )


def _in_period(session: Session, period: Period, timezone: str) -> list[Finding]:
    start, end = period.bounds(timezone)
    return list(
        session.exec(
            select(Finding).where(
                col(Finding.created_at) >= start,
                col(Finding.created_at) < end,
                col(Finding.state).in_(COUNTED_STATES),
            )
        ).all()
    )


def _changes(
    session: Session, since: date, until: date, timezone: str
) -> tuple[Table, list[Change]]:
    """Findings recorded since, and each finding's latest step since (a finding counts once)."""
    start, end = Period(since, until).bounds(timezone)
    recorded = session.exec(
        select(func.count())
        .select_from(Finding)
        .where(
            col(Finding.created_at) >= start,
            col(Finding.created_at) < end,
            col(Finding.state).in_(COUNTED_STATES),
        )
    ).one()
    events = session.exec(
        select(FindingEvent)
        .where(
            FindingEvent.kind == "transition",
            col(FindingEvent.at) >= start,
            col(FindingEvent.at) < end,
        )
        .order_by(col(FindingEvent.at))
    ).all()
    first: dict[uuid.UUID, FindingEvent] = {}
    latest: dict[uuid.UUID, FindingEvent] = {}
    for event in events:
        first.setdefault(event.finding_id, event)
        latest[event.finding_id] = event
    findings = (
        session.exec(select(Finding).where(col(Finding.id).in_(latest.keys()))).all()
        if latest
        else []
    )
    per_state = Counter(FindingState(latest[f.id].to_state or f.state) for f in findings)
    rows = [Row("recorded", gettext("Newly recorded"), (count(recorded),))]
    rows += [
        Row(state.value, gettext(STATE_LABELS[state]), (count(per_state[state]),))
        for state in FindingState
        if per_state[state]
    ]
    table = build_table(
        "changes_since",
        gettext(
            "What changed since %(day)s",
            day=format_date(since, format="medium", locale=i18n.babel_locale()),
        ),
        gettext("Recorded, or moved to"),
        [("findings", gettext("Findings"))],
        rows,
        sort=False,
    )
    names = _names(session, findings)
    changed = [
        Change(
            finding_id=f.id,
            kind=gettext(KIND_LABELS[FindingKind(f.kind)]),
            topic=names.of_topic(f),
            district=names.of_district(f),
            from_state=gettext(STATE_LABELS[FindingState(first[f.id].from_state or f.state)]),
            to_state=gettext(STATE_LABELS[FindingState(latest[f.id].to_state or f.state)]),
            on=latest[f.id].at.date(),
        )
        for f in sorted(findings, key=lambda f: latest[f.id].at)
    ]
    return table, changed


def _open_questions(session: Session, today: date) -> list[OpenQuestion]:
    findings = session.exec(
        select(Finding)
        .where(Finding.state == FindingState.routed)
        .order_by(col(Finding.due_on), col(Finding.created_at))
    ).all()
    if not findings:
        return []
    forwarded = dict(
        session.exec(
            select(FindingEvent.finding_id, func.max(FindingEvent.at))
            .where(
                col(FindingEvent.finding_id).in_([f.id for f in findings]),
                FindingEvent.to_state == FindingState.routed,
            )
            .group_by(col(FindingEvent.finding_id))
        ).all()
    )
    names = _names(session, findings)
    return [
        OpenQuestion(
            finding_id=f.id,
            office=names.office.get(f.routed_to_id, "") if f.routed_to_id else "",
            kind=gettext(KIND_LABELS[FindingKind(f.kind)]),
            topic=names.of_topic(f),
            district=names.of_district(f),
            forwarded_on=forwarded[f.id].date() if f.id in forwarded else None,
            due_on=f.due_on,
            overdue=f.due_on is not None and f.due_on < today,
            description=f.description,
        )
        for f in findings
    ]


# --- the gap radar's evidence ----------------------------------------------------------------

# Per kind of proposal: the figures shown, as (key in Proposal.figures, label, how it is shown).
# A count passes suppression; a median is a statistic over the count named with it.
RADAR_COLUMNS: dict[ProposalKind, tuple[tuple[str, str], ...]] = {
    ProposalKind.pressure: (
        ("referrals", N_("Referrals sent")),
        ("under_pressure", N_("Declined for lack of capacity, waiting or expired")),
        ("no_capacity", N_("Declined: no capacity")),
        ("waitlist", N_("On a waiting list")),
        ("expired", N_("Expired")),
    ),
    ProposalKind.searches: (
        ("searches", N_("Searches")),
        ("spellings", N_("Spellings")),
        ("languages", N_("Languages")),
    ),
    ProposalKind.slow_service: (
        ("answers", N_("Answers")),
        ("median_days", N_("Median days to answer")),
        ("peer_answers", N_("Answers of the other services")),
        ("peer_median_days", N_("Their median days")),
    ),
}
RADAR_CHARTS = {
    ProposalKind.pressure: "under_pressure",
    ProposalKind.searches: "searches",
    ProposalKind.slow_service: "median_days",
}


def _radar_cells(kind: ProposalKind, proposal: Proposal) -> tuple[Figure, ...]:
    figures = proposal.figures
    if kind == ProposalKind.pressure:
        parts = [figures["no_capacity"], figures["waitlist"], figures["expired"]]
        return (
            count(figures["referrals"]),
            total(figures["under_pressure"], parts),
            *(count(part) for part in parts),
        )
    if kind == ProposalKind.searches:
        return (
            count(figures["searches"]),
            count(figures["spellings"]),
            count(len(figures["languages"])),
        )
    return (
        count(figures["answers"]),
        statistic(figures["median_days"], figures["answers"]),
        count(figures["peer_answers"]),
        statistic(figures["peer_median_days"], figures["peer_answers"]),
    )


def radar_tables(radar: Radar) -> tuple[Table, ...]:
    """One table per kind of proposal (coverage needs a topic: it stays on the radar page),
    each proposal with its figures and whether it became a finding."""
    tables = []
    for kind, columns in RADAR_COLUMNS.items():
        rows = []
        for proposal in radar.proposals.get(kind, []):
            decided = radar.decided.get(proposal.key)
            decision: Cell = Status(
                decided.decision if decided else "open",
                gettext("accepted as a finding")
                if decided and decided.decision == "accepted"
                else gettext("dismissed")
                if decided
                else gettext("not decided yet"),
            )
            rows.append(
                Row(proposal.key, proposal.title, (*_radar_cells(kind, proposal), decision))
            )
        tables.append(
            build_table(
                f"radar_{kind.value}",
                gettext(PROPOSAL_LABELS[kind]),
                gettext("Proposal"),
                [(key, gettext(label)) for key, label in columns]
                + [("decision", gettext("Decision"))],
                rows,
                chart_column=RADAR_CHARTS[kind],
            )
        )
    return tuple(tables)


def build(
    *,
    session: Session,
    period: Period,
    since: date,
    last_conference: date | None,
    timezone: str,
    today: date,
    radar: Radar | None = None,
) -> Pack:
    findings = _in_period(session, period, timezone)
    names = _names(session, findings)
    changes, changed = _changes(session, since, period.end, timezone)
    return Pack(
        period=period,
        since=since,
        last_conference=last_conference,
        generated_at=utcnow(),
        tables=(
            _by_status(findings),
            _crosstab(
                "findings_by_topic",
                gettext("Findings by topic"),
                gettext("Topic"),
                findings,
                {f.id: f.topic_id for f in findings},
                names.topic,
                gettext("No topic given"),
            ),
            _crosstab(
                "findings_by_district",
                gettext("Findings by district"),
                gettext("District"),
                findings,
                {f.id: f.district_id for f in findings},
                names.district,
                gettext("No district given"),
            ),
        ),
        changes=changes,
        changed=tuple(changed),
        open_questions=tuple(_open_questions(session, today)),
        radar=radar_tables(radar) if radar is not None else (),
    )
