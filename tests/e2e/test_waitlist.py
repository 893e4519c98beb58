"""A partner with no place free answers a new referral with the waiting list, without accepting
it first; the referral page shows the needs the consent covers, and the case manager sees that
the client waits for a place."""

from playwright.sync_api import Page, expect

from tests.e2e.axe import violations
from tests.e2e.steps import log_in, log_out

# A demo referral sent to the language school and not yet opened; its consent and the case
# manager's choice cover the client's needs.
NEW_REFERRAL = "V-DEMO-0002"


def test_a_new_referral_goes_straight_on_the_waiting_list(page: Page):
    log_in(page, "partner_staff")
    page.goto("/inbox")
    page.get_by_role("link", name=NEW_REFERRAL).click()
    expect(page.locator("#referral-status")).to_have_text("Gesendet")
    expect(page.locator("#referral-need")).to_contain_text("Integrationskurs")
    expect(page.locator("#client-needs .chip").first).to_be_visible()

    waitlist = page.locator("form:has(input[name=hold_kind][value=waitlist])")
    waitlist.get_by_label("Platz auf der Warteliste").fill("2")
    waitlist.get_by_role("button").click()
    expect(page.locator("#referral-status")).to_have_text("Pausiert")
    expect(page.locator("#state-title + .facts")).to_contain_text("Warteliste")
    assert violations(page) == []
    log_out(page)

    log_in(page, "case_manager")
    page.goto("/referrals")
    row = page.locator("tr", has_text=NEW_REFERRAL)
    expect(row).to_contain_text("Pausiert")
    expect(row).to_contain_text("Warteliste")
