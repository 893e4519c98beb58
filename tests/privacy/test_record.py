"""The record of processing activities: generated from the concept and the settings, shown to
the data protection officer and administrators, printable."""

import re

from lotse import PROJECT_ROOT
from lotse.i18n import language
from lotse.settings import get_settings
from privacy import concept, record
from tests.accounts import login

OFFICER_EMAIL = "datenschutz@demo.lotse.example.org"
OFFICER_PASSWORD = "Lotse-Verzeichnis-2026"


def _record(**days: int) -> str:
    settings = get_settings().model_copy(update={"retention_days": days})
    with language("en"):
        return record.to_markdown(record.build(settings))


def test_the_record_has_every_class_with_the_period_in_force():
    text = _record(clients=400, outbox_delivered=14)

    for entry in concept.CLASSES:
        assert f"(`{entry.key}`)" in text
    assert "Anonymise 400 days after the client has no open referral" in text
    assert "Delete 14 days after the email was delivered" in text
    # Consents go with the client, at the client's configured period.
    consents = text.split("(`consents`)")[1].split("## ")[0]
    assert "Anonymise together with Clients: 400 days after" in consents
    assert "Delete 10 minutes after the login began" in text
    assert "None: Lotse sends no personal data to a third country" in text


def test_the_defaults_are_used_where_nothing_is_configured():
    assert "Anonymise 730 days after the client" in _record()


def _officer_client(client, session):
    """Signed in as the data protection officer of the test accounts."""
    login(client, "privacy_officer")
    return client


def test_the_data_protection_officer_reads_the_record_with_this_installations_periods(
    app, client, session
):
    app.state.settings = get_settings().model_copy(update={"retention_days": {"clients": 400}})
    _officer_client(client, session)

    page = client.get("/privacy/record", headers={"Accept-Language": "en"})

    assert page.status_code == 200
    row = re.search(r'<a href="#clients">.*?</tr>', page.text, re.DOTALL)
    assert row and "400 days" in row.group(0) and "180 days to 1825 days" in row.group(0)
    for entry in concept.CLASSES:
        assert f'id="{entry.key}"' in page.text
    assert 'class="processing-record"' in page.text


def test_the_officer_finds_the_record_in_the_menu_and_on_the_audit_log(client, session):
    _officer_client(client, session)

    audit = client.get("/admin/audit", headers={"Accept-Language": "en"})

    assert audit.status_code == 200
    assert (
        audit.text.count('href="http://testserver/privacy/record"')
        + audit.text.count('href="/privacy/record"')
        >= 2
    ), "one link in the menu, one on the audit log"


def test_case_managers_do_not_get_the_record(client):
    login(client, "case_manager")
    assert client.get("/privacy/record").status_code == 403


def test_the_record_prints_without_the_navigation():
    css = (PROJECT_ROOT / "static" / "css" / "lotse.css").read_text(encoding="utf-8")
    rules = css.split("/* The record of processing activities")[1]
    assert "@media print" in rules and ".no-print { display: none" in rules
    assert (
        ".processing-record__activity, .processing-record__table tr { break-inside: avoid; }"
        in (rules)
    )
