"""The deletion concept as data, in the manner of DIN 66398: every kind of personal data Lotse
stores, where it lives, the event from which its period runs, the period with its safe bounds,
what happens when the period ends, and why the data is held and who receives it.

The retention job (``privacy/retention.py``) acts on these entries, the record of processing
activities (``privacy/record.py``) and the table in ``docs/privacy.md`` are generated from them,
and a test fails when a table that holds personal data has no entry here.

A period is configured in days through ``LOTSE_RETENTION_DAYS`` (a JSON object, class key →
days) within the entry's bounds; an unknown key or a value out of bounds stops Lotse at start.
Kinds of data that go with another (a client's consents and referrals go with the client) name
that entry in ``follows`` and have no period of their own.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import MetaData

from directory.interop.import_jobs import UPLOAD_TTL
from lotse.i18n import N_
from lotse.oidc import LOGIN_STATE_LIFETIME


class Action(StrEnum):
    delete = "delete"
    anonymise = "anonymise"


ACTION_LABELS = {Action.delete: N_("delete"), Action.anonymise: N_("anonymise")}


@dataclass(frozen=True)
class Period:
    default: timedelta
    minimum: timedelta
    maximum: timedelta

    @property
    def configurable(self) -> bool:
        return self.minimum < self.maximum


def days(default: int, minimum: int, maximum: int) -> Period:
    return Period(timedelta(days=default), timedelta(days=minimum), timedelta(days=maximum))


def fixed(period: timedelta) -> Period:
    return Period(period, period, period)


@dataclass(frozen=True)
class DataClass:
    """One kind of personal data and its deletion rule (label and texts are msgids)."""

    key: str
    label: str
    tables: tuple[str, ...]
    subjects: str  # whose data it is
    data: str  # what of the person it holds
    start_event: str
    action: Action
    legal_basis: str
    purpose: str
    recipients: str
    period: Period | None = None  # None: goes with the entry named in ``follows``
    follows: str | None = None


_CLIENTS = N_("clients of the case management")
_STAFF = N_("staff of the city and of the partner organisations")
_CLIENTS_AND_STAFF = N_("clients of the case management; staff")
_SEARCHERS = N_("anyone searching the directory (who searched is not recorded)")
_CONTACTS = N_("contact persons at the offers in the directory")

_CLIENT_BASIS = N_(
    "Art. 6(1)(e) GDPR with §§ 67a–67c SGB X (the municipality's integration management); "
    "sharing with a partner: the client's consent, Art. 6(1)(a) and, for health data, "
    "Art. 9(2)(a) GDPR, § 67b SGB X; deletion: § 84 SGB X"
)
_CLIENT_RECIPIENTS = N_(
    "the client's case manager (or team); the partner organisations named in a consent, only "
    "the categories it covers"
)
_STAFF_BASIS = N_(
    "Art. 6(1)(c) and (e), Art. 32 GDPR; § 18 DSG NRW (data of employees) for the city's staff, "
    "the agreement on taking part in Lotse for partner staff"
)
_SECURITY_PURPOSE = N_("keeping accounts safe: signing in, stopping guessed passwords")

CLASSES: tuple[DataClass, ...] = (
    DataClass(
        key="clients",
        label=N_("Clients"),
        tables=("client",),
        subjects=_CLIENTS,
        data=N_(
            "alias, birth year, languages, interpreter needed, residence group, needs, case manager"
        ),
        start_event=N_(
            "the client has no open referral, and neither the client nor any of their "
            "referrals or consents has changed since (the last referral was finished or the "
            "case was left); not while the client's data is restricted (Art. 18 GDPR)"
        ),
        period=days(730, 180, 1825),
        action=Action.anonymise,
        legal_basis=_CLIENT_BASIS,
        purpose=N_("advising the client and referring them to offers (case management)"),
        recipients=_CLIENT_RECIPIENTS,
    ),
    DataClass(
        key="consents",
        label=N_("Consents and consent prints"),
        tables=("consent",),
        subjects=_CLIENTS,
        data=N_(
            "recipient, purpose, data categories, health flag, form, language of the text "
            "shown, who recorded it, expiry, withdrawal; prints are made on request and not "
            "stored"
        ),
        start_event=N_("with the client"),
        follows="clients",
        action=Action.anonymise,
        legal_basis=N_("Art. 7(1) GDPR (proof of consent), § 67b SGB X"),
        purpose=N_("proving what the client agreed to share with whom"),
        recipients=_CLIENT_RECIPIENTS,
    ),
    DataClass(
        key="referrals",
        label=N_("Referrals and their events"),
        tables=("referral", "referral_event", "referral_read"),
        subjects=_CLIENTS,
        data=N_(
            "need, notes, health note, contact preference and detail, appointment, status "
            "notes, outcome note, history of who did what, read markers; handouts are made on "
            "request and not stored"
        ),
        start_event=N_("with the client"),
        follows="clients",
        action=Action.anonymise,
        legal_basis=_CLIENT_BASIS,
        purpose=N_("referring the client to an offer and following the referral to its end"),
        recipients=_CLIENT_RECIPIENTS,
    ),
    DataClass(
        key="feedback",
        label=N_("Feedback on referrals"),
        tables=("referral",),
        subjects=_CLIENTS,
        data=N_("whether the client got help, how helpful it was, barriers, a note"),
        start_event=N_("with the client"),
        follows="clients",
        action=Action.anonymise,
        legal_basis=_CLIENT_BASIS,
        purpose=N_("closing the loop and finding gaps in the offers (anonymous counts only)"),
        recipients=N_("the case manager; coordinators see only counts (below 5 suppressed)"),
    ),
    DataClass(
        key="messages",
        label=N_("Messages on referrals"),
        tables=("referral_message",),
        subjects=_CLIENTS_AND_STAFF,
        data=N_("free text between case manager and partner, possibly about health"),
        start_event=N_("the referral was finished (or cancelled) and has not changed since"),
        period=days(180, 30, 730),
        action=Action.delete,
        legal_basis=_CLIENT_BASIS,
        purpose=N_("agreeing on details of one referral while it runs"),
        recipients=N_("the referral's sender and the receiving partner organisation"),
    ),
    DataClass(
        key="finding_evidence",
        label=N_("Referrals cited in findings"),
        tables=("finding_evidence",),
        subjects=_CLIENTS,
        data=N_("a referral's id, status and coded reason, nothing of the client"),
        start_event=N_("with the client"),
        follows="clients",
        action=Action.anonymise,
        legal_basis=N_("Art. 6(1)(e) GDPR (planning the city's offers)"),
        purpose=N_("evidence for a gap or fault in the offers"),
        recipients=N_("coordinators; the office a finding is forwarded to"),
    ),
    DataClass(
        key="outbox_delivered",
        label=N_("Delivered emails"),
        tables=("outbox_message",),
        subjects=_STAFF,
        data=N_("recipient's address, subject, a short text and a link; never client data"),
        start_event=N_("the email was delivered to the mail server"),
        period=days(30, 1, 180),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=N_("telling staff about referrals, reminders and their accounts"),
        recipients=N_("the city's mail server; the addressee"),
    ),
    DataClass(
        key="outbox_undelivered",
        label=N_("Emails that could not be delivered"),
        tables=("outbox_message",),
        subjects=_STAFF,
        data=N_("recipient's address, subject, a short text and a link; never client data"),
        start_event=N_("the email was written (delivery is still being retried)"),
        period=days(30, 7, 180),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=N_("delivering the email once the mail server takes it"),
        recipients=N_("the city's mail server"),
    ),
    DataClass(
        key="sessions",
        label=N_("Login sessions"),
        tables=("auth_session",),
        subjects=_STAFF,
        data=N_("account, times of login and last request, IP address, browser"),
        start_event=N_("the session ended: logout, revocation or inactivity"),
        period=days(30, 1, 180),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=_SECURITY_PURPOSE,
        recipients=N_("the account's owner; administrators"),
    ),
    DataClass(
        key="api_tokens",
        label=N_("API tokens"),
        tables=("api_token",),
        subjects=_STAFF,
        data=N_("account, token name, hash, times of use"),
        start_event=N_("the token was revoked or expired"),
        period=days(90, 1, 730),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=N_("letting partner systems act for an account"),
        recipients=N_("the account's owner"),
    ),
    DataClass(
        key="login_throttles",
        label=N_("Failed-login counters"),
        tables=("login_throttle",),
        subjects=_STAFF,
        data=N_("email address tried, IP address, number and time of failures"),
        start_event=N_("the last failed login (and any block has ended)"),
        period=days(30, 1, 365),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=_SECURITY_PURPOSE,
        recipients=N_("administrators (through the audit log)"),
    ),
    DataClass(
        key="password_resets",
        label=N_("Password and invitation links"),
        tables=("password_reset",),
        subjects=_STAFF,
        data=N_("account, the link's hash, who made it, when it was used"),
        start_event=N_("the link was used or expired"),
        period=days(30, 1, 365),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=_SECURITY_PURPOSE,
        recipients=N_("the account's owner (by email)"),
    ),
    DataClass(
        key="sso_login_states",
        label=N_("Single sign-on login states"),
        tables=("oidc_login_state",),
        subjects=_STAFF,
        data=N_("the hash of a login's state, its nonce and the page asked for"),
        start_event=N_("the login began at the identity provider"),
        period=fixed(LOGIN_STATE_LIFETIME),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=N_("finishing a login at the city's identity provider"),
        recipients=N_("nobody"),
    ),
    DataClass(
        key="audit_entries",
        label=N_("Audit log"),
        tables=("audit_event",),
        subjects=_CLIENTS_AND_STAFF,
        data=N_(
            "who did or read what, to which object (clients by id), when and from which IP address"
        ),
        start_event=N_("the entry was written"),
        period=days(730, 365, 3650),
        action=Action.delete,
        legal_basis=N_(
            "Art. 5(2), 24 and 32 GDPR; § 78a SGB X with its annex (logging access to social data)"
        ),
        purpose=N_(
            "proving who read and changed client data and accounts; answering a client's "
            "request for access"
        ),
        recipients=N_(
            "administrators and the data protection officer; coordinators the entries about "
            "the directory"
        ),
    ),
    DataClass(
        key="search_log",
        label=N_("Searches that found nothing"),
        tables=("search_log",),
        subjects=_SEARCHERS,
        data=N_("the words searched for and the filters; never who searched"),
        start_event=N_("the search"),
        period=days(730, 90, 1825),
        action=Action.delete,
        legal_basis=N_("Art. 6(1)(e) GDPR (planning the city's offers)"),
        purpose=N_("showing coordinators which offers are missing"),
        recipients=N_("coordinators and case managers (gap reports)"),
    ),
    DataClass(
        key="import_jobs",
        label=N_("Import jobs"),
        tables=("import_job",),
        subjects=_STAFF,
        data=N_("who started an import, the file's name, its summary and errors"),
        start_event=N_("the import finished (or last made progress)"),
        period=days(90, 7, 730),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=N_("showing an import's progress and result"),
        recipients=N_("the coordinator who started it"),
    ),
    DataClass(
        key="import_uploads",
        label=N_("Uploaded import files"),
        tables=(),
        subjects=_STAFF,
        data=N_("the uploaded file, kept on the server between preview and import"),
        start_event=N_("the upload"),
        period=fixed(UPLOAD_TTL),
        action=Action.delete,
        legal_basis=_STAFF_BASIS,
        purpose=N_("importing exactly the file that was previewed"),
        recipients=N_("the coordinator who uploaded it"),
    ),
    DataClass(
        key="staff_accounts",
        label=N_("Staff accounts"),
        tables=("user_account", "user_role"),
        subjects=_STAFF,
        data=N_("email address, name, language, roles, password hash, identity at the SSO"),
        start_event=N_("the account was disabled and has not changed since"),
        period=days(365, 30, 3650),
        action=Action.anonymise,
        legal_basis=_STAFF_BASIS,
        purpose=N_("signing in and acting with the account's rights"),
        recipients=N_("administrators; partner administrators for their organisation's staff"),
    ),
    DataClass(
        key="staff_references",
        label=N_("Staff named in records"),
        tables=(
            "listing_version",
            "change_suggestion",
            "capacity_change",
            "finding",
            "finding_event",
            "radar_decision",
            "finding_conference",
        ),
        subjects=_STAFF,
        data=N_(
            "who changed a listing, suggested or reviewed a change, set a capacity, reported "
            "or moved a finding"
        ),
        start_event=N_("with the staff account"),
        follows="staff_accounts",
        action=Action.anonymise,
        legal_basis=_STAFF_BASIS,
        purpose=N_("knowing who changed the directory and who reported a gap"),
        recipients=N_("coordinators and administrators; never the reporter of a finding"),
    ),
    DataClass(
        key="listing_contacts",
        label=N_("Contact persons of listings"),
        tables=("contact",),
        subjects=_CONTACTS,
        data=N_("name, title, department and email of a contact person at an offer"),
        start_event=N_("the listing was archived"),
        period=days(365, 30, 1825),
        action=Action.delete,
        legal_basis=N_("Art. 6(1)(e) GDPR (the public directory), published with consent"),
        purpose=N_("telling people whom to contact at an offer"),
        recipients=N_("the public (the directory is public unless turned off)"),
    ),
)

# What is made from personal data but never stored, so it needs no period.
NOT_STORED: tuple[tuple[str, str], ...] = (
    (N_("Handouts"), N_("rendered for printing or as a PDF on request, never stored")),
    (N_("Consent prints"), N_("rendered for printing or as a PDF on request, never stored")),
)

# Tables that hold personal data although no foreign key says so (the others are found from
# their foreign keys to ``client`` and ``user_account``).
PERSONAL_TABLES = frozenset(
    {
        "audit_event",
        "auth_session",
        "contact",
        "login_throttle",
        "oidc_login_state",
        "outbox_message",
        "search_log",
        "user_account",
    }
)

BY_KEY: dict[str, DataClass] = {entry.key: entry for entry in CLASSES}


def personal_tables(metadata: MetaData) -> set[str]:
    """Tables with personal data: declared ones, those with a foreign key to an account, and
    those that lead to a client through foreign keys (a referral's messages, say)."""
    tables = metadata.tables.values()
    found = {name for name in PERSONAL_TABLES if name in metadata.tables}
    found |= {
        table.name
        for table in tables
        if any(key.column.table.name == "user_account" for key in table.foreign_keys)
    }
    reaching_client = {"client"}
    grown = True
    while grown:
        more = {
            table.name
            for table in tables
            if table.name not in reaching_client
            and any(key.column.table.name in reaching_client for key in table.foreign_keys)
        }
        reaching_client |= more
        grown = bool(more)
    return found | reaching_client


def tables_without_rule(metadata: MetaData, classes: Iterable[DataClass] = CLASSES) -> set[str]:
    ruled = {table for entry in classes for table in entry.tables}
    return personal_tables(metadata) - ruled


class RetentionSettingsError(ValueError):
    """LOTSE_RETENTION_DAYS names an unknown class or a period out of its bounds."""


def _day_count(period: timedelta) -> str:
    if period < timedelta(days=1):
        return f"{period}"
    return f"{period.days} days"


def periods(configured: Mapping[str, int]) -> dict[str, timedelta]:
    """Every class's period: the configured days where given, else the default.

    Refuses unknown keys, classes without a period of their own or with a fixed one, and
    values outside the bounds, naming them.
    """
    problems = []
    for key, value in sorted(configured.items()):
        entry = BY_KEY.get(key)
        if entry is None:
            configurable = sorted(
                k for k, e in BY_KEY.items() if e.period and e.period.configurable
            )
            problems.append(f"unknown class {key!r}; known: {', '.join(configurable)}")
        elif entry.period is None:
            problems.append(f"{key!r} has no period of its own: it goes with {entry.follows!r}")
        elif not entry.period.configurable:
            problems.append(f"{key!r} has a fixed period of {_day_count(entry.period.default)}")
        elif not entry.period.minimum <= timedelta(days=value) <= entry.period.maximum:
            problems.append(
                f"{key!r} must be between {entry.period.minimum.days} and "
                f"{entry.period.maximum.days} days, not {value}"
            )
    if problems:
        raise RetentionSettingsError("LOTSE_RETENTION_DAYS: " + "; ".join(problems))
    return {
        entry.key: timedelta(days=configured[entry.key])
        if entry.key in configured
        else entry.period.default
        for entry in CLASSES
        if entry.period is not None
    }


def period_of(entry: DataClass, configured: Mapping[str, timedelta]) -> timedelta:
    """The period that applies to ENTRY, following ``follows``."""
    while entry.period is None:
        assert entry.follows is not None
        entry = BY_KEY[entry.follows]
    return configured[entry.key]
