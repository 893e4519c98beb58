"""A data subject's rights in a real browser, as the case manager: open the client, export
(JSON download and the document in the client's language), erase with a reason and a
confirmation; afterwards the client is gone and the partner got a notice without personal data."""

import json
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lotse.outbox import OutboxMessage
from referrals.models import Client, Referral, ReferralStatus
from tests.e2e.axe import violations
from tests.e2e.test_referral_loop import log_in
from tests.privacy.factories import ALIAS, MESSAGE, NOTE, make_subject
from tests.referrals.factories import VOLMETAL_EMAIL


def test_export_and_erase_as_the_case_manager(page: Page, engine: Engine, tmp_path: Path):
    with Session(engine) as session:
        subject = make_subject(session=session)
        session.commit()
        client_id, open_id = subject.client.id, subject.open.id
        open_number = subject.open.number

    log_in(page, "case_manager")
    page.goto(f"/clients/{client_id}")
    page.locator(f"a[href$='/privacy/clients/{client_id}']").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ALIAS)
    assert violations(page) == []

    # The export for machines: a JSON file with everything, messages included.
    with page.expect_download() as download:
        page.locator("a[href$='/export.json']").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    export = json.loads(saved.read_text())
    assert export["client"]["alias"] == ALIAS
    assert MESSAGE in [m["body"] for r in export["referrals"] for m in r["messages"]]

    # The document for the person, in Arabic (the client's first language), right to left.
    page.locator("a[href$='/export']").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_text(NOTE).first).to_be_visible()
    assert violations(page) == []
    page.go_back()

    # Erasure: a reason, then a confirmation naming the referral that will be cancelled.
    page.locator("form[action$='/erase'] button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()  # no reason given
    page.locator("textarea#reason").fill("Antrag der Person vom 3. Dezember")
    page.locator("form[action$='/erase'] button[type=submit]").click()
    expect(page.locator("#erase-confirm")).to_contain_text(open_number)
    assert violations(page) == []
    page.locator("#erase-confirm button[type=submit]").click()
    expect(page.locator("#erased-notice")).to_be_visible()
    expect(page.get_by_text(ALIAS)).to_have_count(0)

    # The client is gone from the caseload and its page.
    page.goto("/clients")
    expect(page.get_by_text(ALIAS)).to_have_count(0)
    assert page.goto(f"/clients/{client_id}").status == 404

    with Session(engine) as session:
        client = session.get(Client, client_id)
        assert client is not None and client.anonymised_at is not None and client.alias == ""
        referral = session.get(Referral, open_id)
        assert referral is not None and referral.status == ReferralStatus.cancelled
        notice = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.referral_id == open_id, OutboxMessage.kind == "erased"
            )
        ).one()
        assert notice.recipient == VOLMETAL_EMAIL and open_number in notice.subject
        for personal in (ALIAS, NOTE, MESSAGE):
            assert personal not in notice.subject and personal not in notice.body
