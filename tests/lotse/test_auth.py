"""Logging in and out, sessions, lockout, CSRF, tokens, passwords — and what the audit log says."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from lotse import auth
from lotse.app import create_app
from lotse.models import ApiToken, AuditEvent, AuthSession, User
from lotse.settings import get_settings
from lotse.timeutil import utcnow
from tests.accounts import PASSWORDS, csrf_token, login, password_link_in_outbox, post


def actions(session, email: str | None = None) -> list[str]:
    query = select(AuditEvent).order_by(AuditEvent.at)
    if email:
        query = query.where(AuditEvent.actor_email == email)
    return [event.action for event in session.exec(query).all()]


def user(session, who: str) -> User:
    return session.exec(select(User).where(User.email == PASSWORDS[who][0])).one()


def test_login_sets_a_safe_cookie_and_shows_the_account(client, session):
    response = login(client, "case_manager")
    assert response.status_code == 303 and response.headers["location"] == "/referrals"
    cookie = response.headers["set-cookie"]
    assert "lotse_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/account")
    assert page.status_code == 200 and "Mira Demir (Demo)" in page.text
    assert "login.succeeded" in actions(session, PASSWORDS["case_manager"][0])


@pytest.mark.parametrize(
    ("who", "start"),
    [
        ("case_manager", "/referrals"),
        ("partner_staff", "/inbox"),
        ("partner_admin", "/inbox"),
        ("coordinator", "/editor/review"),
        ("admin", "/admin/users"),
        ("privacy_officer", "/admin/audit"),
    ],
)
def test_each_role_lands_where_its_day_starts(app, session, who, start):
    with TestClient(app) as client:
        response = login(client, who)
        assert response.status_code == 303 and response.headers["location"] == start
        assert client.get(start).status_code == 200


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/services?q=Deutschkurs", "/services?q=Deutschkurs"),
        ("/", "/inbox"),
        ("//evil.example/inbox", "/inbox"),
        ("https://evil.example/", "/inbox"),
        ("/\\evil.example", "/inbox"),
    ],
)
def test_a_local_next_target_wins_over_the_start_page_and_no_other(app, session, asked, landed):
    with TestClient(app) as client:
        email, password = PASSWORDS["partner_staff"]
        response = post(client, "/login", {"email": email, "password": password, "next": asked})
        assert response.status_code == 303 and response.headers["location"] == landed


def test_secure_cookie_over_https(app, session):
    with TestClient(app, base_url="https://lotse.example") as client:
        response = login(client, "case_manager")
    assert "Secure" in response.headers["set-cookie"]


def test_session_id_is_rotated_at_login(client, session):
    login(client, "case_manager")
    first = client.cookies["lotse_session"]
    login(client, "case_manager")
    second = client.cookies["lotse_session"]
    assert first != second
    assert auth.resolve_session(session=session, token=first, timeout=timedelta(hours=8)) is None


def test_wrong_credentials_are_a_clear_translated_message(client, session):
    response = login(client, "case_manager", password="falsch-falsch-falsch")
    assert response.status_code == 401
    assert "E-Mail-Adresse oder das Passwort ist nicht korrekt" in response.text
    unknown = login(client, "niemand@example.org", password="irgendetwas-123")
    assert unknown.status_code == 401 and unknown.text.count("nicht korrekt") == 1
    assert actions(session).count("login.failed") >= 2
    assert "lotse_session" not in client.cookies


def test_five_failures_lock_the_account_even_for_the_right_password(client, session):
    for _ in range(5):
        assert login(client, "partner_staff", password="falsch-falsch-falsch").status_code == 401
    locked = login(client, "partner_staff")
    assert locked.status_code == 429
    assert "Zu viele" in locked.text or "zu viele" in locked.text.lower()
    assert "login.locked" in actions(session)
    # Another account from the same address is not affected by one account's lock.
    assert login(client, "coordinator").status_code == 303


def test_twenty_failures_from_one_address_lock_the_address(client):
    for number in range(20):
        login(client, f"probe{number}@example.org", password="falsch-falsch-falsch")
    assert login(client, "admin").status_code == 429


def test_lockout_is_shared_by_every_app_process(app, engine, session, search_engine):
    other = create_app(get_settings(), engine=engine)
    other.dependency_overrides = app.dependency_overrides
    with TestClient(app) as first, TestClient(other) as second:
        for _ in range(3):
            login(first, "case_manager", password="falsch-falsch-falsch")
        for _ in range(2):
            login(second, "case_manager", password="falsch-falsch-falsch")
        assert login(first, "case_manager").status_code == 429


def test_session_ends_after_inactivity(client, session):
    login(client, "case_manager")
    row = session.exec(select(AuthSession).order_by(AuthSession.created_at.desc())).first()
    row.last_seen_at = utcnow() - timedelta(hours=8, minutes=1)
    session.add(row)
    session.flush()
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert "reason=expired" in response.headers["location"]
    page = client.get(response.headers["location"])
    assert "Ihre Sitzung ist abgelaufen" in page.text or "Sitzung" in page.text


def test_logout_revokes_the_session_on_the_server(client, session):
    login(client, "case_manager")
    token = client.cookies["lotse_session"]
    response = post(client, "/logout")
    assert response.status_code == 303
    # Even someone who kept the old cookie is signed out.
    stolen = TestClient(client.app, cookies={"lotse_session": token})
    assert stolen.get("/account", follow_redirects=False).status_code == 303
    assert "logout" in actions(session, PASSWORDS["case_manager"][0])


def test_state_changing_requests_need_the_csrf_token(client, session):
    login(client, "case_manager")
    before = user(session, "case_manager").language
    missing = client.post("/account/language", data={"language": "en"}, follow_redirects=False)
    assert missing.status_code == 403
    assert "Formular" in missing.text
    forged = client.post(
        "/account/language", data={"language": "en", "csrf_token": "x.y"}, follow_redirects=False
    )
    assert forged.status_code == 403
    session.expire_all()
    assert user(session, "case_manager").language == before
    ok = post(client, "/account/language", {"language": "en"})
    assert ok.status_code == 303
    session.expire_all()
    assert user(session, "case_manager").language == "en"


def test_htmx_requests_send_the_token_in_a_header(client):
    login(client, "case_manager")
    response = client.post(
        "/account/language",
        data={"language": "de"},
        headers={"X-CSRF-Token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_disabling_an_account_signs_it_out_everywhere(client, app, session):
    with TestClient(app) as victim:
        login(victim, "partner_staff")
        assert victim.get("/account").status_code == 200
        login(client, "partner_admin")
        target = user(session, "partner_staff")
        response = post(client, f"/admin/users/{target.id}/active", {"active": "false"})
        assert response.status_code == 303
        assert victim.get("/account", follow_redirects=False).status_code == 303
        refused = login(victim, "partner_staff")
        assert refused.status_code == 403 and "deaktiviert" in refused.text
    assert {"user.disabled", "login.refused_disabled"} <= set(actions(session))


def new_token(client, role: str, name: str, valid_days: int) -> dict[str, str]:
    """Sign in as ``role``, make an access token on the account page: the header carrying it."""
    login(client, role)
    page = post(client, "/account/tokens", {"token_name": name, "valid_days": str(valid_days)})
    return {"Authorization": "Bearer " + page.text.split('id="new-token">')[1].split("<")[0]}


def test_access_tokens_act_with_their_owners_role_and_expire(client, session):
    bearer = new_token(client, "case_manager", "Fachverfahren", 30)
    secret = bearer["Authorization"].removeprefix("Bearer ")
    with TestClient(client.app) as machine:
        assert machine.get("/api/v1/search?q=Kita", headers=bearer).status_code == 200
        assert machine.get("/admin/users", headers=bearer).status_code == 403
        token = session.exec(select(ApiToken).where(ApiToken.name == "Fachverfahren")).one()
        token.expires_at = utcnow() - timedelta(minutes=1)
        session.add(token)
        session.flush()
        expired = machine.get("/api/v1/search?q=Kita", headers=bearer)
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "not_signed_in"
        assert expired.headers["www-authenticate"] == "Bearer"
    assert session.exec(select(ApiToken)).first().token_hash != secret  # only the hash is stored


def test_revoked_tokens_stop_working(client, session):
    bearer = new_token(client, "admin", "Export", 90)
    with TestClient(client.app) as machine:
        assert machine.get("/admin/users", headers=bearer).status_code == 200
        token = session.exec(select(ApiToken).where(ApiToken.name == "Export")).one()
        assert post(client, f"/account/tokens/{token.id}/revoke").status_code == 303
        assert machine.get("/admin/users", headers=bearer).status_code == 401
    assert {"token.created", "token.revoked"} <= set(actions(session))


def test_password_reset_flow(client, app, session):
    target = user(session, "partner_staff")
    login(client, "partner_admin")
    page = post(client, f"/admin/users/{target.id}/reset-password")
    assert page.status_code == 200 and target.email in page.text
    link = password_link_in_outbox(session, target.email)
    # The person who resets never sees the link's secret.
    assert link.rsplit("/", 1)[1] not in page.text
    path = link.removeprefix(get_settings().base_url.rstrip("/"))
    with TestClient(app) as person:
        assert login(person, "partner_staff").status_code == 401  # the old password is gone
        assert person.get(path).status_code == 200
        weak = post(person, path, {"new_password": "passwort123", "repeat_password": "passwort123"})
        assert weak.status_code == 422 and "zu häufig" in weak.text
        short = post(person, path, {"new_password": "kurz", "repeat_password": "kurz"})
        assert short.status_code == 422 and "10 Zeichen" in short.text
        new = "Sonnenblumen-über-Hagen"
        done = post(person, path, {"new_password": new, "repeat_password": new})
        assert done.status_code == 303 and "reason=password_set" in done.headers["location"]
        assert login(person, "partner_staff", password=new).status_code == 303
        assert person.get("/account").status_code == 200
        # The link works once.
        again = post(person, path, {"new_password": new + "x", "repeat_password": new + "x"})
        assert again.status_code == 410 and "nicht mehr gültig" in again.text
    assert {"user.password_reset", "user.password_set_by_link"} <= set(actions(session))


def test_audit_log_is_append_only(session):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    event = session.exec(select(AuditEvent)).first()
    assert event is not None
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(
            text("UPDATE audit_event SET action = 'x' WHERE id = :id"),
            {"id": event.id.hex if session.bind.dialect.name == "sqlite" else event.id},
        )
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM audit_event"))
