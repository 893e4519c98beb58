"""Single sign-on against a real OpenID provider (tests/oidc/provider.mjs, started on loopback):
login, role and organisation mapping, waiting accounts, refusals, bad tokens, replayed state,
logout at the provider; every outcome in the audit log."""

import hashlib
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import col, select

from directory.seed import stable_id
from lotse import accounts, auth, oidc
from lotse.app import create_app
from lotse.audit import SYSTEM
from lotse.db import get_session
from lotse.models import AuditEvent, AuthSession, OidcLoginState, Role, User
from lotse.settings import get_settings
from lotse.timeutil import utcnow
from tests.accounts import PASSWORDS, csrf_token, login, post
from tests.oidc.harness import PROVIDER_NAME, ProviderBrowser, sso_settings

APP = "http://testserver"
KIM = stable_id("partner_organization", "kim-team")
KOORDINATION = stable_id("partner_organization", "koordination")


@pytest.fixture
def make_app(engine, session, search_engine, oidc_provider):
    def make(**changes):
        settings = get_settings().model_copy(
            update=sso_settings(oidc_provider.issuer, APP, **changes)
        )
        application = create_app(settings, engine=engine)
        application.dependency_overrides[get_session] = lambda: session
        application.state.search_engine = search_engine
        return application

    return make


@pytest.fixture
def sso_client(make_app):
    with TestClient(make_app(), headers={"Accept-Language": "de"}) as client:
        yield client


@pytest.fixture
def browser():
    person = ProviderBrowser(app_base=APP)
    yield person
    person.close()


def start(client: TestClient, next: str = "/") -> str:
    response = client.get("/login/sso", params={"next": next}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def sso_login(client: TestClient, browser: ProviderBrowser, username: str, next: str = "/"):
    """Logs in through the provider's pages; returns Lotse's answer to the callback and its URL."""
    callback = browser.log_in(start(client, next), username)
    assert callback.startswith(f"{APP}/login/sso/callback?"), callback
    return client.get(callback, follow_redirects=False), callback


def account(session, email: str) -> User | None:
    session.expire_all()
    return session.exec(select(User).where(User.email == email)).first()


@pytest.fixture(autouse=True)
def test_started_at():
    return utcnow()


@pytest.fixture
def sso_events(session, test_started_at):
    """This test's single sign-on entries in the audit log, oldest first."""

    def read() -> list[tuple[str, dict]]:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action).startswith("sso."), AuditEvent.at >= test_started_at)
            .order_by(col(AuditEvent.at))
        ).all()
        return [(row.action, json.loads(row.details)) for row in rows]

    return read


def test_the_login_page_offers_the_provider_only_when_configured(client, sso_client, oidc_provider):
    assert "Anmelden mit" not in client.get("/login").text
    page = sso_client.get("/login")
    assert f"Anmelden mit {PROVIDER_NAME}" in page.text
    # Staff passwords are still on: the password form stays.
    assert 'name="password"' in page.text
    # The logout form's redirect to the provider's end-session page must not be blocked.
    assert client.get("/login").headers["content-security-policy"].endswith("form-action 'self'")
    csp = page.headers["content-security-policy"]
    assert csp.endswith(f"form-action 'self' {oidc_provider.issuer}")


def test_login_through_the_provider_creates_the_account_with_role_and_organisation(
    sso_client, browser, session, sso_events
):
    response, _ = sso_login(sso_client, browser, "anna", next="/account")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert "lotse_session=" in response.headers["set-cookie"]
    page = sso_client.get("/account")
    assert page.status_code == 200 and "Anna Schmidt" in page.text
    assert f"Sie melden sich mit {PROVIDER_NAME} an" in page.text
    assert "/account/password" not in page.text

    anna = account(session, "anna.schmidt@stadt.example.org")
    assert anna is not None and anna.oidc_subject == "anna"
    assert anna.organization_id == KIM
    assert auth.roles_of(session=session, user_id=anna.id) == {Role.case_manager}
    # No password works for an account made by single sign-on.
    assert not accounts.verify_password(anna.password_hash, "")
    # The session remembers the ID token, for logging out at the provider.
    stored = session.exec(select(AuthSession).where(AuthSession.user_id == anna.id)).one()
    assert stored.id_token and stored.id_token.count(".") == 2
    events = sso_events()
    assert [action for action, _ in events] == ["sso.account_created", "sso.login_succeeded"]
    assert events[0][1]["roles"] == ["case_manager"]


def test_roles_and_organisation_follow_the_providers_claims_at_every_login(
    make_app, browser, session
):
    with TestClient(make_app(), headers={"Accept-Language": "de"}) as client:
        assert sso_login(client, browser, "chris")[0].status_code == 303
    chris = account(session, "chris.weber@stadt.example.org")
    assert chris is not None and chris.display_name == "Chris Weber"
    assert chris.organization_id == KOORDINATION  # mapped by the organisation's name
    assert auth.roles_of(session=session, user_id=chris.id) == {Role.coordinator}
    # Someone gives Chris the admin role in Lotse; the provider says coordinator, and wins.
    accounts.set_roles(session=session, user=chris, roles=frozenset({Role.admin}), actor=SYSTEM)
    with TestClient(make_app(), headers={"Accept-Language": "de"}) as client:
        assert sso_login(client, browser, "chris")[0].status_code == 303
    assert auth.roles_of(session=session, user_id=chris.id) == {Role.coordinator}
    changed = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "user.roles_changed", AuditEvent.object_id == str(chris.id)
        )
    ).all()
    assert json.loads(changed[-1].details) == {"after": ["coordinator"], "before": ["admin"]}


def test_an_existing_account_is_linked_by_its_verified_email_address(
    sso_client, browser, session, sso_events
):
    response, _ = sso_login(sso_client, browser, "mira")
    assert response.status_code == 303
    mira = account(session, PASSWORDS["case_manager"][0])
    assert mira is not None and mira.oidc_subject == "mira"
    assert mira.display_name == "Mira Demir (Demo)"  # the account is the same, not a new one
    assert [action for action, _ in sso_events()] == [
        "sso.account_linked",
        "sso.login_succeeded",
    ]


def test_an_unverified_address_does_not_take_over_an_existing_account(
    sso_client, browser, session, sso_events
):
    response, _ = sso_login(sso_client, browser, "eve")
    assert response.status_code == 409
    assert "nicht bestätigt" in response.text
    assert "lotse_session=" not in response.headers.get("set-cookie", "")
    partner = account(session, PASSWORDS["partner_staff"][0])
    assert partner is not None and partner.oidc_subject is None
    assert sso_events()[-1] == (
        "sso.login_failed",
        {"provider": PROVIDER_NAME, "reason": "email_not_verified"},
    )


def test_without_a_mapped_role_nobody_gets_in_and_no_account_is_made(
    sso_client, browser, session, sso_events
):
    response, _ = sso_login(sso_client, browser, "nora")
    assert response.status_code == 403
    assert "keinen Zugang zu Lotse" in response.text
    assert account(session, "nora.new@stadt.example.org") is None
    assert sso_events()[-1][1]["reason"] == "no_role"


def test_in_admin_mode_a_new_account_waits_until_an_admin_gives_it_a_role(
    make_app, browser, session, sso_events
):
    app = make_app(oidc_role_assignment="admin")
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        response, _ = sso_login(client, browser, "nora")
        assert response.status_code == 403
        assert "noch keine Rolle" in response.text
        assert "lotse_session=" not in response.headers.get("set-cookie", "")
    nora = account(session, "nora.new@stadt.example.org")
    assert nora is not None and nora.organization_id == KIM  # the default organisation
    assert auth.roles_of(session=session, user_id=nora.id) == frozenset()
    assert [action for action, _ in sso_events()] == [
        "sso.account_created",
        "sso.login_failed",
    ]

    with TestClient(app, headers={"Accept-Language": "de"}) as admin:
        login(admin, "admin")
        listing = admin.get("/admin/users")
        assert "nora.new@stadt.example.org" in listing.text
        assert "wartet auf eine Rolle" in listing.text
        saved = post(
            admin,
            f"/admin/users/{nora.id}",
            {"display_name": "Nora Neu", "roles": ["partner_staff"]},
        )
        assert saved.status_code == 303

    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        response, _ = sso_login(client, browser, "nora")
        assert response.status_code == 303
        assert client.get("/account").status_code == 200
    # The provider's groups do not take the admin's choice away in this mode.
    assert auth.roles_of(session=session, user_id=nora.id) == {Role.partner_staff}


def test_a_disabled_account_cannot_log_in_through_the_provider(
    make_app, browser, session, sso_events
):
    app = make_app()
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        assert sso_login(client, browser, "anna")[0].status_code == 303
    anna = account(session, "anna.schmidt@stadt.example.org")
    assert anna is not None
    accounts.set_active(session=session, user=anna, active=False, actor=SYSTEM)
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        response, _ = sso_login(client, browser, "anna")
        assert response.status_code == 403
        assert "Dieses Konto ist deaktiviert" in response.text
        assert client.get("/account", follow_redirects=False).status_code == 303
    assert sso_events()[-1] == (
        "sso.login_failed",
        {"provider": PROVIDER_NAME, "reason": "account_disabled"},
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("tamper", "signature"),
        ("foreign_key", "signature"),
        ("expired", "expired"),
        ("wrong_issuer", "issuer"),
        ("wrong_audience", "audience"),
        ("wrong_nonce", "nonce"),
    ],
)
def test_an_id_token_that_fails_a_check_logs_nobody_in(
    sso_client, browser, session, oidc_provider, mode, reason, sso_events
):
    oidc_provider.next_id_token(mode)
    response, _ = sso_login(sso_client, browser, "anna")
    assert response.status_code == 403
    assert "konnte nicht geprüft werden" in response.text
    assert "lotse_session=" not in response.headers.get("set-cookie", "")
    assert account(session, "anna.schmidt@stadt.example.org") is None
    assert sso_events() == [("sso.login_failed", {"provider": PROVIDER_NAME, "reason": reason})]


def test_a_state_is_used_once_and_only_by_the_browser_that_started_the_login(
    make_app, browser, session, sso_events
):
    app = make_app()
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        response, callback = sso_login(client, browser, "anna")
        assert response.status_code == 303
        replay = client.get(callback, follow_redirects=False)
    assert replay.status_code == 400
    assert "abgelaufen oder wurde schon verwendet" in replay.text
    assert sso_events()[-1][1]["reason"] == "state"

    # A callback made for one browser, opened in another (login CSRF), is refused too.
    with TestClient(app, headers={"Accept-Language": "de"}) as victim:
        with TestClient(app, headers={"Accept-Language": "de"}) as attacker:
            callback = browser.log_in(start(attacker), "anna")
        refused = victim.get(callback, follow_redirects=False)
        assert refused.status_code == 400
        assert victim.get("/account", follow_redirects=False).status_code == 303


def test_a_login_left_unfinished_for_too_long_must_be_started_again(
    sso_client, browser, session, sso_events
):
    callback = browser.log_in(start(sso_client), "anna")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    key = hashlib.sha256(state.encode()).hexdigest()  # only a hash of the state is stored
    waiting = session.get(OidcLoginState, key)
    assert waiting is not None
    waiting.created_at = utcnow() - oidc.LOGIN_STATE_LIFETIME - timedelta(seconds=1)
    session.add(waiting)
    session.flush()
    response = sso_client.get(callback, follow_redirects=False)
    assert response.status_code == 400
    assert "abgelaufen" in response.text
    assert sso_events()[-1][1]["reason"] == "state"
    session.expire_all()
    assert session.get(OidcLoginState, key) is None


def test_a_refusal_at_the_provider_is_explained(sso_client, session, sso_events):
    authorization = start(sso_client)
    state = parse_qs(urlsplit(authorization).query)["state"][0]
    response = sso_client.get(
        "/login/sso/callback",
        params={"state": state, "error": "access_denied"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert f"{PROVIDER_NAME} hat Ihre Anmeldung nicht bestätigt" in response.text
    assert sso_events()[-1][1]["reason"] == "provider_error"


def test_a_refused_code_exchange_is_explained(make_app, browser, session, sso_events):
    # A wrong client secret: the provider refuses to exchange the code for tokens.
    app = make_app(oidc_client_secret=SecretStr("not-the-registered-secret"))
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        response, _ = sso_login(client, browser, "anna")
    assert response.status_code == 403
    assert f"{PROVIDER_NAME} hat Ihre Anmeldung nicht bestätigt" in response.text
    assert sso_events()[-1][1]["reason"] == "token_request"
    assert account(session, "anna.schmidt@stadt.example.org") is None


def test_logout_ends_the_lotse_session_and_the_providers(
    sso_client, browser, session, oidc_provider
):
    assert sso_login(sso_client, browser, "anna")[0].status_code == 303
    response = post(sso_client, "/logout")
    assert response.status_code == 303
    end_session = response.headers["location"]
    assert end_session.startswith(f"{oidc_provider.issuer}/session/end?")
    query = parse_qs(urlsplit(end_session).query)
    assert query["post_logout_redirect_uri"] == [f"{APP}/login?reason=logged_out"]
    assert query["id_token_hint"][0].count(".") == 2
    # Lotse's session is over before the provider is even asked.
    assert sso_client.get("/account", follow_redirects=False).status_code == 303

    back = browser.confirm_logout(end_session)
    assert back == f"{APP}/login?reason=logged_out"
    # The provider forgot the person too: the next login asks for the password again.
    assert not browser.follow_until_app(start(sso_client)).startswith(APP)
    assert 'name="password"' in browser.last_page


def test_a_password_logout_does_not_visit_the_provider(sso_client):
    assert login(sso_client, "case_manager").status_code == 303
    response = post(sso_client, "/logout")
    assert response.headers["location"] == "/login?reason=logged_out"


def test_passwords_can_be_switched_off_for_staff_but_not_for_administrators(make_app, session):
    app = make_app(oidc_password_login_for_staff=False)
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        page = client.get("/login")
        assert "Administratoren: mit Passwort anmelden" in page.text
        refused = login(client, "case_manager")
        assert refused.status_code == 403
        assert f"Bitte melden Sie sich mit {PROVIDER_NAME} an" in refused.text
        assert "lotse_session=" not in refused.headers.get("set-cookie", "")
        assert login(client, "admin").status_code == 303
    refusal = session.exec(
        select(AuditEvent).where(AuditEvent.action == "login.refused_password_off")
    ).one()
    assert refusal.actor_email == PASSWORDS["case_manager"][0]


def test_an_unreachable_provider_gets_a_clear_page_not_an_error(
    engine, session, search_engine, oidc_provider, sso_events
):
    settings = get_settings().model_copy(
        update=sso_settings("http://127.0.0.1:9", APP, oidc_timeout_seconds=2)
    )
    app = create_app(settings, engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    app.state.search_engine = search_engine
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        response = client.get("/login/sso", follow_redirects=False)
        assert response.status_code == 502
        assert f"{PROVIDER_NAME} ist gerade nicht erreichbar" in response.text
        # Logging out of a password session works whatever the provider's state.
        assert login(client, "case_manager").status_code == 303
        assert post(client, "/logout").headers["location"] == "/login?reason=logged_out"
    assert sso_events()[-1][1]["reason"] == "provider_unreachable"


def test_without_configuration_the_sso_routes_do_not_exist(client):
    response = client.get("/login/sso", follow_redirects=False)
    assert response.status_code == 404
    assert client.get("/login/sso/callback?state=x&code=y").status_code == 404
    assert csrf_token(client)
