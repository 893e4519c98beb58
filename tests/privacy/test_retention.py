"""The retention job on a controlled clock: each class's rows go one day after their period and
stay one day before it; the dry run only counts; runs repeat and run side by side safely; the
gap reports count the same after clients are anonymised.

The module has a database of its own (the directory and the demo accounts), because the job acts
on every due row in it. Rows are written with times in the past and the job runs at the real
time, as the audit log's floor (kept at least 365 days by the database itself) needs real ages.
After each test a real run with the shortest periods allowed removes what the test left, so the
next starts clean.
"""

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, SQLModel, col, func, select

from directory.models import Contact, ImportJob, ListingVersion, SearchLog, Service
from insights.reports import REPORTS, lookups
from insights.reports.query import Period, ReportQuery, Scope
from lotse.db import writing
from lotse.models import (
    ApiToken,
    AuditCategory,
    AuditEvent,
    AuthSession,
    LoginThrottle,
    OidcLoginState,
    PasswordReset,
    Role,
    User,
    UserRole,
)
from lotse.outbox import OutboxMessage
from lotse.passwords import UNUSABLE_PASSWORD
from lotse.settings import Settings, get_settings
from lotse.timeutil import utcnow
from privacy import concept, retention
from referrals import workflow
from referrals.models import Client, Referral, ReferralMessage, ReferralStatus
from tests.referrals.factories import (
    KIM_TEAM,
    VOLMETAL,
    case_manager,
    make_client,
    make_consent,
    make_referral,
    own_database,
    send_referral,
)

S = ReferralStatus
SessionFactory = Callable[[], Session]
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with own_database("privacy_retention") as engine:
        yield engine


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    root.mkdir()
    return root


@pytest.fixture
def factory(engine: Engine, uploads: Path) -> Iterator[SessionFactory]:
    factory = partial(Session, writing(engine))
    yield factory
    # The shortest periods allowed: what one test left behind is not due in the next by surprise.
    shortest = {
        entry.key: entry.period.minimum.days
        for entry in concept.CLASSES
        if entry.period is not None and entry.period.configurable
    }
    retention.run(
        factory,
        get_settings().model_copy(update={"retention_days": shortest}),
        upload_root=uploads,
    )


@pytest.fixture
def settings() -> Settings:
    return get_settings().model_copy(update={"retention_days": {}})


def run(
    factory: SessionFactory,
    settings: Settings,
    uploads: Path,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> retention.RetentionReport:
    return retention.run(
        factory, settings, now=now or utcnow(), dry_run=dry_run, upload_root=uploads
    )


def period(key: str) -> timedelta:
    entry = concept.BY_KEY[key]
    assert entry.period is not None
    return entry.period.default


def count(factory: SessionFactory, model: type[SQLModel]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def step(session: Session, referral: Referral, target: S, side: str, at: datetime, **change):
    workflow.transition(
        session=session,
        referral=referral,
        target=target,
        side=side,
        actor_id=referral.sender_id,
        actor_organization_id=KIM_TEAM if side == "sender" else VOLMETAL,
        change=workflow.Change(**change),
        now=at,
    )


def finished_client(session: Session, *, at: datetime, alias: str = "Amsel Rosa") -> Client:
    """A client whose one referral was sent, completed and closed with feedback around AT, and
    who has not been touched since."""
    client = make_client(session=session, alias=alias)
    consent = make_consent(session=session, client=client)
    referral = make_referral(session=session, client=client)
    send_referral(session=session, referral=referral, now=at - 3 * DAY)
    step(session, referral, S.accepted, "receiver", at - 2 * DAY)
    step(session, referral, S.in_progress, "receiver", at - 2 * DAY)
    step(session, referral, S.completed, "receiver", at - DAY, outcome="need_met")
    step(
        session,
        referral,
        S.closed,
        "sender",
        at,
        feedback={"got_help": True, "helpful": "yes", "barriers": [], "note": "Sehr geduldig"},
    )
    session.add(
        ReferralMessage(
            referral_id=referral.id,
            author_id=referral.sender_id,
            author_organization_id=KIM_TEAM,
            body="Termin bitte vormittags",
            created_at=at - 2 * DAY,
        )
    )
    client.created_at = client.updated_at = at - 4 * DAY
    consent.recorded_at = at - 4 * DAY
    session.add_all([client, consent])
    session.flush()
    return client


# --- clients ---------------------------------------------------------------------------------


def test_a_client_is_anonymised_once_the_period_after_the_last_referral_ended(
    factory, settings, uploads
):
    now = utcnow()
    with factory() as session:
        due = finished_client(session, at=now - period("clients") - DAY, alias="Amsel Fällig")
        young = finished_client(session, at=now - period("clients") + DAY, alias="Amsel Jung")
        still_open = finished_client(session, at=now - 1000 * DAY, alias="Amsel Offen")
        referral = make_referral(session=session, client=still_open)
        send_referral(session=session, referral=referral, now=now - 1000 * DAY)
        session.exec(
            text("UPDATE referral SET updated_at = :at WHERE id = :id").bindparams(
                at=now - 999 * DAY, id=referral.id
            )
        )
        restricted = finished_client(session, at=now - 1000 * DAY, alias="Amsel Gesperrt")
        restricted.restricted_at = now - 900 * DAY
        session.add(restricted)
        session.commit()
        ids = due.id, young.id, still_open.id, restricted.id

    report = run(factory, settings, uploads, now=now)

    assert (report.results["clients"].due, report.results["clients"].done) == (1, 1)
    with factory() as session:
        forgotten, kept, open_one, restricted = (session.get(Client, i) for i in ids)
        assert forgotten and kept and open_one and restricted
        assert restricted.alias == "Amsel Gesperrt" and restricted.anonymised_at is None
        assert forgotten.alias == "" and forgotten.anonymised_at == now
        assert kept.alias == "Amsel Jung" and kept.anonymised_at is None
        assert open_one.alias == "Amsel Offen" and open_one.anonymised_at is None
    again = run(factory, settings, uploads, now=now)
    assert (again.results["clients"].due, again.results["clients"].done) == (0, 0)


def test_a_configured_period_counts(factory, settings, uploads):
    now = utcnow()
    with factory() as session:
        client = finished_client(session, at=now - 200 * DAY)
        session.commit()
        client_id = client.id
    assert run(factory, settings, uploads, now=now).results["clients"].due == 0
    shorter = settings.model_copy(update={"retention_days": {"clients": 190}})
    assert run(factory, shorter, uploads, now=now).results["clients"].done == 1
    with factory() as session:
        assert session.get(Client, client_id).anonymised_at == now  # type: ignore[union-attr]


def _reports(session: Session, period: Period) -> dict:
    query = ReportQuery(period=period, scope=Scope.city())
    return {key: function(session=session, query=query) for key, (_, function) in REPORTS.items()}


def test_gap_reports_count_the_same_after_clients_are_anonymised(factory, settings, uploads):
    now = utcnow()
    finished = now - period("clients") - 10 * DAY
    with factory() as session:
        for number in range(6):
            finished_client(session, at=finished - number * DAY, alias=f"Amsel {number}")
        session.commit()
    window = Period(finished.date() - timedelta(days=20), finished.date() + timedelta(days=1))
    with factory() as session:
        before = _reports(session, window)
        # The reports count these six referrals: the comparison is not of two empty reports.
        query = ReportQuery(period=window, scope=Scope.city())
        assert len(lookups.referrals(session, query)) == 6

    report = run(factory, settings, uploads, now=now)

    assert report.results["clients"].done == 6
    with factory() as session:
        assert _reports(session, window) == before


# --- classes that delete rows: one row just past its period goes, one just before it stays --


def _old_referral(session: Session, *, at: datetime, status: S) -> Referral:
    client = make_client(session=session)
    make_consent(session=session, client=client)
    referral = make_referral(session=session, client=client, status=status)
    referral.updated_at = at
    session.add(referral)
    session.add(
        ReferralMessage(
            referral_id=referral.id,
            author_id=referral.sender_id,
            author_organization_id=KIM_TEAM,
            body="Bitte Rückruf",
            created_at=at,
        )
    )
    session.flush()
    return referral


def _user_id(session: Session) -> uuid.UUID:
    return case_manager(session=session).id


def _outbox(session: Session, at: datetime, **values) -> OutboxMessage:
    message = OutboxMessage(
        kind="reminder", recipient="a@example.org", subject="s", body="b", created_at=at, **values
    )
    session.add(message)
    return message


def _messages(session: Session, at: datetime) -> int:
    _old_referral(session, at=at, status=S.closed)
    _old_referral(session, at=at - 1000 * DAY, status=S.accepted)  # open: its thread stays
    return 1


def _outbox_delivered(session: Session, at: datetime) -> int:
    _outbox(session, at - 5 * DAY, sent_at=at)
    return 1


def _outbox_undelivered(session: Session, at: datetime) -> int:
    _outbox(session, at, attempts=7)
    return 1


def _sessions(session: Session, at: datetime) -> int:
    user_id = _user_id(session)
    session.add(AuthSession(token_hash=uuid.uuid4().hex, user_id=user_id, revoked_at=at))
    timeout = timedelta(hours=get_settings().session_timeout_hours)
    session.add(
        AuthSession(token_hash=uuid.uuid4().hex, user_id=user_id, last_seen_at=at - timeout)
    )
    return 2


def _api_tokens(session: Session, at: datetime) -> int:
    session.add(
        ApiToken(
            user_id=_user_id(session),
            name="t",
            prefix="lt_x",
            token_hash=uuid.uuid4().hex,
            expires_at=at,
        )
    )
    return 1


def _login_throttles(session: Session, at: datetime) -> int:
    session.add(
        LoginThrottle(
            email=f"{uuid.uuid4().hex}@x.org", ip_address="10.0.0.1", failures=3, last_failure_at=at
        )
    )
    return 1


def _password_resets(session: Session, at: datetime) -> int:
    session.add(
        PasswordReset(
            user_id=_user_id(session),
            token_hash=uuid.uuid4().hex,
            created_at=at - DAY,
            expires_at=at,
        )
    )
    return 1


def _sso_login_states(session: Session, at: datetime) -> int:
    session.add(
        OidcLoginState(state_hash=uuid.uuid4().hex, nonce="n", code_verifier="v", created_at=at)
    )
    return 1


def _audit_entries(session: Session, at: datetime) -> int:
    session.add(AuditEvent(at=at, action="user.login", category=AuditCategory.account))
    return 1


def _search_log(session: Session, at: datetime) -> int:
    session.add(SearchLog(query="Zahnarzt Arabisch", language="de", created_at=at))
    return 1


def _import_jobs(session: Session, at: datetime) -> int:
    session.add(
        ImportJob(
            kind="hsds",
            created_by_id=_user_id(session),
            created_at=at,
            updated_at=at,
            status="done",
        )
    )
    return 1


def _listing_contacts(session: Session, at: datetime) -> int:
    service = session.exec(select(Service).where(col(Service.archived_at).is_(None))).first()
    assert service is not None
    archived = Service(
        name="Archivierter Kurs",
        description="",
        organization_id=service.organization_id,
        archived_at=at,
    )
    session.add(archived)
    session.flush()
    session.add(Contact(service_id=archived.id, name="Frau Beispiel", email="b@example.org"))
    return 1


ROWS: dict[str, tuple[Callable[[Session, datetime], int], type[SQLModel]]] = {
    "messages": (_messages, ReferralMessage),
    "outbox_delivered": (_outbox_delivered, OutboxMessage),
    "outbox_undelivered": (_outbox_undelivered, OutboxMessage),
    "sessions": (_sessions, AuthSession),
    "api_tokens": (_api_tokens, ApiToken),
    "login_throttles": (_login_throttles, LoginThrottle),
    "password_resets": (_password_resets, PasswordReset),
    "sso_login_states": (_sso_login_states, OidcLoginState),
    "audit_entries": (_audit_entries, AuditEvent),
    "search_log": (_search_log, SearchLog),
    "import_jobs": (_import_jobs, ImportJob),
    "listing_contacts": (_listing_contacts, Contact),
}


@pytest.mark.parametrize("key", ROWS)
def test_rows_go_when_their_period_has_ended_and_not_before(key, factory, settings, uploads):
    make, model = ROWS[key]
    now = utcnow()
    ends = now - period(key)
    margin = timedelta(minutes=1) if period(key) < 2 * DAY else DAY
    with factory() as session:
        past = make(session, ends - margin)
        make(session, ends + margin)
        session.commit()
    total = count(factory, model)

    report = run(factory, settings, uploads, now=now)

    assert (report.results[key].due, report.results[key].done) == (past, past)
    # The run leaves an audit entry saying what it did.
    assert count(factory, model) == total - past + (model is AuditEvent)
    assert run(factory, settings, uploads, now=now).results[key].due == 0


def test_the_audit_log_keeps_a_year_whatever_is_configured(factory, settings, uploads):
    now = utcnow()
    with factory() as session:
        session.add(
            AuditEvent(at=now - 300 * DAY, action="user.login", category=AuditCategory.account)
        )
        session.add(
            AuditEvent(at=now - 370 * DAY, action="user.login", category=AuditCategory.account)
        )
        session.commit()
    with pytest.raises(concept.RetentionSettingsError, match="between 365 and 3650"):
        run(factory, settings.model_copy(update={"retention_days": {"audit_entries": 30}}), uploads)
    year = settings.model_copy(update={"retention_days": {"audit_entries": 365}})
    assert run(factory, year, uploads, now=now).results["audit_entries"].done == 1
    # Even a statement that bypasses the job cannot delete what is younger than a year.
    with factory() as session, pytest.raises(DatabaseError, match="append-only"):
        session.exec(text("DELETE FROM audit_event"))
        session.commit()


def test_disabled_staff_accounts_are_anonymised_and_stay_the_authors(factory, settings, uploads):
    now = utcnow()
    with factory() as session:
        person = User(
            email="ehemalig@demo.lotse.example.org",
            display_name="Erika Ehemalig",
            organization_id=KIM_TEAM,
            password_hash="argon2-hash",
            is_active=False,
            updated_at=now - period("staff_accounts") - DAY,
            oidc_subject="sub-erika",
        )
        active = User(
            email="aktiv@demo.lotse.example.org",
            display_name="Anton Aktiv",
            organization_id=KIM_TEAM,
            password_hash="argon2-hash",
            updated_at=now - 2000 * DAY,
        )
        session.add_all([person, active])
        session.flush()
        session.add(UserRole(user_id=person.id, role=Role.coordinator))
        session.add(AuthSession(token_hash=uuid.uuid4().hex, user_id=person.id))
        version = ListingVersion(
            entity_type="service",
            entity_id=uuid.uuid4(),
            number=1,
            action="edited",
            actor_id=person.id,
            actor_label=person.email,
        )
        session.add(version)
        session.commit()
        ids = person.id, active.id, version.id

    report = run(factory, settings, uploads, now=now)

    assert report.results["staff_accounts"].done == 1
    with factory() as session:
        person, active, version = (
            session.get(User, ids[0]),
            session.get(User, ids[1]),
            session.get(ListingVersion, ids[2]),
        )
        assert person and active and version
        assert person.email == f"{person.id.hex}@anonymised.invalid"
        assert (person.display_name, person.oidc_subject) == ("—", None)
        assert person.password_hash == UNUSABLE_PASSWORD
        assert version.actor_label == person.email
        assert not session.exec(select(AuthSession).where(AuthSession.user_id == person.id)).all()
        assert active.email == "aktiv@demo.lotse.example.org"
    assert run(factory, settings, uploads, now=now).results["staff_accounts"].due == 0


def test_uploads_are_removed_after_their_fixed_period(factory, settings, uploads):
    import os

    old, new = uploads / "old", uploads / "new"
    old.mkdir()
    new.mkdir()
    hours_ago = (utcnow() - timedelta(hours=3)).timestamp()
    os.utime(old, (hours_ago, hours_ago))

    report = run(factory, settings, uploads)

    assert (report.results["import_uploads"].due, report.results["import_uploads"].done) == (1, 1)
    assert not old.exists() and new.exists()


# --- the dry run, repetition and parallel runs ----------------------------------------------


def _every_class_due(session: Session, now: datetime) -> None:
    for make, _ in ROWS.values():
        make(session, now - 4000 * DAY)
    finished_client(session, at=now - 2000 * DAY)


def test_the_dry_run_counts_by_class_and_changes_nothing(factory, settings, uploads):
    now = utcnow()
    with factory() as session:
        _every_class_due(session, now)
        session.commit()
    models = [model for _, model in ROWS.values()] + [Client]
    before = {model: count(factory, model) for model in models}
    with factory() as session:
        aliases = sorted(session.exec(select(Client.alias)))

    dry = run(factory, settings, uploads, now=now, dry_run=True)

    assert dry.dry_run and dry.done == 0
    assert set(dry.results) == {entry.key for entry in concept.CLASSES if entry.period is not None}
    assert all(dry.results[key].due >= 1 for key in [*ROWS, "clients"])
    assert {model: count(factory, model) for model in models} == before
    with factory() as session:
        assert sorted(session.exec(select(Client.alias))) == aliases

    real = run(factory, settings, uploads, now=now)
    assert {key: r.due for key, r in real.results.items()} == {
        key: r.due for key, r in dry.results.items()
    }
    assert all(r.done == r.due for r in real.results.values())


def test_runs_side_by_side_do_each_piece_of_work_once(factory, settings, uploads):
    now = utcnow()
    with factory() as session:
        for number in range(4):
            finished_client(session, at=now - 2000 * DAY, alias=f"Amsel Parallel {number}")
        for _ in range(30):
            _outbox(session, now - 100 * DAY, sent_at=now - 90 * DAY)
        session.commit()
    reports: list[retention.RetentionReport] = []
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            reports.append(run(factory, settings, uploads, now=now))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one_run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(r.results["clients"].done for r in reports) == 4
    assert sum(r.results["outbox_delivered"].done for r in reports) == 30
    with factory() as session:
        assert not session.exec(
            select(Client).where(col(Client.alias).startswith("Amsel Parallel"))
        ).all()


# --- the concept's own checks ---------------------------------------------------------------


def test_every_class_with_a_period_has_a_rule_in_the_job():
    own = {entry.key for entry in concept.CLASSES if entry.period is not None}
    assert set(retention._RULES) | {"import_uploads"} == own


def test_out_of_bounds_and_unknown_classes_are_refused_naming_the_bounds():
    with pytest.raises(concept.RetentionSettingsError) as refused:
        concept.periods({"clients": 10, "nonsense": 5, "consents": 30})
    message = str(refused.value)
    assert "'clients' must be between 180 and 1825 days, not 10" in message
    assert "unknown class 'nonsense'" in message
    assert "'consents' has no period of its own: it goes with 'clients'" in message
    assert concept.periods({"clients": 400})["clients"] == timedelta(days=400)
    assert concept.periods({})["outbox_delivered"] == timedelta(days=30)
