"""The permission matrix: every route of the app, as anonymous and as each role.

The routes come from the app's route table, so a route added without an entry in EXPECTED
fails ``test_every_route_has_a_decision``. The expectations are DESIGN.md's table, written
out by hand (not derived from the rules the code declares), so the test checks the code
against the specification.
"""

import uuid

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import select

from directory.seed import stable_id
from lotse.models import User
from lotse.permissions import Access
from tests import demo
from tests.accounts import PASSWORDS, ROLES, csrf_token, login

OK, LOGIN, DENIED, HIDDEN = "ok", "login", "denied", "hidden"

EVERYONE = dict.fromkeys(ROLES, OK)
SIGNED_IN = {**dict.fromkeys(ROLES, OK), "anonymous": LOGIN}


def only(*roles: str) -> dict[str, str]:
    return {
        role: OK if role in roles else (LOGIN if role == "anonymous" else DENIED) for role in ROLES
    }


COORDINATION = only("coordinator", "admin")
ACCOUNT_MANAGERS = only("partner_admin", "coordinator", "admin")
CASE_MANAGERS = only("case_manager")
PARTNERS = only("partner_staff", "partner_admin")
REFERRAL_PARTIES = only("case_manager", "partner_staff", "partner_admin")

# (method, path) → expected outcome per role. The FastAPI documentation routes are public.
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/openapi.json"): EVERYONE,
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    # Only with the metrics token or from the metrics networks, whatever the role.
    ("GET", "/metrics"): dict.fromkeys(ROLES, HIDDEN),
    ("GET", "/language"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    # Single sign-on is public, and answers 404 while no provider is configured, as here
    # (tests/lotse/test_oidc.py covers it configured).
    ("GET", "/login/sso"): dict.fromkeys(ROLES, HIDDEN),
    ("GET", "/login/sso/callback"): dict.fromkeys(ROLES, HIDDEN),
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/account"): SIGNED_IN,
    ("GET", "/account/password"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("POST", "/account/language"): SIGNED_IN,
    ("POST", "/account/tokens"): SIGNED_IN,
    ("POST", "/account/tokens/{token_id}/revoke"): SIGNED_IN,
    # A one-time password link: the secret in the path is the only key (a random one here).
    ("GET", "/account/reset/{secret}"): EVERYONE,
    ("POST", "/account/reset/{secret}"): EVERYONE,
    # The public directory (public access is on in the demo).
    ("GET", "/"): EVERYONE,
    ("GET", "/services"): EVERYONE,
    ("GET", "/services/{service_id}"): EVERYONE,
    ("GET", "/organizations/{organization_id}"): EVERYONE,
    ("GET", "/api/v1/services"): EVERYONE,
    ("GET", "/api/v1/services/{service_id}"): EVERYONE,
    ("GET", "/api/v1/taxonomy"): EVERYONE,
    ("GET", "/api/v1/organizations/{organization_id}"): EVERYONE,
    ("GET", "/api/v1/search"): EVERYONE,
    # The HSDS 3.0 read API, open like the public directory.
    ("GET", "/hsds/"): EVERYONE,
    ("GET", "/hsds/services"): EVERYONE,
    ("GET", "/hsds/services/{service_id}"): EVERYONE,
    ("GET", "/hsds/organizations"): EVERYONE,
    ("GET", "/hsds/organizations/{organization_id}"): EVERYONE,
    ("GET", "/hsds/taxonomies"): EVERYONE,
    ("GET", "/hsds/taxonomy_terms"): EVERYONE,
    ("GET", "/hsds/service_at_locations"): EVERYONE,
    ("GET", "/services/{service_id}/handout"): EVERYONE,
    ("GET", "/referrals/{referral_id}/handout"): CASE_MANAGERS,
    # Gap reports: everyone signed in, each scoped to their own figures in the queries.
    ("GET", "/reports"): SIGNED_IN,
    ("GET", "/reports/{report}"): SIGNED_IN,
    ("GET", "/reports/{report}.csv"): SIGNED_IN,
    # Users and partners: coordinators and admins; partner admins their own staff only.
    ("GET", "/admin/organizations"): COORDINATION,
    ("GET", "/admin/organizations/new"): COORDINATION,
    ("POST", "/admin/organizations/new"): COORDINATION,
    ("GET", "/admin/organizations/{partner_id}"): COORDINATION,
    ("POST", "/admin/organizations/{partner_id}"): COORDINATION,
    ("POST", "/admin/organizations/{partner_id}/active"): COORDINATION,
    ("GET", "/admin/users"): ACCOUNT_MANAGERS,
    ("GET", "/admin/users/new"): ACCOUNT_MANAGERS,
    ("POST", "/admin/users/new"): ACCOUNT_MANAGERS,
    ("GET", "/admin/users/{user_id}"): ACCOUNT_MANAGERS,
    # Acting on the sample account, a partner's staff member: their partner admin and admins,
    # not coordinators, who read no referrals (every action by every role on every kind of
    # account: tests/lotse/test_account_permissions.py).
    ("POST", "/admin/users/{user_id}"): only("partner_admin", "admin"),
    ("POST", "/admin/users/{user_id}/active"): only("partner_admin", "admin"),
    ("POST", "/admin/users/{user_id}/reset-password"): only("partner_admin", "admin"),
    # Audit log: admins everything, coordinators the directory part.
    ("GET", "/admin/audit"): COORDINATION,
    ("GET", "/admin/audit.csv"): COORDINATION,
    # Clients, consents and referring: case managers only (their own caseload).
    ("GET", "/clients"): CASE_MANAGERS,
    ("POST", "/clients"): CASE_MANAGERS,
    ("GET", "/clients/{client_id}"): CASE_MANAGERS,
    ("POST", "/clients/{client_id}/consents"): CASE_MANAGERS,
    ("POST", "/clients/{client_id}/consents/{consent_id}/withdraw"): CASE_MANAGERS,
    ("GET", "/clients/{client_id}/consents/{consent_id}/print"): CASE_MANAGERS,
    ("GET", "/services/{service_id}/refer"): CASE_MANAGERS,
    ("POST", "/services/{service_id}/refer"): CASE_MANAGERS,
    ("GET", "/referrals"): CASE_MANAGERS,
    ("POST", "/referrals/{referral_id}/draft"): CASE_MANAGERS,
    ("GET", "/referrals/{referral_id}/refer-elsewhere"): CASE_MANAGERS,
    # The receiving side: partner staff of the addressed organisation.
    ("GET", "/inbox"): PARTNERS,
    ("POST", "/inbox/capacity"): PARTNERS,
    ("POST", "/referrals/{referral_id}/appointment"): PARTNERS,
    # Both sides of a referral; coordinators and admins never see referral content.
    ("GET", "/referrals/{referral_id}"): REFERRAL_PARTIES,
    ("POST", "/referrals/{referral_id}/transition"): REFERRAL_PARTIES,
    ("POST", "/referrals/{referral_id}/messages"): REFERRAL_PARTIES,
    ("POST", "/admin/referrals/entered-in-error"): only("admin"),
    ("GET", "/api/v1/referrals"): REFERRAL_PARTIES,
    ("GET", "/api/v1/referrals/{referral_id}"): REFERRAL_PARTIES,
    ("POST", "/api/v1/referrals/{referral_id}/transition"): REFERRAL_PARTIES,
    ("POST", "/api/v1/referrals/{referral_id}/messages"): REFERRAL_PARTIES,
    # Keeping the directory true: stale listings and duplicates are the coordinators'. A
    # partner confirms only its own organisation's listings; the sample (the KIM listing)
    # belongs to none of the demo partners (tests/directory/upkeep/test_verification.py covers own).
    ("GET", "/maintenance/stale"): COORDINATION,
    ("GET", "/maintenance/own"): PARTNERS,
    ("GET", "/maintenance/organizations/{organization_id}"): COORDINATION,
    ("POST", "/maintenance/services/{service_id}/verify"): COORDINATION,
    ("GET", "/maintenance/duplicates"): COORDINATION,
    ("GET", "/maintenance/duplicates/compare"): COORDINATION,
    ("POST", "/maintenance/duplicates/merge"): COORDINATION,
    # Coordinators edit the directory and review suggestions; case managers suggest changes
    # to any listing, partners only to their own (the sample, the KIM listing, is none of
    # theirs: tests/directory/upkeep/test_suggestions.py covers their own listings).
    ("GET", "/editor"): COORDINATION,
    ("GET", "/editor/review"): COORDINATION,
    ("GET", "/editor/review/count"): COORDINATION,
    ("GET", "/editor/review/{suggestion_id}"): COORDINATION,
    ("POST", "/editor/review/{suggestion_id}/approve"): COORDINATION,
    ("POST", "/editor/review/{suggestion_id}/reject"): COORDINATION,
    ("GET", "/editor/{kind}/new"): COORDINATION,
    ("POST", "/editor/{kind}/new"): COORDINATION,
    ("GET", "/editor/{kind}/{listing_id}"): COORDINATION,
    ("POST", "/editor/{kind}/{listing_id}"): COORDINATION,
    ("POST", "/editor/{kind}/{listing_id}/archive"): COORDINATION,
    ("POST", "/editor/{kind}/{listing_id}/restore"): COORDINATION,
    ("GET", "/editor/{kind}/{listing_id}/history"): COORDINATION,
    ("GET", "/editor/{kind}/{listing_id}/translations"): COORDINATION,
    ("POST", "/editor/{kind}/{listing_id}/translations"): COORDINATION,
    ("GET", "/suggestions"): only("case_manager", "partner_staff", "partner_admin"),
    ("GET", "/suggestions/{kind}/{listing_id}"): {
        **only("case_manager", "partner_staff", "partner_admin"),
        "partner_staff": HIDDEN,
        "partner_admin": HIDDEN,
    },
    ("POST", "/suggestions/{kind}/{listing_id}"): {
        **only("case_manager", "partner_staff", "partner_admin"),
        "partner_staff": HIDDEN,
        "partner_admin": HIDDEN,
    },
    # Open formats: HSDS export and import for coordinators.
    ("GET", "/open-formats"): COORDINATION,
    ("GET", "/open-formats/hsds.json"): COORDINATION,
    ("GET", "/open-formats/hsds-csv.zip"): COORDINATION,
    ("POST", "/open-formats/upload"): COORDINATION,
    ("GET", "/open-formats/uploads/{token}"): COORDINATION,
    ("POST", "/open-formats/uploads/{token}/apply"): COORDINATION,
    ("POST", "/open-formats/uploads/{token}/discard"): COORDINATION,
    ("GET", "/open-formats/jobs/{job_id}"): COORDINATION,
    ("GET", "/open-formats/jobs/{job_id}/progress"): COORDINATION,
    # Findings: case managers and partners record and see their own (and partners those
    # forwarded to them); coordinators and admins work the board. A random sample finding is
    # hidden from everyone (tests/findings/test_permissions.py covers real ones).
    ("GET", "/findings"): REFERRAL_PARTIES,
    ("GET", "/findings/new"): REFERRAL_PARTIES,
    ("POST", "/findings/new"): REFERRAL_PARTIES,
    ("GET", "/findings/board"): COORDINATION,
    ("GET", "/findings/{finding_id}"): SIGNED_IN,
    ("POST", "/findings/{finding_id}/transition"): SIGNED_IN,
    ("GET", "/api/v1/findings"): SIGNED_IN,
    ("POST", "/api/v1/findings"): REFERRAL_PARTIES,
    ("GET", "/api/v1/findings/{finding_id}"): SIGNED_IN,
    ("POST", "/api/v1/findings/{finding_id}/transition"): SIGNED_IN,
    # Installation settings: admins only.
    ("GET", "/admin/settings"): only("admin"),
    ("POST", "/admin/settings"): only("admin"),
}
NOT_ROUTES = {"/static"}


def route_table(app) -> list[tuple[str, str, object]]:
    routes = []
    for context in iter_route_contexts(app.routes):
        if context.path in NOT_ROUTES:
            continue
        for method in sorted((context.methods or set()) - {"HEAD"}):
            routes.append((method, context.path, context.route))
    return routes


def access_rules(route) -> list[Access]:
    dependant = getattr(route, "dependant", None)
    rules, stack = [], list(dependant.dependencies) if dependant else []
    while stack:
        dependency = stack.pop()
        if isinstance(dependency.call, Access):
            rules.append(dependency.call)
        stack.extend(dependency.dependencies)
    return rules


def test_every_route_has_a_decision(app):
    routes = route_table(app)
    undecided = [(m, p) for m, p, _ in routes if (m, p) not in EXPECTED]
    assert not undecided, f"routes without an expected permission: {undecided}"
    stale = set(EXPECTED) - {(m, p) for m, p, _ in routes}
    assert not stale, f"expectations for routes that no longer exist: {stale}"


def test_every_app_route_declares_one_access_rule(app):
    for method, path, route in route_table(app):
        if path.startswith(("/api/docs", "/api/openapi", "/docs/")):
            continue
        if path == "/metrics":
            continue  # its own check: the monitoring's token or network, whoever is signed in
        rules = access_rules(route)
        assert len(rules) >= 1, f"{method} {path} has no Access rule"
        kinds = {rule.kind for rule in rules}
        assert len(kinds) == 1, f"{method} {path} has conflicting rules {rules}"


def path_values(session) -> dict[str, str]:
    colleague = session.exec(select(User).where(User.email == PASSWORDS["partner_staff"][0])).one()
    return {
        "service_id": str(demo.kim(session).id),
        "organization_id": str(demo.kim(session).organization_id),
        "partner_id": str(stable_id("partner_organization", "volmetal")),
        # A colleague of the partner admin, so that "own staff" is in scope for them.
        "user_id": str(colleague.id),
        "token_id": str(uuid.uuid4()),
        "secret": "x" * 43,
        "client_id": str(uuid.uuid4()),
        "consent_id": str(uuid.uuid4()),
        "referral_id": str(uuid.uuid4()),
        "report": "needs",
        "kind": "service",
        "listing_id": str(demo.kim(session).id),
        "suggestion_id": str(uuid.uuid4()),
        "token": "x" * 32,
        "job_id": str(uuid.uuid4()),
        "finding_id": str(uuid.uuid4()),
    }


def error_code(response) -> str | None:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return body.get("error", {}).get("code") if isinstance(body, dict) else None
    marker = 'data-error-code="'
    if marker in response.text:
        return response.text.split(marker, 1)[1].split('"', 1)[0]
    return None


def outcome(response, *, path: str) -> str:
    status, code = response.status_code, error_code(response)
    if path == "/login" and status == 401:
        return OK  # the login form's own answer to wrong credentials
    if status == 303 and "/login" in response.headers.get("location", ""):
        return LOGIN
    if status == 401:
        return LOGIN
    if status == 403 and code != "csrf_failed":
        return DENIED
    if status == 404:
        return HIDDEN
    if path == "/readyz" and status == 503:
        return OK  # "not ready yet" (the index is being built) is an answer to everyone
    assert status < 500, f"{path} answered {status}"
    return OK


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(app, session, role):
    values = path_values(session)
    problems = []
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        if role != "anonymous":
            assert login(client, role).status_code == 303
        token = csrf_token(client)
        for method, path, _ in route_table(app):
            expected = EXPECTED[(method, path)][role]
            url = path.format(**values)
            if path == "/logout":
                continue  # logging out would end the session for the routes after it
            if method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
            got = outcome(response, path=path)
            if got == HIDDEN and expected == OK and "{" in path:
                got = OK  # allowed, but the sample object (e.g. a random token id) is not there
            if got != expected:
                problems.append(
                    f"{method} {path}: expected {expected}, got {got} ({response.status_code})"
                )
    assert not problems, f"{role}:\n" + "\n".join(problems)


def test_partner_admins_do_not_see_other_organisations_accounts(client, session):
    other = session.exec(select(User).where(User.email == PASSWORDS["other_partner"][0])).one()
    login(client, "partner_admin")
    assert client.get(f"/admin/users/{other.id}").status_code == 404
    listing = client.get("/admin/users")
    assert PASSWORDS["partner_staff"][0] in listing.text
    assert other.email not in listing.text
    assert PASSWORDS["coordinator"][0] not in listing.text


def test_partner_admins_cannot_hand_out_coordinator_rights(client, session):
    login(client, "partner_admin")
    response = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf_token(client),
            "email": "neu@demo.lotse.example.org",
            "display_name": "Neue Person",
            "roles": ["coordinator"],
        },
    )
    assert response.status_code == 422
    assert (
        session.exec(select(User).where(User.email == "neu@demo.lotse.example.org")).first() is None
    )


def test_coordinators_read_only_the_directory_part_of_the_audit_log(client, session):
    login(client, "coordinator")
    page = client.get("/admin/audit", params={"action": "login"})
    assert "login.succeeded" not in page.text
    login(client, "admin")
    page = client.get("/admin/audit", params={"action": "login"})
    assert "login.succeeded" in page.text
    export = client.get("/admin/audit.csv", params={"action": "login"})
    assert export.headers["content-type"].startswith("text/csv")
    assert export.text.splitlines()[0].startswith("at,actor_email,action")
    assert "login.succeeded" in export.text


def test_public_directory_can_be_turned_off(client, session):
    login(client, "admin")
    assert (
        client.post(
            "/admin/settings", data={"csrf_token": csrf_token(client)}, follow_redirects=False
        ).status_code
        == 303
    )
    with TestClient(client.app) as anonymous:
        page = anonymous.get("/services", follow_redirects=False)
        assert page.status_code == 303 and "/login" in page.headers["location"]
        assert anonymous.get("/api/v1/search?q=Kita").status_code == 401
    assert client.get("/services").status_code == 200
