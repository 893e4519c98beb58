"""The permission matrix: every route of the app, as anonymous and as each role.

The routes come from the app's route table, so a route added without an entry in EXPECTED
fails ``test_every_route_has_a_decision``. The expectations are DESIGN.md's table, written
out by hand (not derived from the rules the code declares), so the test checks the code
against the specification.

Every id in a path is a real record. The matrix runs twice: once on records the role may act
on (its own client, the referral it sent or received, its own token and import), where "ok"
must be an answer and not a 404; and once on another organisation's records (FOREIGN), which
must not exist for anyone who could open their own. A random id would answer 404 to everyone,
so a leak could hide behind it.
"""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from directory import versions
from directory.interop import import_jobs
from directory.machine_translation import jobs as translation_jobs
from directory.models import ChangeSuggestion, SuggestionSource
from directory.seed import stable_id
from directory.upkeep import suggestions
from lotse import auth
from lotse.models import Role, User, UserRole
from lotse.permissions import Access
from lotse.timeutil import utcnow
from partners.models import PartnerOrganization, ReferralService
from referrals.models import Client, ReferralStatus
from tests import demo
from tests.accounts import PASSWORDS, ROLES, csrf_token, login, post
from tests.referrals.factories import make_client, make_consent, make_referral

OK, LOGIN, DENIED, HIDDEN = "ok", "login", "denied", "hidden"

EVERYONE = dict.fromkeys(ROLES, OK)
SIGNED_IN = {**dict.fromkeys(ROLES, OK), "anonymous": LOGIN}


def only(*roles: str) -> dict[str, str]:
    return {
        role: OK if role in roles else (LOGIN if role == "anonymous" else DENIED) for role in ROLES
    }


COORDINATION = only("coordinator", "admin")
# The data protection officer reads the whole audit log, never case content or its figures.
AUDIT_READERS = only("coordinator", "admin", "privacy_officer")
# Everyone who works on cases or on the directory: reports and findings are theirs.
WORK_ROLES = ("case_manager", "partner_staff", "partner_admin", "coordinator", "admin")
WORKERS = only(*WORK_ROLES)
ACCOUNT_MANAGERS = only("partner_admin", "coordinator", "admin")
CASE_MANAGERS = only("case_manager")
# A data subject's rights (Art. 15, 17, 18): case managers for their own clients, the data
# protection officer for every client.
SUBJECT_RIGHTS = only("case_manager", "privacy_officer")
PARTNERS = only("partner_staff", "partner_admin")
REFERRAL_PARTIES = only("case_manager", "partner_staff", "partner_admin")
COORDINATION_ROLES = ("coordinator", "admin")
PARTNERS_ROLES = ("partner_staff", "partner_admin")
PARTY_ROLES = ("case_manager", "partner_staff", "partner_admin")


def hidden_for(expected: dict[str, str], *roles: str) -> dict[str, str]:
    return {**expected, **dict.fromkeys(roles, HIDDEN)}


ALL_SIGNED_IN = [role for role in ROLES if role != "anonymous"]

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
    ("GET", "/referrals/{referral_id}/handout"): REFERRAL_PARTIES,
    ("GET", "/services/{service_id}/handout.pdf"): EVERYONE,
    ("GET", "/referrals/{referral_id}/handout.pdf"): REFERRAL_PARTIES,
    # Gap reports: everyone signed in who takes part in the casework or keeps the directory,
    # each scoped to their own figures in the queries; not the data protection officer.
    ("GET", "/reports"): WORKERS,
    ("GET", "/reports/{report}"): WORKERS,
    ("GET", "/reports/{report}.csv"): WORKERS,
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
    # Audit log: admins and the data protection officer everything, coordinators the
    # directory part.
    ("GET", "/admin/audit"): AUDIT_READERS,
    ("GET", "/admin/audit.csv"): AUDIT_READERS,
    # The record of processing activities (Art. 30): administrators and the data protection
    # officer.
    ("GET", "/privacy/record"): only("admin", "privacy_officer"),
    # Clients, consents and referring: case managers only (their own caseload).
    ("GET", "/clients"): CASE_MANAGERS,
    ("POST", "/clients"): CASE_MANAGERS,
    ("GET", "/clients/{client_id}"): CASE_MANAGERS,
    ("POST", "/clients/{client_id}/consents"): CASE_MANAGERS,
    ("POST", "/clients/{client_id}/consents/{consent_id}/withdraw"): CASE_MANAGERS,
    ("GET", "/clients/{client_id}/consents/{consent_id}/print"): CASE_MANAGERS,
    # The data subject's rights (privacy/rights_views.py): case managers for their own clients
    # (the data protection officer for every client). Erasing and restricting without a reason
    # are answered 422, lifting a restriction that is not there 409: nothing changes here.
    ("GET", "/privacy/clients/{client_id}"): SUBJECT_RIGHTS,
    ("GET", "/privacy/clients/{client_id}/export.json"): SUBJECT_RIGHTS,
    ("GET", "/privacy/clients/{client_id}/export"): SUBJECT_RIGHTS,
    ("GET", "/privacy/clients/{client_id}/export.pdf"): SUBJECT_RIGHTS,
    ("POST", "/privacy/clients/{client_id}/erase"): SUBJECT_RIGHTS,
    ("POST", "/privacy/clients/{client_id}/restrict"): SUBJECT_RIGHTS,
    ("POST", "/privacy/clients/{client_id}/lift"): SUBJECT_RIGHTS,
    ("GET", "/privacy/restricted"): SUBJECT_RIGHTS,
    ("GET", "/clients/{client_id}/consents/{consent_id}/print.pdf"): CASE_MANAGERS,
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
    ("POST", "/api/v1/referrals/{referral_id}/appointment"): PARTNERS,
    ("POST", "/api/v1/inbox/capacity"): PARTNERS,
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
    ("GET", "/translations"): COORDINATION,
    ("POST", "/translations/{language}/all"): COORDINATION,
    ("POST", "/translations/{language}/{kind}/{listing_id}"): COORDINATION,
    ("GET", "/translations/jobs/{translation_job_id}"): COORDINATION,
    ("GET", "/translations/jobs/{translation_job_id}/progress"): COORDINATION,
    # Findings: case managers and partners record and see their own (and partners those
    # forwarded to them); coordinators and admins work the board; the data protection officer
    # has none. A random finding is hidden from everyone else (tests/findings/test_permissions.py
    # runs every role on real ones).
    ("GET", "/findings"): REFERRAL_PARTIES,
    ("GET", "/findings/new"): REFERRAL_PARTIES,
    ("POST", "/findings/new"): REFERRAL_PARTIES,
    ("GET", "/findings/board"): COORDINATION,
    ("GET", "/findings/export.csv"): WORKERS,
    ("GET", "/findings/conference"): COORDINATION,
    ("GET", "/findings/conference/print"): COORDINATION,
    ("GET", "/findings/conference.pdf"): COORDINATION,
    ("GET", "/findings/conference.zip"): COORDINATION,
    ("POST", "/findings/conference/held"): COORDINATION,
    # The gap radar reads every organisation's figures and writes findings: coordination only.
    ("GET", "/findings/radar"): COORDINATION,
    ("POST", "/findings/radar/accept"): COORDINATION,
    ("POST", "/findings/radar/dismiss"): COORDINATION,
    ("GET", "/findings/{finding_id}"): hidden_for(WORKERS, *WORK_ROLES),
    ("POST", "/findings/{finding_id}/transition"): hidden_for(WORKERS, *WORK_ROLES),
    ("GET", "/api/v1/findings"): WORKERS,
    ("POST", "/api/v1/findings"): REFERRAL_PARTIES,
    ("GET", "/api/v1/findings/{finding_id}"): hidden_for(WORKERS, *WORK_ROLES),
    ("POST", "/api/v1/findings/{finding_id}/transition"): hidden_for(WORKERS, *WORK_ROLES),
    # Installation settings: admins only.
    ("GET", "/admin/settings"): only("admin"),
    ("POST", "/admin/settings"): only("admin"),
}
NOT_ROUTES = {"/static"}


# The routes on a record, with another organisation's (another person's) record in the path:
# a client, consent and referral of another organisation's case manager sent to another
# partner, another person's token, import and upload, another partner's staff member.
FOREIGN: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/account/tokens/{token_id}/revoke"): hidden_for(SIGNED_IN, *ALL_SIGNED_IN),
    ("GET", "/admin/users/{user_id}"): hidden_for(ACCOUNT_MANAGERS, "partner_admin"),
    # A coordinator manages no partner staff; an admin every account but their own.
    ("POST", "/admin/users/{user_id}"): hidden_for(only("admin"), "partner_admin"),
    ("POST", "/admin/users/{user_id}/active"): hidden_for(only("admin"), "partner_admin"),
    ("POST", "/admin/users/{user_id}/reset-password"): hidden_for(only("admin"), "partner_admin"),
    ("GET", "/clients/{client_id}"): hidden_for(CASE_MANAGERS, "case_manager"),
    ("POST", "/clients/{client_id}/consents"): hidden_for(CASE_MANAGERS, "case_manager"),
    ("POST", "/clients/{client_id}/consents/{consent_id}/withdraw"): hidden_for(
        CASE_MANAGERS, "case_manager"
    ),
    ("GET", "/clients/{client_id}/consents/{consent_id}/print"): hidden_for(
        CASE_MANAGERS, "case_manager"
    ),
    ("GET", "/privacy/clients/{client_id}"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("GET", "/privacy/clients/{client_id}/export.json"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("GET", "/privacy/clients/{client_id}/export"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("GET", "/privacy/clients/{client_id}/export.pdf"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("POST", "/privacy/clients/{client_id}/erase"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("POST", "/privacy/clients/{client_id}/restrict"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("POST", "/privacy/clients/{client_id}/lift"): hidden_for(SUBJECT_RIGHTS, "case_manager"),
    ("GET", "/clients/{client_id}/consents/{consent_id}/print.pdf"): hidden_for(
        CASE_MANAGERS, "case_manager"
    ),
    ("GET", "/referrals/{referral_id}/handout"): hidden_for(REFERRAL_PARTIES, *PARTY_ROLES),
    ("GET", "/referrals/{referral_id}/handout.pdf"): hidden_for(REFERRAL_PARTIES, *PARTY_ROLES),
    ("POST", "/referrals/{referral_id}/draft"): hidden_for(CASE_MANAGERS, "case_manager"),
    ("GET", "/referrals/{referral_id}/refer-elsewhere"): hidden_for(CASE_MANAGERS, "case_manager"),
    ("POST", "/referrals/{referral_id}/appointment"): hidden_for(PARTNERS, *PARTNERS_ROLES),
    ("POST", "/api/v1/referrals/{referral_id}/appointment"): hidden_for(PARTNERS, *PARTNERS_ROLES),
    ("GET", "/referrals/{referral_id}"): hidden_for(REFERRAL_PARTIES, *PARTY_ROLES),
    ("POST", "/referrals/{referral_id}/transition"): hidden_for(REFERRAL_PARTIES, *PARTY_ROLES),
    ("POST", "/referrals/{referral_id}/messages"): hidden_for(REFERRAL_PARTIES, *PARTY_ROLES),
    ("GET", "/api/v1/referrals/{referral_id}"): hidden_for(REFERRAL_PARTIES, *PARTY_ROLES),
    ("POST", "/api/v1/referrals/{referral_id}/transition"): hidden_for(
        REFERRAL_PARTIES, *PARTY_ROLES
    ),
    ("POST", "/api/v1/referrals/{referral_id}/messages"): hidden_for(
        REFERRAL_PARTIES, *PARTY_ROLES
    ),
    ("GET", "/open-formats/uploads/{token}"): hidden_for(COORDINATION, *COORDINATION_ROLES),
    ("POST", "/open-formats/uploads/{token}/apply"): hidden_for(COORDINATION, *COORDINATION_ROLES),
    ("POST", "/open-formats/uploads/{token}/discard"): hidden_for(
        COORDINATION, *COORDINATION_ROLES
    ),
    ("GET", "/open-formats/jobs/{job_id}"): hidden_for(COORDINATION, *COORDINATION_ROLES),
    ("GET", "/open-formats/jobs/{job_id}/progress"): hidden_for(COORDINATION, *COORDINATION_ROLES),
    ("GET", "/translations/jobs/{translation_job_id}"): hidden_for(
        COORDINATION, *COORDINATION_ROLES
    ),
    ("GET", "/translations/jobs/{translation_job_id}/progress"): hidden_for(
        COORDINATION, *COORDINATION_ROLES
    ),
}
# Path parameters that name a record someone owns; a route with one has a FOREIGN decision.
OWNED = (
    "{token_id}",
    "{user_id}",
    "{client_id}",
    "{consent_id}",
    "{referral_id}",
    "{token}",
    "{job_id}",
    "{translation_job_id}",
)


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


def user_of(session: Session, role: str) -> User:
    return session.exec(select(User).where(User.email == PASSWORDS[role][0])).one()


def pending_suggestion(session: Session, proposer: User) -> ChangeSuggestion:
    return suggestions.propose(
        session=session,
        listing=demo.kim(session),
        proposed={"name": "KIM Hagen (Vorschlag)"},
        source=SuggestionSource.case_manager,
        author=versions.Author.of(proposer),
    )


def own_records(session: Session, role: str) -> dict[str, str]:
    """Records the role may act on: the demo case manager's client, consent and referral sent
    to the partner's organisation, the role's own token and import, a pending suggestion."""
    case_manager = user_of(session, "case_manager")
    me = case_manager if role == "anonymous" else user_of(session, role)
    client = make_client(session=session)
    consent = make_consent(session=session, client=client)
    referral = make_referral(
        session=session, client=client, status=ReferralStatus.sent, sent_at=utcnow()
    )
    token, _ = auth.create_token(session=session, user=me, name="Matrix", valid_days=30)
    job = import_jobs.create(session=session, kind="hsds", user_id=me.id, source_name="a.json")
    translation_job = translation_jobs.create(session=session, user_id=me.id, language="uk")
    kim = demo.kim(session)
    return {
        "service_id": str(kim.id),
        "organization_id": str(kim.organization_id),
        "partner_id": str(stable_id("partner_organization", "volmetal")),
        # A colleague of the partner admin, so that "own staff" is in scope for them.
        "user_id": str(user_of(session, "partner_staff").id),
        "token_id": str(token.id),
        # A password link's secret and an upload's token are keys, not records: they are
        # random here (FOREIGN checks a real upload of someone else).
        "secret": "x" * 43,
        "token": "x" * 32,
        "client_id": str(client.id),
        "consent_id": str(consent.id),
        "referral_id": str(referral.id),
        "report": "needs",
        "kind": "service",
        "listing_id": str(kim.id),
        "suggestion_id": str(pending_suggestion(session, case_manager).id),
        "job_id": str(job.id),
        "translation_job_id": str(translation_job.id),
        # A language no listing is translated into: translating answers 422 before any job
        # starts (tests/directory/machine_translation/test_views.py runs real jobs).
        "language": "de",
        # A finding nobody may see: tests/findings/test_permissions.py runs every role on real ones.
        "finding_id": str(uuid.uuid4()),
    }


@pytest.fixture
def foreign_records(session: Session) -> Iterator[dict[str, str]]:
    """Another organisation's records: its case manager's client, consent and referral sent to
    a partner none of the demo roles works for, that person's token, import and upload, and a
    staff member of that other partner."""
    elsewhere = PartnerOrganization(name="Beratungsstelle Anderswo (Matrix)")
    session.add(elsewhere)
    session.flush()
    stranger = User(
        email="anderswo@matrix.lotse.example.org",
        display_name="Fremde Fallmanagerin",
        password_hash="x",
        organization_id=elsewhere.id,
    )
    session.add(stranger)
    session.flush()
    session.add(UserRole(user_id=stranger.id, role=Role.case_manager))
    other_partner = stable_id("partner_organization", "wohnraumhilfe")
    client = Client(
        alias="Fremde Person",
        birth_year=1985,
        languages=["uk"],
        needs=["housing"],
        case_manager_id=stranger.id,
        organization_id=elsewhere.id,
    )
    session.add(client)
    session.flush()
    consent = make_consent(session=session, client=client, recipient_organization_id=other_partner)
    service_id = session.exec(
        select(ReferralService.service_id).where(
            ReferralService.partner_organization_id == other_partner
        )
    ).first()
    referral = make_referral(
        session=session, client=client, status=ReferralStatus.sent, sent_at=utcnow()
    )
    referral.service_id = service_id
    referral.recipient_organization_id = other_partner
    referral.sender_id = stranger.id
    referral.sender_organization_id = elsewhere.id
    session.add(referral)
    token, _ = auth.create_token(session=session, user=stranger, name="Fremd", valid_days=30)
    job = import_jobs.create(
        session=session, kind="hsds", user_id=stranger.id, source_name="fremd.json"
    )
    translation_job = translation_jobs.create(session=session, user_id=stranger.id, language="ar")
    session.flush()
    root = import_jobs.upload_root()
    upload = import_jobs.store_upload(
        root=root, user_id=stranger.id, filename="fremd.json", content=b"{}", summary={}
    )
    try:
        yield {
            "token_id": str(token.id),
            "user_id": str(user_of(session, "other_partner").id),
            "client_id": str(client.id),
            "consent_id": str(consent.id),
            "referral_id": str(referral.id),
            "token": upload,
            "job_id": str(job.id),
            "translation_job_id": str(translation_job.id),
        }
    finally:
        import_jobs.discard_upload(root=root, token=upload)


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


# What a request carries besides the CSRF token, so that it gets past parsing to the record.
QUERIES = {("GET", "/referrals/{referral_id}/refer-elsewhere"): {"service_id": "{service_id}"}}
BODIES = {
    # A stale version: answered 409 by a party, and nothing changes.
    ("POST", "/api/v1/referrals/{referral_id}/transition"): {"target": "accepted", "version": -1},
    ("POST", "/api/v1/referrals/{referral_id}/messages"): {"body": "Matrix"},
    ("POST", "/api/v1/findings/{finding_id}/transition"): {"target": "in_review", "version": -1},
}


def answers(app, role: str, values: dict[str, str], expected: dict) -> list[str]:
    """Each route in ``expected`` requested as ``role``: what differs from the expectation."""
    problems = []
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        if role != "anonymous":
            assert login(client, role).status_code == 303
        token = csrf_token(client)
        for method, path, _ in route_table(app):
            if (method, path) not in expected or path == "/logout":
                continue  # logging out would end the session for the routes after it
            url = path.format(**values)
            query = {k: v.format(**values) for k, v in QUERIES.get((method, path), {}).items()}
            if method == "GET":
                response = client.get(url, params=query, follow_redirects=False)
            elif (method, path) in BODIES:
                response = client.post(
                    url,
                    json=BODIES[(method, path)],
                    headers={"X-CSRF-Token": token},
                    follow_redirects=False,
                )
            else:
                response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
            got = outcome(response, path=path)
            if got == HIDDEN and expected[(method, path)][role] == OK and "{secret}" in path:
                got = OK  # allowed: a random password link is gone for everybody
            if got == HIDDEN and expected[(method, path)][role] == OK and "{token}" in path:
                got = OK  # allowed: a random upload token is gone for everybody
            if got != expected[(method, path)][role]:
                problems.append(
                    f"{method} {path}: expected {expected[(method, path)][role]}, got {got} "
                    f"({response.status_code})"
                )
    return problems


def test_every_route_on_a_record_has_a_decision_for_other_organisations_records(app):
    on_records = {(m, p) for m, p, _ in route_table(app) if any(key in p for key in OWNED)}
    assert on_records == set(FOREIGN)


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(app, session, role):
    values = own_records(session, role)
    problems = answers(app, role, values, EXPECTED)
    assert not problems, f"{role}:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_other_organisations_records_do_not_exist_for_a_role(app, session, role, foreign_records):
    values = {**own_records(session, role), **foreign_records}
    problems = answers(app, role, values, FOREIGN)
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
    form = {"email": "neu@demo.lotse.example.org", "display_name": "Neue Person"}
    response = post(client, "/admin/users/new", {**form, "roles": ["coordinator"]})
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
