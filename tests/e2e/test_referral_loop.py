"""The full loop in a real browser, with the demo users: find, consent, send, accept, book,
complete, close — and the client's handout in Ukrainian and in Arabic (right to left)."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.axe import violations
from tests.e2e.steps import log_in, log_out


def test_closed_loop_with_demo_users(page: Page):
    # The case manager finds an evening integration course with a typo.
    log_in(page, "case_manager")
    page.goto("/services?q=integrationskurs+abend")
    page.get_by_role("link", name=re.compile("Integrationskurs am Abend")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Integrationskurs am Abend")
    service_url = page.url
    page.get_by_role("link", name="Klient:in vermitteln").click()

    # No client yet: create one from the referral form, then come back.
    page.get_by_role("link", name="Neue Klient:in anlegen").click()
    page.get_by_label("Alias", exact=True).fill("Grüner Schal")
    page.get_by_label("Geburtsjahr", exact=True).fill("1991")
    page.get_by_label("Українська").check()
    page.get_by_role("button", name="Klient:in anlegen").click()
    expect(page.get_by_label("Klient:in", exact=True)).to_have_value(re.compile(".+"))
    page.get_by_label("Notiz für den Partner").fill("Sucht einen Abendkurs, arbeitet tagsüber.")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect(page.get_by_text("Entwurf").first).to_be_visible()
    referral_url = page.url

    # Sending without consent is refused clearly; record the consent, then send.
    page.get_by_role("button", name="Vermittlung senden").click()
    expect(page.get_by_role("alert")).to_contain_text("Einwilligung")
    page.get_by_role("link", name="Grüner Schal").click()
    page.locator("summary", has_text="Einwilligung erfassen").click()
    page.get_by_label("Organisation", exact=True).select_option(
        label="Sprachschule Volmetal (Demo)"
    )
    page.get_by_label("Zweck").fill("Anmeldung zum Integrationskurs am Abend")
    page.get_by_role("button", name="Einwilligung erfassen").click()
    expect(page.get_by_role("link", name="Einwilligungserklärung drucken")).to_be_visible()
    page.goto(referral_url)
    page.get_by_role("button", name="Vermittlung senden").click()
    expect(page.locator("#referral-status")).to_have_text("Gesendet")
    log_out(page)

    # The partner answers from the inbox.
    log_in(page, "partner_staff")
    page.get_by_role("link", name="Posteingang").click()
    page.locator("tr", has_text="Integrationskurs am Abend").filter(
        has_text="neu"
    ).first.get_by_role("link").first.click()
    expect(page.get_by_text("Grüner Schal")).to_be_visible()
    page.get_by_role("button", name="Annehmen").click()
    expect(page.locator("#referral-status")).to_have_text("Angenommen")
    page.get_by_label("Termin", exact=True).fill("2026-12-03")
    page.get_by_label("Uhrzeit", exact=True).last.fill("17:30")
    page.get_by_role("button", name="Termin eintragen").click()
    expect(page.locator("#appointment")).to_contain_text("17:30")
    page.get_by_role("button", name="Als in Bearbeitung markieren").click()
    expect(page.locator("#referral-status")).to_have_text("In Bearbeitung")
    page.get_by_role("button", name="Abschließen", exact=True).click()
    expect(page.locator("#referral-status")).to_have_text("Abgeschlossen")
    assert violations(page) == []
    log_out(page)

    # The case manager sees the outcome and closes the loop with feedback.
    log_in(page, "case_manager")
    page.goto(referral_url)
    expect(page.locator("#referral-status")).to_have_text("Abgeschlossen")
    page.get_by_label("ja").first.check()
    page.get_by_role("button", name="Vermittlung abschließen").click()
    expect(page.locator("#referral-status")).to_have_text("Geschlossen")
    assert violations(page) == []

    # The handout, in the client's languages.
    for language, direction, label in (
        ("uk", "ltr", "Години роботи"),
        ("ar", "rtl", "مواعيد العمل"),
    ):
        page.goto(f"{referral_url}/handout?lang={language}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("html")).to_have_attribute("dir", direction)
        # Arabic writes the time on the 12-hour clock: 5:30 م (p.m.).
        expect(page.locator("body")).to_contain_text(re.compile("17:30|5:30"))
        if label:
            expect(page.locator("body")).to_contain_text(label)
    page.goto(service_url)
