"""The record of processing activities (Art. 30 GDPR), generated from the deletion concept
(``privacy/concept.py``) and the installation's settings, so it cannot drift from what the
software does: one activity per kind of personal data, with its purpose, data subjects, data,
legal basis, recipients and the period after which it is deleted or anonymised.

Texts are translated into the current language when a function here is called; the page shows
the record in the reader's language, ``lotse privacy record`` and ``docs/privacy.md`` in English.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from lotse.i18n import N_, gettext, ngettext
from lotse.settings import Settings
from lotse.timeutil import utcnow
from privacy import concept
from privacy.concept import DataClass

TRANSFERS = N_(
    "None: Lotse sends no personal data to a third country or an international organisation. "
    "Emails leave through the city's own mail server."
)

# Technical and organisational measures (Art. 32 GDPR) that the software itself takes.
MEASURES: tuple[str, ...] = (
    N_("Clients are pseudonymous: an alias, never a name, an address or an identity number."),
    N_(
        "Nothing is shared with a partner without a consent that covers the organisation and "
        "the data category; health data need a consent of their own."
    ),
    N_(
        "Permissions per role, checked on the server and inside every list query; records of "
        "other organisations answer as if they did not exist."
    ),
    N_(
        "Reads and changes of client data are written to the audit log, which the database "
        "keeps unchanged and for at least 364 days."
    ),
    N_("Emails carry no client data, only a link."),
    N_("Gap reports show no count below 5."),
    N_(
        "Server-side sessions that end after inactivity, protection against cross-site "
        "requests, throttled logins, optional single sign-on with the city's identity provider."
    ),
    N_("Backups are encrypted and age out after at most 5 weeks."),
    N_("The periods of this record are applied by a scheduled job, without anyone's action."),
)


@dataclass(frozen=True)
class Activity:
    entry: DataClass
    period: timedelta  # the period that applies (of the followed entry, where it follows one)


@dataclass(frozen=True)
class Record:
    controller: str
    generated_at: datetime
    activities: tuple[Activity, ...]


def build(settings: Settings, now: datetime | None = None) -> Record:
    periods = concept.periods(settings.retention_days)
    return Record(
        controller=settings.municipality_name,
        generated_at=now or utcnow(),
        activities=tuple(
            Activity(entry, concept.period_of(entry, periods)) for entry in concept.CLASSES
        ),
    )


def period_text(period: timedelta) -> str:
    if period >= timedelta(days=1):
        return ngettext("%(num)d day", "%(num)d days", period.days)
    if period >= timedelta(hours=1):
        return ngettext("%(num)d hour", "%(num)d hours", period // timedelta(hours=1))
    return ngettext("%(num)d minute", "%(num)d minutes", period // timedelta(minutes=1))


def bounds_text(entry: DataClass) -> str:
    """The range within which the period may be configured, or why it has none."""
    if entry.follows is not None:
        return gettext("with %(class)s", **{"class": gettext(concept.BY_KEY[entry.follows].label)})
    assert entry.period is not None
    if not entry.period.configurable:
        return gettext("fixed")
    return gettext(
        "%(minimum)s to %(maximum)s",
        minimum=period_text(entry.period.minimum),
        maximum=period_text(entry.period.maximum),
    )


def retention_text(activity: Activity) -> str:
    """When the data goes, in one sentence."""
    entry = activity.entry
    if entry.follows is not None:
        leader = concept.BY_KEY[entry.follows]
        return gettext(
            "%(action)s together with %(class)s: %(period)s after %(event)s",
            action=gettext(concept.ACTION_LABELS[entry.action]).capitalize(),
            **{"class": gettext(leader.label)},
            period=period_text(activity.period),
            event=gettext(leader.start_event),
        )
    return gettext(
        "%(action)s %(period)s after %(event)s",
        action=gettext(concept.ACTION_LABELS[entry.action]).capitalize(),
        period=period_text(activity.period),
        event=gettext(entry.start_event),
    )


def _tables(entry: DataClass) -> str:
    return ", ".join(f"`{table}`" for table in entry.tables) or gettext("files on the server")


def deletion_table(record: Record) -> str:
    """The deletion table (Markdown), as ``docs/privacy.md`` shows it."""
    header = (
        gettext("Class"),
        gettext("Data"),
        gettext("Where"),
        gettext("Start event"),
        gettext("Period"),
        gettext("Configurable"),
        gettext("Action"),
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for activity in record.activities:
        entry = activity.entry
        period = "–" if entry.follows is not None else period_text(activity.period)
        cells = (
            f"`{entry.key}` {gettext(entry.label)}",
            gettext(entry.data),
            _tables(entry),
            gettext(entry.start_event),
            period,
            bounds_text(entry),
            gettext(concept.ACTION_LABELS[entry.action]),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_markdown(record: Record) -> str:
    """The whole record as a Markdown document."""
    parts = [
        "# " + gettext("Record of processing activities (Art. 30 GDPR)"),
        "",
        gettext(
            "Controller: the municipality of %(name)s, integration management. Generated by "
            "Lotse from its deletion concept and this installation's settings on %(date)s.",
            name=record.controller,
            date=record.generated_at.date().isoformat(),
        ),
        "",
    ]
    for activity in record.activities:
        entry = activity.entry
        parts += [
            f"## {gettext(entry.label)} (`{entry.key}`)",
            "",
            f"- **{gettext('Purpose')}:** {gettext(entry.purpose)}",
            f"- **{gettext('Data subjects')}:** {gettext(entry.subjects)}",
            f"- **{gettext('Personal data')}:** {gettext(entry.data)}",
            f"- **{gettext('Legal basis')}:** {gettext(entry.legal_basis)}",
            f"- **{gettext('Recipients')}:** {gettext(entry.recipients)}",
            f"- **{gettext('Deletion')}:** {retention_text(activity)}",
            f"- **{gettext('Stored in')}:** {_tables(entry)}",
            "",
        ]
    parts += [f"## {gettext('Made on request, never stored')}", ""]
    parts += [f"- {gettext(what)}: {gettext(how)}" for what, how in concept.NOT_STORED]
    parts += ["", f"## {gettext('Transfers to third countries')}", "", gettext(TRANSFERS), ""]
    parts += [f"## {gettext('Technical and organisational measures (Art. 32 GDPR)')}", ""]
    parts += [f"- {gettext(measure)}" for measure in MEASURES]
    parts += ["", f"## {gettext('Deletion table')}", "", deletion_table(record)]
    return "\n".join(parts)
