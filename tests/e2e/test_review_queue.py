"""A partner suggests a change to its own listing, a coordinator approves it in the review
queue, and the public search finds the new text. Controls are found by their ids, so the test
does not depend on how the new strings are worded in German."""

import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.axe import violations
from tests.e2e.steps import log_in, log_out

WORD = "Volmefuchs"


def test_partner_suggestion_approved_and_found_by_search(page: Page):
    log_in(page, "partner_staff")
    page.goto("/suggestions")
    page.locator(
        'a[href*="/suggestions/service/"]', has_text="Integrationskurs am Abend"
    ).first.click()
    description = page.locator("#description")
    description.fill(f"{description.input_value()} Mit Kinderbetreuung ({WORD}).")
    page.locator("#message").fill("Ab März betreuen wir Kinder während des Kurses.")
    page.locator('form[action*="/suggestions/service/"] button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/suggestions\?sent=1$"))
    expect(page.get_by_role("status")).to_be_visible()
    log_out(page)

    log_in(page, "coordinator")
    page.goto("/editor/review")
    row = page.locator("tr", has_text="Integrationskurs am Abend")
    expect(row).to_be_visible()
    assert violations(page) == []
    row.get_by_role("link").first.click()
    expect(page.locator('textarea[name="edit:description"]')).to_contain_text(WORD)
    assert violations(page) == []
    page.locator('#approve-form button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/editor/review\?done=approved$"))

    # The public search follows the change log within its freshness interval.
    log_out(page)
    deadline = time.monotonic() + 15
    while True:
        page.goto(f"/services?q={WORD.lower()}")
        hits = page.get_by_role("link", name=re.compile("Integrationskurs am Abend"))
        if hits.count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(hits.first).to_be_visible()
