"""Schemathesis over the whole OpenAPI document, as anonymous and with a token of each role.

Every operation gets a bounded number of generated requests, valid and invalid, sent in-process
to the app on the seeded test database. A run fails on any server error and on any answer the
document does not describe (status code, content type, body, headers), so the document stays
true and bad input stays a clear 4xx. Writes go through the rolled-back test session, so the
shared database is as clean afterwards as before.

Anonymous requests and the referral API with each role's token run every phase (the schema's
examples, its boundary and invalid values, random requests). The directory answers a signed-in
caller as it answers anyone, so there each role's token gets the random requests only: every
operation as every role, at a bounded cost.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import RejectedPositiveData, positive_data_acceptance
from sqlmodel import Session, select

from lotse import auth
from lotse.app import create_app
from lotse.db import get_session
from lotse.models import User
from lotse.settings import get_settings
from tests.accounts import PASSWORDS

TOKEN_ROLES = ("case_manager", "partner_staff", "partner_admin", "coordinator", "admin")

# The document as the app serves it; each test sends its requests to the `app` fixture, whose
# database session is rolled back after the test.
# A fixed seed: every run sends the same requests, so a failure reproduces and a pass means
# the same on every machine.
_document_app = create_app(get_settings(), check_database=False)
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", _document_app, config=SchemathesisConfig.from_dict({"seed": 2026})
)
random_requests_only = schemathesis.openapi.from_asgi(
    "/api/openapi.json",
    _document_app,
    config=SchemathesisConfig.from_dict({"seed": 2026, "phases": {"coverage": {"enabled": False}}}),
)

BOUNDED = settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        # One app and one rolled-back session per operation and role, shared by its examples.
        HealthCheck.function_scoped_fixture,
    ],
)


def valid_requests_pass_field_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' positive_data_acceptance, except for rules across fields.

    A request whose every value the document allows may still break a rule that OpenAPI cannot
    state (latitude without longitude, a metre distance without a postcode, a decline without a
    reason). The API answers those with their own documented error code; only the generic
    ``invalid_request`` (a field refused that the document allows) is a lie of the document.
    """
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            raise
        if code == "invalid_request":
            raise
        return None


def check(case, app, headers: dict[str, str]) -> None:
    case.call_and_validate(
        app=app,
        headers=headers,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_requests_pass_field_validation],
    )


@pytest.fixture
def fuzz_app(app, session):
    """The app on the rolled-back test session, which each request leaves as its own would."""

    def request_session() -> Iterator[Session]:
        try:
            yield session
        finally:
            # A request's own session is closed after it: what it did not commit is rolled
            # back, so one failed statement does not poison the requests after it.
            session.rollback()

    app.dependency_overrides[get_session] = request_session
    # /readyz answers 503 while this process's search index is still being built, as it should;
    # the fuzzing starts once the app is ready, so that every 5xx it sees is a fault.
    deadline = time.monotonic() + 120
    checks = getattr(app.state, "readiness_checks", {}).values()
    while any((check() or "ok") != "ok" for check in checks):
        if time.monotonic() > deadline:
            pytest.fail("the app was not ready after 120 s: " + str([c() for c in checks]))
        time.sleep(0.1)
    return app


@pytest.fixture
def token_headers(request, session) -> dict[str, str]:
    """The Authorization header of a fresh token of the role."""
    user = session.exec(select(User).where(User.email == PASSWORDS[request.param][0])).one()
    _, secret = auth.create_token(session=session, user=user, name="fuzz", valid_days=1)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@BOUNDED
def test_the_api_answers_anonymous_callers_as_documented(case, fuzz_app):
    check(case, fuzz_app, {})


@pytest.mark.parametrize("token_headers", TOKEN_ROLES, indirect=True)
@schema.include(tag="referrals").parametrize()
@BOUNDED
def test_the_referral_api_answers_each_role_as_documented(case, fuzz_app, token_headers):
    check(case, fuzz_app, token_headers)


@pytest.mark.parametrize("token_headers", TOKEN_ROLES, indirect=True)
@random_requests_only.exclude(tag="referrals").parametrize()
@BOUNDED
def test_the_directory_api_answers_each_role_as_documented(case, fuzz_app, token_headers):
    check(case, fuzz_app, token_headers)
