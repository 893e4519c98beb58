"""Each demo role logs in in a real browser and sees the navigation its role allows."""

import re

import pytest
from playwright.sync_api import expect

from tests.accounts import PASSWORDS
from tests.e2e.axe import violations

NAVIGATION = {
    "case_manager": set(),
    "partner_staff": set(),
    "partner_admin": {"Unsere Mitarbeitenden"},
    "coordinator": {"Organisationen", "Benutzerkonten", "Protokoll"},
    "admin": {"Organisationen", "Benutzerkonten", "Protokoll", "Einstellungen"},
}
ADMIN_LINKS = {
    "Organisationen",
    "Benutzerkonten",
    "Unsere Mitarbeitenden",
    "Protokoll",
    "Einstellungen",
}


@pytest.mark.parametrize("role", sorted(NAVIGATION))
def test_each_role_sees_its_navigation(page, role):
    email, password = PASSWORDS[role]
    page.goto("/")
    page.get_by_role("link", name="Anmelden").click()
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Hauptnavigation")
    links = set(navigation.get_by_role("link").all_inner_texts())
    assert links & ADMIN_LINKS == NAVIGATION[role], links
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("link", name="Anmelden")).to_be_visible()


def test_a_case_manager_lands_on_their_referrals(page):
    email, password = PASSWORDS["case_manager"]
    page.goto("/")
    page.get_by_role("link", name="Anmelden").click()
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/referrals$"))
    navigation = page.get_by_role("navigation", name="Hauptnavigation")
    expect(navigation.locator('a[aria-current="page"]')).to_have_text("Meine Vermittlungen")


def test_wrong_password_and_login_page_accessibility(page):
    page.goto("/login")
    assert violations(page) == []
    page.get_by_label("E-Mail-Adresse").fill(PASSWORDS["admin"][0])
    page.get_by_label("Passwort").fill("das-ist-falsch-123")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("alert")).to_contain_text("nicht korrekt")


def test_admin_pages_are_accessible(page):
    email, password = PASSWORDS["admin"]
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    for path in ("/admin/users", "/admin/organizations", "/admin/audit", "/account"):
        page.goto(path)
        assert violations(page) == [], path
