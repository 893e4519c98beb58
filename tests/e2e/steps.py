"""Steps the browser tests share: logging the demo users in and out (German interface)."""

from playwright.sync_api import Page, expect

from tests.accounts import PASSWORDS


def log_in(page: Page, role: str) -> None:
    email, password = PASSWORDS[role]
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("link", name="Anmelden")).to_be_visible()
