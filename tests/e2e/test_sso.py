"""Single sign-on in a real browser: through the test OpenID provider's own login page and back,
then out of Lotse and out of the provider."""

import pytest
from playwright.sync_api import expect

from lotse import PROJECT_ROOT
from lotse.app import create_app
from lotse.settings import get_settings
from tests.conftest import browser_page, serving
from tests.e2e.axe import violations
from tests.oidc.harness import PROVIDER_NAME, USERS, sso_settings

# Screenshots of each step, for the release notes; test-artifacts/ is not committed.
SHOTS = PROJECT_ROOT / "test-artifacts" / "sso"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def sso_server(engine, oidc_provider, sso_live_port):
    """Lotse with single sign-on, on the port the provider knows as its redirect target."""
    base_url = f"http://127.0.0.1:{sso_live_port}"
    settings = get_settings().model_copy(update=sso_settings(oidc_provider.issuer, base_url))
    with serving(create_app(settings, engine=engine), sso_live_port) as url:
        yield url


@pytest.fixture
def sso_page(browser, sso_server):
    with browser_page(browser, sso_server) as page:
        yield page


def test_login_through_the_providers_page_and_logout_at_both(sso_page, oidc_provider):
    page = sso_page
    page.goto("/login")
    assert violations(page) == []
    shot(page, "1-lotse-login")
    page.get_by_role("link", name=f"Anmelden mit {PROVIDER_NAME}").click()

    # The provider's own login page, on its own origin.
    expect(page.get_by_role("heading", name="Test provider: sign in")).to_be_visible()
    assert page.url.startswith(oidc_provider.issuer)
    page.get_by_label("Username").fill("sven")
    page.get_by_label("Password").fill(USERS["sven"]["password"])
    shot(page, "2-provider-login")
    page.get_by_role("button", name="Sign in").click()

    # Back in Lotse, signed in as the person the provider vouched for.
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    page.goto("/account")
    expect(page.get_by_text("Sven Berger").first).to_be_visible()
    shot(page, "3-lotse-account")

    page.get_by_role("button", name="Abmelden").click()
    # The provider asks before ending its own session, then sends the browser back.
    expect(page.get_by_role("heading", name="Sign out of the test provider?")).to_be_visible()
    shot(page, "4-provider-logout")
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.get_by_text("Sie wurden abgemeldet.")).to_be_visible()
    assert page.url.endswith("/login?reason=logged_out")
    shot(page, "5-lotse-logged-out")

    # Signed out at the provider too: logging in again asks for the password.
    page.get_by_role("link", name=f"Anmelden mit {PROVIDER_NAME}").click()
    expect(page.get_by_label("Password")).to_be_visible()
