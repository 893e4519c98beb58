"""Findings as CSV: each person gets the findings they may see, and no personal data — the
reporter only as a role and an organisation."""

import csv
import io

from findings import board
from findings.models import FindingState, FindingTransition
from tests.accounts import PASSWORDS, login
from tests.findings.factories import make_finding, principal
from tests.referrals.factories import VOLMETAL


def _rows(client, who: str) -> dict[str, dict[str, str]]:
    login(client, who)
    response = client.get("/findings/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return {row["id"]: row for row in csv.DictReader(io.StringIO(response.text))}


def test_each_person_exports_what_they_may_see(client, session):
    own = make_finding(session, affected_count=7)
    formula = make_finding(
        session, "other_partner", description='=HYPERLINK("http://x") Wohnungsbörse veraltet'
    )
    board.transition(
        session=session,
        principal=principal(session, "coordinator"),
        finding=formula,
        step=FindingTransition(target=FindingState.routed, routed_to_id=VOLMETAL),
        base_url="http://testserver",
    )
    session.flush()

    mine = _rows(client, "case_manager")
    assert str(own.id) in mine and str(formula.id) not in mine
    row = mine[str(own.id)]
    assert (row["kind"], row["topic"], row["district"]) == (
        "not_enough_places",
        "integrationskurs",
        "mitte",
    )
    assert row["affected_count"] == "7"
    assert row["reporter_role"] == "case_manager" and row["reporter_organization"]

    office = _rows(client, "partner_staff")
    assert str(formula.id) in office and str(own.id) not in office
    assert office[str(formula.id)]["state"] == "routed"
    assert office[str(formula.id)]["routed_to"]
    # A cell a spreadsheet would run as a formula starts with a quote.
    assert office[str(formula.id)]["description"].startswith("'=HYPERLINK")

    everything = _rows(client, "coordinator")
    assert {str(own.id), str(formula.id)} <= set(everything)
    text = client.get("/findings/export.csv").text
    for who in ("case_manager", "other_partner"):
        user = principal(session, who).user
        assert user.email not in text and user.display_name not in text
        assert str(user.id) not in text
    assert PASSWORDS["case_manager"][0] not in text
