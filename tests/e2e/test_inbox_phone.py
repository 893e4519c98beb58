"""The partner's inbox on a phone: a list of cards that fits the screen, with each referral's
status and waiting time in sight, and no WCAG violations."""

from playwright.sync_api import expect

from tests.e2e.axe import violations
from tests.e2e.steps import log_in

PHONE = {"width": 360, "height": 740}


def inside_the_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1


def test_the_inbox_is_a_list_of_cards_on_a_phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, locale="de-DE", base_url=live_server)
    phone = context.new_page()
    log_in(phone, "partner_staff")
    phone.goto("/inbox")
    cards = phone.locator(".data-table--cards tbody tr")
    assert cards.count() > 0
    # Nothing to scroll sideways: neither the page nor the list in its box.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert phone.locator(".table-scroll").evaluate("box => box.scrollWidth <= box.clientWidth + 1")
    for index in range(min(cards.count(), 5)):
        card = cards.nth(index)
        status, since = card.locator(".cell--status .status"), card.locator(".cell--since")
        expect(status).to_be_visible()
        expect(since).to_be_visible()
        expect(since).to_contain_text("Seit")
        assert inside_the_screen(status) and inside_the_screen(since), index
    assert violations(phone) == []
    context.close()


def test_the_inbox_stays_a_table_on_a_desktop(page):
    log_in(page, "partner_staff")
    page.goto("/inbox")
    expect(page.get_by_role("columnheader", name="Status")).to_be_visible()
    expect(page.locator(".cell-label").first).to_be_hidden()
