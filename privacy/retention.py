"""The retention job: deletes or anonymises what the deletion concept (``privacy/concept.py``)
says is due.

Each unit of work — a batch of rows to delete, one client, one staff account — is its own
transaction, and each states again in its WHERE clause why the rows are due. So a run can stop
at any point and the next one carries on, a second run finds nothing left, and several machines
running it at once each do a piece of the work once (on PostgreSQL a client or account is
locked while it is anonymised; on SQLite writers queue for the one write lock).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, delete, exists, func, or_, update
from sqlmodel import Session, SQLModel, col, select

from directory.interop import import_jobs
from directory.models import (
    ChangeSuggestion,
    Contact,
    ImportJob,
    ListingVersion,
    Organization,
    SearchLog,
    Service,
)
from lotse import audit
from lotse.models import (
    ApiToken,
    AuditCategory,
    AuditEvent,
    AuthSession,
    LoginThrottle,
    OidcLoginState,
    PasswordReset,
    User,
)
from lotse.outbox import OutboxMessage
from lotse.passwords import UNUSABLE_PASSWORD
from lotse.settings import Settings
from lotse.timeutil import utcnow
from privacy import concept
from privacy.forget import forget_client
from referrals.models import Client, Consent, Referral, ReferralMessage
from referrals.workflow import FINISHED, OPEN, TERMINAL

SessionFactory = Callable[[], Session]
Progress = Callable[[str, int, int], None]  # class key, done, due

BATCH = 500
# An anonymised account's address: unique, never deliverable (RFC 2606), and recognisable.
ANONYMISED_DOMAIN = "@anonymised.invalid"
ANONYMISED_NAME = "—"


@dataclass
class ClassResult:
    key: str
    due: int = 0
    done: int = 0


@dataclass
class RetentionReport:
    now: datetime
    dry_run: bool
    results: dict[str, ClassResult] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(result.done for result in self.results.values())


@dataclass(frozen=True)
class _Run:
    session_factory: SessionFactory
    settings: Settings
    now: datetime
    dry_run: bool
    progress: Progress

    def count(self, model: type[SQLModel], condition: ColumnElement[bool]) -> int:
        with self.session_factory() as session:
            return session.scalar(select(func.count()).select_from(model).where(condition)) or 0

    def delete_due(
        self, key: str, model: type[SQLModel], condition: ColumnElement[bool]
    ) -> ClassResult:
        """Delete the rows that meet CONDITION, a batch per transaction."""
        key_column = next(iter(model.__table__.primary_key.columns))  # type: ignore[attr-defined]
        result = ClassResult(key, due=self.count(model, condition))
        self.progress(key, 0, result.due)
        while not self.dry_run:
            with self.session_factory() as session:
                batch = list(session.exec(select(key_column).where(condition).limit(BATCH)))
                if not batch:
                    break
                deleted = session.exec(
                    delete(model)
                    .where(key_column.in_(batch), condition)
                    .execution_options(synchronize_session=False)
                ).rowcount
                session.commit()
            result.done += deleted or 0
            self.progress(key, result.done, result.due)
        return result

    def one_by_one(
        self,
        key: str,
        model: type[SQLModel],
        condition: ColumnElement[bool],
        act: Callable[[Session, uuid.UUID], None],
    ) -> ClassResult:
        """ACT on each row that meets CONDITION, each in its own transaction, after locking it
        and checking it is still due."""
        with self.session_factory() as session:
            ids = list(session.exec(select(model.id).where(condition)))  # type: ignore[attr-defined]
        result = ClassResult(key, due=len(ids))
        self.progress(key, 0, result.due)
        if self.dry_run:
            return result
        for row_id in ids:
            with self.session_factory() as session:
                still_due = session.exec(
                    select(model.id)  # type: ignore[attr-defined]
                    .where(model.id == row_id, condition)  # type: ignore[attr-defined]
                    .with_for_update()
                ).first()
                if still_due is None:
                    continue
                act(session, row_id)
                session.commit()
            result.done += 1
            self.progress(key, result.done, result.due)
        return result


def run(
    session_factory: SessionFactory,
    settings: Settings,
    now: datetime | None = None,
    dry_run: bool = False,
    *,
    upload_root: Path | None = None,
    progress: Progress | None = None,
) -> RetentionReport:
    """Apply every class's period at NOW (default: the real time); with DRY_RUN only count.

    Raises ``concept.RetentionSettingsError`` when LOTSE_RETENTION_DAYS is not acceptable.
    """
    now = now or utcnow()
    periods = concept.periods(settings.retention_days)
    job = _Run(session_factory, settings, now, dry_run, progress or (lambda *_: None))
    report = RetentionReport(now=now, dry_run=dry_run)
    for key, apply in _RULES.items():
        cutoff = now - periods[key]
        report.results[key] = apply(job, cutoff)
    report.results["import_uploads"] = _import_uploads(job, upload_root)
    # Shown in the concept's order.
    report.results = {
        entry.key: report.results[entry.key]
        for entry in concept.CLASSES
        if entry.key in report.results
    }
    if report.done:
        with session_factory() as session:
            audit.record(
                session=session,
                actor=audit.SYSTEM,
                action="privacy.retention",
                category=AuditCategory.client_data,
                done={key: result.done for key, result in report.results.items() if result.done},
            )
            session.commit()
    return report


# --- the rules, one per class with a period of its own ------------------------------------


def _client_is_due(cutoff: datetime) -> ColumnElement[bool]:
    recent_referral = exists().where(
        col(Referral.client_id) == Client.id,
        or_(col(Referral.status).in_(OPEN), col(Referral.updated_at) >= cutoff),
    )
    recent_consent = exists().where(
        col(Consent.client_id) == Client.id,
        or_(col(Consent.recorded_at) >= cutoff, col(Consent.withdrawn_at) >= cutoff),
    )
    return (
        col(Client.anonymised_at).is_(None)
        # Restricted (Art. 18 GDPR): kept as it is, because the person needs it kept.
        & col(Client.restricted_at).is_(None)
        & (col(Client.updated_at) < cutoff)
        & ~recent_referral
        & ~recent_consent
    )


def _clients(job: _Run, cutoff: datetime) -> ClassResult:
    return job.one_by_one(
        "clients",
        Client,
        _client_is_due(cutoff),
        lambda session, client_id: _forget(session, client_id, job.now),
    )


def _forget(session: Session, client_id: uuid.UUID, now: datetime) -> None:
    forget_client(session, client_id, now=now)


def _messages(job: _Run, cutoff: datetime) -> ClassResult:
    finished = select(Referral.id).where(
        col(Referral.status).in_(FINISHED | TERMINAL), col(Referral.updated_at) < cutoff
    )
    return job.delete_due(
        "messages", ReferralMessage, col(ReferralMessage.referral_id).in_(finished)
    )


def _outbox_delivered(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due("outbox_delivered", OutboxMessage, col(OutboxMessage.sent_at) < cutoff)


def _outbox_undelivered(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due(
        "outbox_undelivered",
        OutboxMessage,
        col(OutboxMessage.sent_at).is_(None)
        & (col(OutboxMessage.created_at) < cutoff)
        # Not while a sender is trying to deliver it.
        & or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < job.now),
    )


def _sessions(job: _Run, cutoff: datetime) -> ClassResult:
    timeout = timedelta(hours=job.settings.session_timeout_hours)
    return job.delete_due(
        "sessions",
        AuthSession,
        or_(
            col(AuthSession.revoked_at) < cutoff,
            col(AuthSession.revoked_at).is_(None)
            & (col(AuthSession.last_seen_at) < cutoff - timeout),
        ),
    )


def _api_tokens(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due(
        "api_tokens",
        ApiToken,
        or_(col(ApiToken.revoked_at) < cutoff, col(ApiToken.expires_at) < cutoff),
    )


def _login_throttles(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due(
        "login_throttles",
        LoginThrottle,
        (col(LoginThrottle.last_failure_at) < cutoff)
        & or_(
            col(LoginThrottle.blocked_until).is_(None), col(LoginThrottle.blocked_until) < job.now
        ),
    )


def _password_resets(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due(
        "password_resets",
        PasswordReset,
        or_(col(PasswordReset.used_at) < cutoff, col(PasswordReset.expires_at) < cutoff),
    )


def _sso_login_states(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due(
        "sso_login_states", OidcLoginState, col(OidcLoginState.created_at) < cutoff
    )


def _audit_entries(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due("audit_entries", AuditEvent, col(AuditEvent.at) < cutoff)


def _search_log(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due("search_log", SearchLog, col(SearchLog.created_at) < cutoff)


def _import_jobs(job: _Run, cutoff: datetime) -> ClassResult:
    return job.delete_due("import_jobs", ImportJob, col(ImportJob.updated_at) < cutoff)


def _listing_contacts(job: _Run, cutoff: datetime) -> ClassResult:
    archived_services = select(Service.id).where(col(Service.archived_at) < cutoff)
    archived_organizations = select(Organization.id).where(col(Organization.archived_at) < cutoff)
    return job.delete_due(
        "listing_contacts",
        Contact,
        or_(
            col(Contact.service_id).in_(archived_services),
            col(Contact.organization_id).in_(archived_organizations),
        ),
    )


def _staff_accounts(job: _Run, cutoff: datetime) -> ClassResult:
    return job.one_by_one(
        "staff_accounts",
        User,
        col(User.is_active).is_(False)
        & (col(User.updated_at) < cutoff)
        & ~col(User.email).endswith(ANONYMISED_DOMAIN),
        lambda session, user_id: anonymise_account(session, user_id, now=job.now),
    )


def anonymise_account(session: Session, user_id: uuid.UUID, *, now: datetime) -> None:
    """Remove what names the person behind a disabled account, here and where records name
    them by address; the account stays as the author of what it did. Flushes, never commits."""
    user = session.get(User, user_id)
    assert user is not None
    old_email = user.email
    user.email = f"{user.id.hex}{ANONYMISED_DOMAIN}"
    user.display_name = ANONYMISED_NAME
    user.language = None
    user.password_hash = UNUSABLE_PASSWORD
    user.oidc_subject = None
    user.last_login_at = None
    user.failed_logins_notified_at = None
    user.updated_at = now
    session.add(user)
    for model, user_column in (
        (AuthSession, AuthSession.user_id),
        (ApiToken, ApiToken.user_id),
        (PasswordReset, PasswordReset.user_id),
    ):
        session.exec(delete(model).where(col(user_column) == user_id))
    session.exec(
        update(ListingVersion)
        .where(col(ListingVersion.actor_id) == user_id)
        .values(actor_label=user.email)
    )
    session.exec(
        update(ChangeSuggestion)
        .where(
            or_(
                col(ChangeSuggestion.proposed_by_id) == user_id,
                col(ChangeSuggestion.proposed_by_label) == old_email,
            )
        )
        .values(proposed_by_label=user.email)
    )
    session.flush()


def _import_uploads(job: _Run, root: Path | None) -> ClassResult:
    root = root or import_jobs.upload_root()
    limit = (job.now - import_jobs.UPLOAD_TTL).timestamp()
    due = sum(1 for folder in root.iterdir() if folder.is_dir() and folder.stat().st_mtime < limit)
    result = ClassResult("import_uploads", due=due)
    if not job.dry_run:
        result.done = import_jobs.purge_expired(root=root, now=job.now)
    job.progress("import_uploads", result.done, result.due)
    return result


# The order of execution: rows that a class deletes on its own go before the clients and
# accounts that would take them along, so that a dry run's counts are what the run does.
_RULES: dict[str, Callable[[_Run, datetime], ClassResult]] = {
    "messages": _messages,
    "outbox_delivered": _outbox_delivered,
    "outbox_undelivered": _outbox_undelivered,
    "sessions": _sessions,
    "api_tokens": _api_tokens,
    "login_throttles": _login_throttles,
    "password_resets": _password_resets,
    "sso_login_states": _sso_login_states,
    "search_log": _search_log,
    "import_jobs": _import_jobs,
    "listing_contacts": _listing_contacts,
    "clients": _clients,
    "staff_accounts": _staff_accounts,
    "audit_entries": _audit_entries,
}
