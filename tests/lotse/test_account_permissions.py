"""The account permission matrix: every account action × every actor role × every target role.

Who may act on whose account is written out here by hand from the rule in docs/security.md
("Accounts and login"), not derived from the code: admins every other account; coordinators
only accounts with no rights beyond their own (other coordinators); partner administrators
their own organisation's partner staff and partner administrators; nobody else any. The data
protection officer reads every client's data through access exports, so only admins manage that
account, and the officer manages none. Each forbidden action must leave the account exactly as
it was: name, roles, status, password, sessions, tokens, reset links and emails.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from directory.seed import stable_id
from lotse import auth
from lotse.models import ApiToken, AuthSession, PasswordReset, Role, User, UserRole
from lotse.outbox import OutboxMessage
from lotse.passwords import hash_password
from tests.accounts import ROLES, csrf_token, login, post

CITY = stable_id("partner_organization", "kim-team")
COORDINATION = stable_id("partner_organization", "koordination")
VOLMETAL = stable_id("partner_organization", "volmetal")  # the demo partner admin's
WOHNRAUMHILFE = stable_id("partner_organization", "wohnraumhilfe")
DATENSCHUTZ = stable_id("partner_organization", "datenschutz")

# target name → (role, organisation)
TARGETS: dict[str, tuple[Role, object]] = {
    "admin": (Role.admin, COORDINATION),
    "coordinator": (Role.coordinator, COORDINATION),
    "case_manager": (Role.case_manager, CITY),
    "partner_staff": (Role.partner_staff, VOLMETAL),
    "partner_admin": (Role.partner_admin, VOLMETAL),
    "other_partner_staff": (Role.partner_staff, WOHNRAUMHILFE),
    "privacy_officer": (Role.privacy_officer, DATENSCHUTZ),
}
MANAGES: dict[str, set[str]] = {
    "anonymous": set(),
    "case_manager": set(),
    "partner_staff": set(),
    "partner_admin": {"partner_staff", "partner_admin"},
    "coordinator": {"coordinator"},
    "admin": set(TARGETS),
    "privacy_officer": set(),
}
ACTIONS = ("edit", "change_roles", "disable", "enable", "reset_password", "create")
_HASH = hash_password("Matrix-Passwort-2026")


@dataclass
class Target:
    user: User
    session_token: str
    api_token: str


def make_target(session: Session, name: str, *, active: bool = True) -> Target:
    role, organization_id = TARGETS[name]
    user = User(
        email=f"matrix-{name.replace('_', '-')}@demo.lotse.example.org",
        display_name=f"Matrix {name}",
        organization_id=organization_id,
        password_hash=_HASH,
        is_active=active,
    )
    session.add(user)
    session.flush()
    session.add(UserRole(user_id=user.id, role=role))
    session_token = auth.start_session(session=session, user=user, ip_address=None, user_agent=None)
    _, api_token = auth.create_token(session=session, user=user, name="Matrix", valid_days=30)
    session.flush()
    return Target(user=user, session_token=session_token, api_token=api_token)


def snapshot(session: Session, user: User) -> dict[str, object]:
    """Everything an account action could change, read fresh from the database."""
    session.expire_all()
    row = session.get_one(User, user.id)

    def count(model, *where) -> int:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()

    return {
        "display_name": row.display_name,
        "is_active": row.is_active,
        "password_hash": row.password_hash,
        "must_change_password": row.must_change_password,
        "organization_id": row.organization_id,
        "roles": auth.roles_of(session=session, user_id=user.id),
        "live_sessions": count(
            AuthSession, AuthSession.user_id == user.id, col(AuthSession.revoked_at).is_(None)
        ),
        "live_tokens": count(
            ApiToken, ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None)
        ),
        "reset_links": count(PasswordReset, PasswordReset.user_id == user.id),
        "emails": count(OutboxMessage, OutboxMessage.recipient == user.email),
    }


# The roles a "change roles" action gives each target instead of its own.
NEW_ROLES: dict[str, Role] = {
    "admin": Role.coordinator,
    "coordinator": Role.admin,
    "case_manager": Role.coordinator,
    "partner_staff": Role.partner_admin,
    "partner_admin": Role.partner_staff,
    "other_partner_staff": Role.partner_admin,
    "privacy_officer": Role.coordinator,
}


def expected_allowed(actor: str, action: str) -> set[str]:
    if action == "change_roles" and actor == "coordinator":
        # A coordinator may act on a coordinator, but gives no role beyond their own.
        return set()
    return MANAGES[actor]


def act(client: TestClient, action: str, name: str, target: Target):
    token = csrf_token(client)
    url = f"/admin/users/{target.user.id}"
    post = client.post
    if action == "edit":
        roles = [TARGETS[name][0].value]
        data = {"display_name": "Übernommen", "roles": roles}
        return post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    if action == "change_roles":
        data = {"display_name": target.user.display_name, "roles": [NEW_ROLES[name].value]}
        return post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    if action in ("disable", "enable"):
        active = "true" if action == "enable" else "false"
        return post(
            f"{url}/active", data={"csrf_token": token, "active": active}, follow_redirects=False
        )
    if action == "reset_password":
        return post(f"{url}/reset-password", data={"csrf_token": token}, follow_redirects=False)
    role, organization_id = TARGETS[name]
    return post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": f"matrix-new-{name.replace('_', '-')}@demo.lotse.example.org",
            "display_name": "Neues Konto",
            "organization_id": str(organization_id),
            "roles": [role.value],
        },
        follow_redirects=False,
    )


def changed_as_allowed(session: Session, action: str, name: str, target: Target, before, after):
    if action == "edit":
        return after["display_name"] == "Übernommen"
    if action == "change_roles":
        return after["roles"] == frozenset({NEW_ROLES[name]})
    if action == "disable":
        return after["is_active"] is False and after["live_sessions"] == 0
    if action == "enable":
        return after["is_active"] is True
    if action == "reset_password":
        return (
            after["password_hash"] != before["password_hash"]
            and after["live_sessions"] == 0
            and after["live_tokens"] == 0
            and after["reset_links"] == before["reset_links"] + 1
            and after["emails"] == before["emails"] + 1
        )
    raise AssertionError(action)


def created(session: Session, name: str) -> bool:
    role, organization_id = TARGETS[name]
    email = f"matrix-new-{name.replace('_', '-')}@demo.lotse.example.org"
    user = session.exec(select(User).where(User.email == email)).first()
    return (
        user is not None
        and user.organization_id == organization_id
        and role in auth.roles_of(session=session, user_id=user.id)
    )


def refused(response) -> bool:
    """Forbidden, hidden, sent to the login, or the form's own refusal of the roles."""
    if response.status_code == 303:
        return "/login" in response.headers["location"]
    return response.status_code in (401, 403, 404, 422)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("actor", ROLES)
def test_account_permission_matrix(app, session, actor, action):
    targets = {name: make_target(session, name, active=action != "enable") for name in TARGETS}
    session.commit()
    problems = []
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        if actor != "anonymous":
            assert login(client, actor).status_code == 303
        for name, target in targets.items():
            allowed = name in expected_allowed(actor, action)
            before = snapshot(session, target.user)
            response = act(client, action, name, target)
            assert response.status_code < 500, f"{actor} {action} {name}: {response.status_code}"
            after = snapshot(session, target.user)
            if action == "create":
                if created(session, name) != allowed:
                    problems.append(f"create {name}: expected allowed={allowed}")
                if not allowed:
                    assert refused(response) or response.status_code == 200, response.status_code
                continue
            if allowed:
                if not changed_as_allowed(session, action, name, target, before, after):
                    problems.append(
                        f"{action} {name}: allowed but not done ({response.status_code})"
                    )
            else:
                if not refused(response):
                    problems.append(f"{action} {name}: not refused ({response.status_code})")
                if after != before:
                    problems.append(f"{action} {name}: forbidden but changed {before} → {after}")
            # Whoever resets never sees a secret, whatever their role.
            assert "/account/reset/" not in response.text
    assert not problems, f"{actor}:\n" + "\n".join(problems)


@pytest.mark.parametrize("actor", ["partner_admin", "coordinator", "admin"])
def test_the_account_page_offers_actions_only_where_they_are_allowed(app, session, actor):
    targets = {name: make_target(session, name) for name in TARGETS}
    session.commit()
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        login(client, actor)
        for name, target in targets.items():
            page = client.get(f"/admin/users/{target.user.id}")
            if name in MANAGES[actor]:
                assert page.status_code == 200 and "reset-password" in page.text, name
            else:
                assert page.status_code == 404 or (
                    'id="read-only"' in page.text and "reset-password" not in page.text
                ), name


def test_nobody_manages_their_own_account_through_the_admin_pages(client, session):
    admin = session.exec(select(User).where(User.email == "admin@demo.lotse.example.org")).one()
    login(client, "admin")
    before = snapshot(session, admin)
    token = csrf_token(client)
    for path, data in (
        (f"/admin/users/{admin.id}", {"display_name": "Ich", "roles": ["admin", "case_manager"]}),
        (f"/admin/users/{admin.id}/active", {"active": "false"}),
        (f"/admin/users/{admin.id}/reset-password", {}),
    ):
        response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code in (403, 422), path
    after = snapshot(session, admin)
    assert {k: v for k, v in after.items() if k != "live_sessions"} == {
        k: v for k, v in before.items() if k != "live_sessions"
    }


def test_a_coordinator_cannot_take_over_the_admin(client, app, session):
    """The reported attack: reset the admin's password, log in as admin, read the settings."""
    admin = session.exec(select(User).where(User.email == "admin@demo.lotse.example.org")).one()
    login(client, "coordinator")
    response = client.post(
        f"/admin/users/{admin.id}/reset-password",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert 'id="one-time-password"' not in response.text
    with TestClient(app) as other:
        assert login(other, "admin").status_code == 303  # the admin's password still works
    assert (
        session.exec(select(PasswordReset).where(PasswordReset.user_id == admin.id)).first() is None
    )


@pytest.mark.parametrize(
    ("actor", "target"), [("partner_admin", "partner_staff"), ("coordinator", "coordinator")]
)
def test_a_role_given_counts_as_the_accounts_own(client, session, actor, target):
    """A partner admin cannot turn a colleague into a case manager, nor a coordinator give a
    coordinator colleague the case manager's access to client data."""
    own_role = TARGETS[target][0]
    colleague = make_target(session, target)
    session.commit()
    login(client, actor)
    response = post(
        client,
        f"/admin/users/{colleague.user.id}",
        {"display_name": "Kollegin", "roles": [own_role.value, Role.case_manager.value]},
    )
    assert response.status_code == 422
    assert auth.roles_of(session=session, user_id=colleague.user.id) == {own_role}


def test_unused_reset_links_expire(client, session):
    target = make_target(session, "partner_staff")
    session.commit()
    login(client, "partner_admin")
    client.post(
        f"/admin/users/{target.user.id}/reset-password", data={"csrf_token": csrf_token(client)}
    )
    from tests.accounts import password_link_in_outbox

    link = password_link_in_outbox(session, target.user.email)
    secret = link.rsplit("/", 1)[1]
    row = session.exec(select(PasswordReset).where(PasswordReset.user_id == target.user.id)).one()
    assert secret not in row.token_hash  # only a hash of the secret is stored
    row.expires_at = row.created_at + timedelta(seconds=-1)
    session.add(row)
    session.commit()
    with TestClient(client.app, headers={"Accept-Language": "en"}) as person:
        page = person.get(f"/account/reset/{secret}")
        assert page.status_code == 410 and "no longer valid" in page.text


def test_only_admins_are_offered_the_data_protection_officers_role(app):
    for actor, offered in (("admin", True), ("coordinator", False), ("partner_admin", False)):
        with TestClient(app, headers={"Accept-Language": "en"}) as client:
            login(client, actor)
            form = client.get("/admin/users/new")
            assert form.status_code == 200
            assert ('value="privacy_officer"' in form.text) is offered, actor
            assert ("Data protection officer" in form.text) is offered, actor
