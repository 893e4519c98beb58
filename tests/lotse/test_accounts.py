"""Logging in under attack (throttling, parallel guesses, the owner's notice), password hashes,
and what a password reset or change does to the account's sessions and access tokens."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlmodel import Session, col, select

from directory.seed import stable_id
from lotse import accounts
from lotse.models import ApiToken, AuthSession, LoginThrottle, Role, User, UserRole
from lotse.outbox import OutboxMessage
from lotse.passwords import hash_password
from lotse.timeutil import utcnow
from tests.accounts import PASSWORDS, login, post

PASSWORD = "Richtiges-Passwort-2026"
WRONG = "falsch-falsch-falsch"


def make_user(session: Session, email: str, password_hash: str | None = None) -> User:
    user = User(
        email=email,
        display_name="Testperson",
        organization_id=stable_id("partner_organization", "volmetal"),
        password_hash=password_hash or hash_password(PASSWORD),
    )
    session.add(user)
    session.flush()
    session.add(UserRole(user_id=user.id, role=Role.partner_staff))
    session.flush()
    return user


def attempt(session: Session, email: str, password: str, address: str, now=None) -> str:
    try:
        accounts.authenticate(
            session=session, email=email, password=password, ip_address=address, now=now
        )
    except accounts.LoginLocked:
        return "locked"
    except accounts.LoginFailed:
        return "failed"
    return "ok"


def notices(session: Session, email: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage).where(
                OutboxMessage.recipient == email, OutboxMessage.kind == "failed_logins"
            )
        ).all()
    )


# --- parallel guesses -----------------------------------------------------------------------


@pytest.fixture
def committed_user(engine, app):
    """An account committed for real, for threads with their own connections; removed after."""
    email = "parallel@demo.lotse.example.org"
    with Session(engine) as session:
        user = make_user(session, email)
        user_id = user.id
        session.commit()
    yield email
    with Session(engine) as session:
        session.exec(delete(LoginThrottle).where(col(LoginThrottle.ip_address) == "198.51.100.30"))
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.recipient) == email))
        session.exec(delete(UserRole).where(col(UserRole.user_id) == user_id))
        session.exec(delete(User).where(col(User.id) == user_id))
        session.commit()


def test_thirty_parallel_wrong_guesses_then_the_right_password_cannot_slip_past_the_count(
    engine, committed_user
):
    """Every attempt is counted before the hash: of 30 parallel guesses only the free five are
    checked, and the right password after them waits like any other attempt."""
    barrier = threading.Barrier(30)
    results: list[str] = []
    lock = threading.Lock()

    def guess() -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                accounts.authenticate(
                    session=session,
                    email=committed_user,
                    password=WRONG,
                    ip_address="198.51.100.30",
                    after_count=session.commit,
                )
                outcome = "ok"
            except accounts.LoginLocked:
                outcome = "locked"
            except accounts.LoginFailed:
                outcome = "failed"
            session.commit()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    counts = Counter(results)
    assert sum(counts.values()) == 30, counts
    assert counts["failed"] == accounts.FREE_ATTEMPTS_PER_PAIR, counts
    assert counts["locked"] == 30 - accounts.FREE_ATTEMPTS_PER_PAIR, counts
    with Session(engine) as session:
        outcome = attempt(session, committed_user, PASSWORD, "198.51.100.30")
        session.commit()
        assert outcome == "locked"
        assert len(notices(session, committed_user)) == 1


# --- throttling -----------------------------------------------------------------------------


def test_guesses_from_elsewhere_do_not_keep_the_owner_out(session):
    user = make_user(session, "owner@demo.lotse.example.org")
    for _ in range(12):
        attempt(session, user.email, WRONG, "203.0.113.66")
    assert attempt(session, user.email, PASSWORD, "203.0.113.66") == "locked"
    # The owner, from their own address, is not affected by someone else's guessing.
    assert attempt(session, user.email, PASSWORD, "192.0.2.10") == "ok"


def test_each_further_failure_waits_longer(session):
    user = make_user(session, "slow@demo.lotse.example.org")
    start = utcnow()
    for _ in range(accounts.FREE_ATTEMPTS_PER_PAIR):
        assert attempt(session, user.email, WRONG, "203.0.113.7", now=start) == "failed"
    assert attempt(session, user.email, PASSWORD, "203.0.113.7", now=start) == "locked"
    # One minute later one more attempt is checked; after it fails, the pause doubles.
    later = start + timedelta(minutes=1, seconds=1)
    assert attempt(session, user.email, WRONG, "203.0.113.7", now=later) == "failed"
    one_more_minute = later + timedelta(minutes=1, seconds=1)
    assert attempt(session, user.email, PASSWORD, "203.0.113.7", now=one_more_minute) == "locked"
    after_two = later + timedelta(minutes=2, seconds=1)
    assert attempt(session, user.email, PASSWORD, "203.0.113.7", now=after_two) == "ok"
    # A success forgives the pair's failures.
    assert attempt(session, user.email, WRONG, "203.0.113.7", now=after_two) == "failed"
    assert attempt(session, user.email, PASSWORD, "203.0.113.7", now=after_two) == "ok"


def test_the_lock_message_says_how_long_to_wait(client, session):
    for _ in range(accounts.FREE_ATTEMPTS_PER_PAIR):
        login(client, "partner_staff", password=WRONG)
    locked = login(client, "partner_staff")
    assert locked.status_code == 429 and "für 1 Minute gesperrt" in locked.text


def test_the_owner_is_told_once_without_any_secret(session):
    user = make_user(session, "told@demo.lotse.example.org")
    start = utcnow()
    for _ in range(accounts.FREE_ATTEMPTS_PER_PAIR - 1):
        attempt(session, user.email, "Geheimer-Versuch-1", "203.0.113.8", now=start)
    assert notices(session, user.email) == []
    attempt(session, user.email, "Geheimer-Versuch-1", "203.0.113.8", now=start)
    told = notices(session, user.email)
    assert len(told) == 1
    assert "Geheimer-Versuch" not in told[0].body and "203.0.113.8" not in told[0].body
    # More guesses, from other addresses and later the same day: no second email.
    for address in ("203.0.113.9", "203.0.113.10"):
        for _ in range(accounts.FREE_ATTEMPTS_PER_PAIR):
            attempt(session, user.email, WRONG, address, now=start + timedelta(hours=2))
    assert len(notices(session, user.email)) == 1
    # A day later the owner hears again.
    for _ in range(accounts.FREE_ATTEMPTS_PER_PAIR):
        attempt(session, user.email, WRONG, "203.0.113.11", now=start + timedelta(hours=25))
    assert len(notices(session, user.email)) == 2


# --- password hashes ------------------------------------------------------------------------


def test_hashes_use_owasp_parameters_and_old_ones_are_replaced_at_login(session):
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    user = make_user(session, "rehash@demo.lotse.example.org", password_hash=old)
    assert attempt(session, user.email, PASSWORD, "192.0.2.20") == "ok"
    session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert attempt(session, user.email, PASSWORD, "192.0.2.20") == "ok"


# --- sessions and tokens after a reset or change --------------------------------------------


def _token(client: TestClient) -> str:
    page = post(client, "/account/tokens", {"token_name": "Fachverfahren", "valid_days": "30"})
    return page.text.split('id="new-token">')[1].split("<")[0]


def test_a_reset_ends_every_session_and_access_token(client, app, session):
    target = session.exec(select(User).where(User.email == PASSWORDS["partner_staff"][0])).one()
    with TestClient(app) as victim, TestClient(app) as machine:
        login(victim, "partner_staff")
        bearer = {"Authorization": f"Bearer {_token(victim)}"}
        assert machine.get("/api/v1/referrals", headers=bearer).status_code == 200
        login(client, "partner_admin")
        assert post(client, f"/admin/users/{target.id}/reset-password").status_code == 200
        assert victim.get("/account", follow_redirects=False).status_code == 303
        assert machine.get("/api/v1/referrals", headers=bearer).status_code == 401


def test_a_password_change_ends_other_sessions_and_tokens_but_not_this_one(app, session):
    email, password = PASSWORDS["case_manager"]
    with TestClient(app) as here, TestClient(app) as elsewhere, TestClient(app) as machine:
        login(here, "case_manager")
        login(elsewhere, "case_manager")
        bearer = {"Authorization": f"Bearer {_token(elsewhere)}"}
        assert machine.get("/api/v1/referrals", headers=bearer).status_code == 200
        new = "Neues-Passwort-für-Hagen"
        changed = post(
            here,
            "/account/password",
            {"current_password": password, "new_password": new, "repeat_password": new},
        )
        assert changed.status_code == 303
        assert here.get("/account").status_code == 200
        assert elsewhere.get("/account", follow_redirects=False).status_code == 303
        assert machine.get("/api/v1/referrals", headers=bearer).status_code == 401
    user = session.exec(select(User).where(User.email == email)).one()
    live = session.exec(
        select(AuthSession).where(
            AuthSession.user_id == user.id, col(AuthSession.revoked_at).is_(None)
        )
    ).all()
    assert len(live) == 1
    assert all(
        token.revoked_at is not None
        for token in session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    )


def test_a_new_account_gets_a_link_not_a_password_shown_to_its_creator(client, app, session):
    from tests.accounts import password_link_in_outbox

    login(client, "partner_admin")
    page = post(
        client,
        "/admin/users/new",
        {
            "email": "neue-kollegin@demo.lotse.example.org",
            "display_name": "Neue Kollegin",
            "roles": ["partner_staff"],
        },
    )
    assert page.status_code == 200 and 'id="link-sent"' in page.text
    assert 'id="one-time-password"' not in page.text
    link = password_link_in_outbox(session, "neue-kollegin@demo.lotse.example.org")
    assert link.rsplit("/", 1)[1] not in page.text
    path = "/account/reset/" + link.rsplit("/", 1)[1]
    with TestClient(app) as person:
        new = "Mein-eigenes-Passwort-7"
        assert post(person, path, {"new_password": new, "repeat_password": new}).status_code == 303
        assert login(person, "neue-kollegin@demo.lotse.example.org", new).status_code == 303


def emailed_reset_secret(session: Session, user: User) -> str:
    """Send the account a password link; the secret in the email, as only its owner sees it."""
    accounts.send_password_link(
        session=session,
        user=user,
        actor=accounts.Actor.of(None),
        base_url="https://lotse.example",
        purpose="reset",
    )
    message = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.recipient == user.email, OutboxMessage.kind == "password_link"
        )
    ).one()
    return message.body.split("/account/reset/")[1].split()[0]


def test_a_link_can_be_used_only_once(session):
    user = make_user(session, "einmal@demo.lotse.example.org")
    secret = emailed_reset_secret(session, user)
    accounts.set_password_by_link(
        session=session, secret=secret, new="Erstes-Passwort-2026", ip_address=None
    )
    with pytest.raises(accounts.PasswordLinkInvalid):
        accounts.set_password_by_link(
            session=session, secret=secret, new="Zweites-Passwort-2026", ip_address=None
        )


def test_choosing_a_password_by_link_ends_the_owners_wait(session):
    user = make_user(session, "vergessen@demo.lotse.example.org")
    for _ in range(accounts.FREE_ATTEMPTS_PER_PAIR):
        attempt(session, user.email, WRONG, "192.0.2.44")
    assert attempt(session, user.email, PASSWORD, "192.0.2.44") == "locked"
    secret = emailed_reset_secret(session, user)
    new = "Wieder-erinnert-2026"
    accounts.set_password_by_link(session=session, secret=secret, new=new, ip_address=None)
    assert attempt(session, user.email, new, "192.0.2.44") == "ok"


@pytest.mark.parametrize(
    ("code", "one", "five"),
    [
        ("en", "paused for 1 minute.", "paused for 5 minutes."),
        ("de", "für 1 Minute gesperrt", "für 5 Minuten gesperrt"),
    ],
)
def test_the_waiting_time_reads_as_people_write_it(code, one, five):
    from lotse import i18n

    with i18n.language(code):
        assert one in accounts.LoginLocked(minutes=1).translated()
        assert five in accounts.LoginLocked(minutes=5).translated()
