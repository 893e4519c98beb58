"""Every role on every findings route, on real findings: one of the case manager's own, and one
another partner reported that was forwarded to the demo language school (partner_staff's and
partner_admin's organisation). Pages with the role's login, the API with the role's token."""

import pytest
from fastapi.testclient import TestClient

from findings import board
from findings.models import FindingState, FindingTransition
from lotse import auth
from tests.accounts import ROLES, csrf_token, login
from tests.findings.factories import INTEGRATION_COURSE_GAP, make_finding, principal
from tests.referrals.factories import VOLMETAL

LOGIN, DENIED, HIDDEN = "login", 403, 404
REPORTERS = ("case_manager", "partner_staff", "partner_admin")
COORDINATING = ("coordinator", "admin")
# The data protection officer reads the audit log and the processing record, never findings.
OFFICER = "privacy_officer"


def expect(anonymous, reporters, coordinating, *, case_manager=None) -> dict[str, object]:
    table = {"anonymous": anonymous}
    for role in REPORTERS:
        table[role] = reporters
    for role in COORDINATING:
        table[role] = coordinating
    if case_manager is not None:
        table["case_manager"] = case_manager
    table[OFFICER] = DENIED
    return table


NEW = {"kind": "no_offer", "description": INTEGRATION_COURSE_GAP}
# (method, path, form or JSON body, expected per role); {own} is the case manager's finding,
# {routed} another partner's finding forwarded to the language school.
PAGES = [
    ("GET", "/findings", None, expect(LOGIN, 200, DENIED)),
    ("GET", "/findings/new", None, expect(LOGIN, 200, DENIED)),
    ("POST", "/findings/new", NEW, expect(LOGIN, 303, DENIED)),
    ("GET", "/findings/board", None, expect(LOGIN, DENIED, 200)),
    ("GET", "/findings/export.csv", None, expect(LOGIN, 200, 200)),
    ("GET", "/findings/conference", None, expect(LOGIN, DENIED, 200)),
    ("GET", "/findings/conference/print", None, expect(LOGIN, DENIED, 200)),
    ("GET", "/findings/conference.pdf", None, expect(LOGIN, DENIED, 200)),
    ("GET", "/findings/conference.zip", None, expect(LOGIN, DENIED, 200)),
    ("POST", "/findings/conference/held", {"held_on": "2026-01-05"}, expect(LOGIN, DENIED, 303)),
    ("GET", "/findings/{own}", None, expect(LOGIN, HIDDEN, 200, case_manager=200)),
    ("GET", "/findings/{routed}", None, expect(LOGIN, 200, 200, case_manager=HIDDEN)),
    (
        "POST",
        "/findings/{own}/transition",
        {"target": "in_review"},
        expect(LOGIN, HIDDEN, 303, case_manager=DENIED),
    ),
    (
        "POST",
        "/findings/{routed}/transition",
        {"target": "answered", "note": "Zweiter Kurs ab März"},
        expect(LOGIN, 303, 303, case_manager=HIDDEN),
    ),
]
API = [
    ("GET", "/api/v1/findings", None, expect(401, 200, 200)),
    # A POST without a token and without a session fails the CSRF check (403) before its access
    # rule, as on every other route.
    ("POST", "/api/v1/findings", NEW, expect(DENIED, 201, DENIED)),
    ("GET", "/api/v1/findings/{own}", None, expect(401, HIDDEN, 200, case_manager=200)),
    ("GET", "/api/v1/findings/{routed}", None, expect(401, 200, 200, case_manager=HIDDEN)),
    (
        "POST",
        "/api/v1/findings/{own}/transition",
        {"target": "in_review"},
        expect(DENIED, HIDDEN, 200, case_manager=DENIED),
    ),
    (
        "POST",
        "/api/v1/findings/{routed}/transition",
        {"target": "answered", "note": "Zweiter Kurs ab März"},
        expect(DENIED, 200, 200, case_manager=HIDDEN),
    ),
]


def findings(session) -> dict[str, str]:
    own = make_finding(session)
    routed = make_finding(session, "other_partner", description="Die Wohnungsbörse ist veraltet.")
    board.transition(
        session=session,
        principal=principal(session, "coordinator"),
        finding=routed,
        step=FindingTransition(target=FindingState.routed, routed_to_id=VOLMETAL),
        base_url="http://testserver",
    )
    session.commit()
    return {"own": str(own.id), "routed": str(routed.id)}


def outcome(response) -> object:
    if response.status_code == 401 or (
        response.status_code == 303 and "/login" in response.headers.get("location", "")
    ):
        return LOGIN if response.request.url.path.startswith("/findings") else 401
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_findings_page_for_every_role(app, session, role):
    problems = []
    for method, path, data, expected in PAGES:
        # Each route on fresh findings: a step taken by one route does not decide the next.
        ids = findings(session)
        with TestClient(app, headers={"Accept-Language": "en"}) as client:
            if role != "anonymous":
                assert login(client, role).status_code == 303
            url = path.format(**ids)
            if method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                form = {"csrf_token": csrf_token(client), **(data or {})}
                response = client.post(url, data=form, follow_redirects=False)
            if outcome(response) != expected[role]:
                problems.append(
                    f"{method} {path}: expected {expected[role]}, got {outcome(response)}"
                )
    assert not problems, f"{role}:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_every_findings_api_route_for_every_role(app, session, role):
    headers = {}
    if role != "anonymous":
        _, secret = auth.create_token(
            session=session, user=principal(session, role).user, name="t", valid_days=1
        )
        headers = {"Authorization": f"Bearer {secret}"}
    problems = []
    for method, path, body, expected in API:
        ids = findings(session)
        with TestClient(app) as client:
            url = path.format(**ids)
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, headers=headers, json=body)
            if outcome(response) != expected[role]:
                problems.append(
                    f"{method} {path}: expected {expected[role]}, got {outcome(response)}"
                )
    assert not problems, f"{role}:\n" + "\n".join(problems)


def test_lists_are_scoped_in_the_query(client, session):
    ids = findings(session)
    login(client, "case_manager")
    mine = client.get("/findings").text
    assert ids["own"] in mine and ids["routed"] not in mine
    login(client, "partner_staff")
    theirs = client.get("/findings").text
    assert ids["routed"] in theirs and ids["own"] not in theirs
