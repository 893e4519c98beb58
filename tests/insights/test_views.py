"""The reports pages and their CSV exports: the same suppressed figures, each scope its own."""

import csv
import io

from sqlmodel import select

from directory.models import SearchLog
from insights import reports
from referrals.models import Client
from tests.accounts import login
from tests.insights.scenario import (
    DISTRICT,
    WOHNRAUM,
    at,
)
from tests.referrals.factories import KIM_TEAM, VOLMETAL

URL = f"from=2019-03-04&to=2019-03-17&district={DISTRICT}"


def csv_rows(text: str) -> dict[tuple[str, str, str], str]:
    reader = csv.DictReader(io.StringIO(text))
    return {(r["table"], r["row_key"], r["column_key"]): r["value"] for r in reader}


def test_coordinator_pages_and_csv_show_the_same_suppressed_figures(client, data):
    assert login(client, "coordinator").status_code == 303
    page = client.get(f"/reports/outcomes?{URL}")
    assert page.status_code == 200
    assert "&lt; 5" in page.text and "Sprachschule Volmetal (Demo)" in page.text
    assert "<svg" in page.text and "<table" in page.text
    assert "/reports/outcomes.csv?from=2019-03-04" in page.text
    export = client.get(f"/reports/outcomes.csv?{URL}")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = csv_rows(export.text)
    assert rows[("outcome_by_provider", str(VOLMETAL), "completed")] == "5"
    assert rows[("outcome_by_provider", str(VOLMETAL), "declined")] == "< 5"
    assert rows[("outcome_by_provider", str(VOLMETAL), "total")] == "withheld"
    # Nowhere in the export is a number between 1 and 4.
    assert not {value for value in rows.values() if value in {"1", "2", "3", "4"}}
    for name in reports.REPORTS:
        assert client.get(f"/reports/{name}?{URL}").status_code == 200
        assert client.get(f"/reports/{name}.csv?{URL}").status_code == 200


def test_a_partner_never_sees_another_partners_figures(client, data):
    assert login(client, "other_partner").status_code == 303  # Wohnraumhilfe
    rows = csv_rows(client.get(f"/reports/outcomes.csv?{URL}").text)
    assert {key[1] for key in rows if key[0] == "outcome_by_provider"} == {str(WOHNRAUM), "all"}
    page = client.get(f"/reports/flows?{URL}")
    assert "Sprachschule Volmetal" not in page.text
    assert "Wohnraumhilfe Hagen" in page.text


def test_a_case_manager_sees_own_referrals_only(client, data):
    assert login(client, "case_manager").status_code == 303
    rows = csv_rows(client.get(f"/reports/flows.csv?{URL}").text)
    # W1 (expired) is theirs, W2 (cancelled) is the other case manager's.
    assert rows[("flows", f"{KIM_TEAM}>{WOHNRAUM}", "referrals")] == "< 5"
    outcomes = csv_rows(client.get(f"/reports/outcomes.csv?{URL}").text)
    assert outcomes[("outcome_by_provider", str(WOHNRAUM), "cancelled")] == "0"
    assert outcomes[("outcome_by_provider", str(WOHNRAUM), "expired")] == "< 5"


def test_bad_filters_are_explained_next_to_the_fields(client, data):
    assert login(client, "coordinator").status_code == 303
    page = client.get("/reports/needs?from=2019-03-40&to=2019-03-01&district=nowhere")
    assert page.status_code == 422
    assert 'id="from-error"' in page.text and 'id="district-error"' in page.text
    page = client.get("/reports/needs?from=2019-03-10&to=2019-03-01")
    assert page.status_code == 422 and 'id="to-error"' in page.text
    assert client.get("/reports/needs.csv?from=nonsense").status_code == 422
    assert client.get("/reports/nonsense").status_code == 404


def test_default_period_is_the_last_90_days(client):
    assert login(client, "coordinator").status_code == 303
    page = client.get("/reports")
    assert page.status_code == 200
    assert 'name="from"' in page.text and "/reports/needs?" in page.text


def test_an_unknown_interface_language_in_a_search_is_not_stored(client, session):
    """One anonymous search with a made-up ``lang`` once broke the needs report (issue 10)."""
    response = client.get("/api/v1/search", params={"q": "qqxxzzyy", "lang": "ypo"})
    assert response.status_code == 200
    # Texts fall back to the interface language, and the answer says so.
    assert response.headers["content-language"] == "de"
    assert "ypo" in response.headers["lotse-notice"]
    stored = session.exec(select(SearchLog).where(SearchLog.query == "qqxxzzyy")).one()
    assert stored.language == "de"
    assert login(client, "coordinator").status_code == 303
    assert client.get("/reports/needs").status_code == 200
    assert client.get("/reports/needs.csv").status_code == 200


def test_reports_survive_any_stored_language_and_category(client, session, data):
    """Rows written before validation existed (or by hand) show their raw code, never a 500."""
    for language, filters in (
        ("ypo", '{"district": "testbezirk"}'),
        ("", '{"district": "testbezirk", "language": "zz-\\u0000-?", "category": "nope"}'),
        ("x" * 12, '{"district": "testbezirk", "language": "123", "category": 5}'),
    ):
        session.add(SearchLog(query="", filters=filters, language=language, created_at=at(6)))
    client_row = session.exec(select(Client)).first()
    assert client_row is not None
    client_row.languages = ["not a language!"]
    session.flush()
    assert login(client, "coordinator").status_code == 303
    page = client.get(f"/reports/needs?{URL}")
    assert page.status_code == 200
    assert "ypo" in page.text and "nope" in page.text
    export = client.get(f"/reports/needs.csv?{URL}")
    assert export.status_code == 200
    rows = csv_rows(export.text)
    assert ("by_language", "ypo", "searches") in rows
    assert ("by_category", "nope", "searches") in rows
    for name in reports.REPORTS:
        assert client.get(f"/reports/{name}?{URL}").status_code == 200


def test_report_csv_never_hands_a_spreadsheet_a_formula(client, session, data):
    """Search words and names go into report CSVs; a formula among them is neutralised."""
    formula = '=HYPERLINK("https://evil.example","x")'
    for _ in range(5):
        session.add(
            SearchLog(
                query=formula, filters='{"district": "testbezirk"}', language="de", created_at=at(6)
            )
        )
    session.flush()
    assert login(client, "coordinator").status_code == 303
    page = client.get(f"/reports/needs?{URL}")
    assert formula.casefold() in page.text.replace("&#34;", '"')
    export = client.get(f"/reports/needs.csv?{URL}")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    found = [row for row in rows if row["table"] == "frequent_queries"]
    assert found and found[0]["row"] == "'" + formula.casefold()
    assert found[0]["row_key"] == "'" + formula.casefold()
    for row in rows:
        assert not any(value.startswith(("=", "+", "@")) for value in row.values()), row
