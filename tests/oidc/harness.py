"""The test OpenID provider (tests/oidc/provider.mjs, the `oidc-provider` package on Node.js):
starting it on loopback, its test users, and a scripted browser that logs in on its pages."""

import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx2

OIDC_DIR = Path(__file__).parent
CLIENT_ID = "lotse"
CLIENT_SECRET = "lotse-test-client-secret"
PROVIDER_NAME = "Stadt-Login"

# Each test user's claims; the groups map to Lotse's roles in SSO_SETTINGS below.
USERS: dict[str, dict] = {
    "anna": {
        "password": "anna-at-the-provider",
        "claims": {
            "email": "anna.schmidt@stadt.example.org",
            "email_verified": True,
            "name": "Anna Schmidt",
            "groups": ["lotse-case-managers", "staff"],
            "organisation": "kim",
        },
    },
    "chris": {
        "password": "chris-at-the-provider",
        "claims": {
            "email": "chris.weber@stadt.example.org",
            "email_verified": True,
            "given_name": "Chris",
            "family_name": "Weber",
            "groups": ["lotse-coordinators"],
            "organisation": "koordination",
        },
    },
    "nora": {
        "password": "nora-at-the-provider",
        "claims": {
            "email": "nora.new@stadt.example.org",
            "email_verified": True,
            "name": "Nora Neu",
            "groups": ["staff"],
        },
    },
    # The demo case manager, who already has a Lotse account with this address.
    "mira": {
        "password": "mira-at-the-provider",
        "claims": {
            "email": "fallmanagement@demo.lotse.example.org",
            "email_verified": True,
            "name": "Mira Demir",
            "groups": ["lotse-case-managers"],
            "organisation": "kim",
        },
    },
    # Only the browser test logs in as Sven; its writes are committed, not rolled back.
    "sven": {
        "password": "sven-at-the-provider",
        "claims": {
            "email": "sven.browser@stadt.example.org",
            "email_verified": True,
            "name": "Sven Berger",
            "groups": ["lotse-case-managers"],
            "organisation": "kim",
        },
    },
    # Claims the demo partner's address without the provider having verified it.
    "eve": {
        "password": "eve-at-the-provider",
        "claims": {
            "email": "kurse@demo.lotse.example.org",
            "email_verified": False,
            "name": "Eve",
            "groups": ["lotse-case-managers"],
        },
    },
}


def sso_settings(issuer: str, base_url: str, **changes: object) -> dict[str, object]:
    """The LOTSE_OIDC_* settings the tests use, as a settings update."""
    from pydantic import SecretStr

    from directory.seed import stable_id

    return {
        "base_url": base_url,
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": SecretStr(CLIENT_SECRET),
        "oidc_scopes": "openid email profile groups",
        "oidc_provider_name": PROVIDER_NAME,
        "oidc_roles_claim": "groups",
        "oidc_role_map": {
            "lotse-case-managers": "case_manager",
            "lotse-coordinators": "coordinator",
        },
        "oidc_organization_claim": "organisation",
        # One by id, one by name: both ways of naming an organisation work.
        "oidc_organization_map": {
            "kim": str(stable_id("partner_organization", "kim-team")),
            "koordination": "Stadt Hagen – Koordinierungsstelle KIM (Demo)",
        },
        "oidc_default_organization": str(stable_id("partner_organization", "kim-team")),
        **changes,
    }


@dataclass
class TestProvider:
    issuer: str
    process: subprocess.Popen
    workdir: Path

    def next_id_token(self, mode: str) -> None:
        """The next token response carries an ID token changed in this way (see provider.mjs)."""
        response = httpx2.post(f"{self.issuer}/__test__/next-id-token", json={"mode": mode})
        response.raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def missing_installation() -> str | None:
    if not shutil.which("node"):
        return "Node.js is not installed: run make test-setup"
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return (
            "The test OpenID provider is not installed in tests/oidc/node_modules: "
            "run make test-setup (it runs npm ci --prefix tests/oidc)"
        )
    return None


def start_provider(*, base_urls: list[str]) -> TestProvider:
    """The provider on a free loopback port, with Lotse registered for these base URLs."""
    workdir = Path(tempfile.mkdtemp(prefix="lotse-oidc-"))
    config = {
        "port": 0,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{base}/login/sso/callback" for base in base_urls],
                "post_logout_redirect_uris": [
                    f"{base}/login?reason=logged_out" for base in base_urls
                ],
            }
        ],
        "users": USERS,
    }
    (workdir / "config.json").write_text(json.dumps(config))
    log = (workdir / "provider.log").open("w")
    process = subprocess.Popen(
        ["node", str(OIDC_DIR / "provider.mjs"), str(workdir / "config.json")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    line = process.stdout.readline()
    if not line.startswith("listening ") or time.monotonic() > deadline:
        process.kill()
        raise RuntimeError(
            "The test OpenID provider did not start: "
            + (workdir / "provider.log").read_text()[-2000:]
        )
    return TestProvider(issuer=line.split()[1], process=process, workdir=workdir)


@dataclass
class ProviderBrowser:
    """A person's browser at the provider: keeps the provider's cookies between steps."""

    app_base: str
    http: httpx2.Client = field(default_factory=lambda: httpx2.Client(follow_redirects=False))
    last_page: str = ""

    def follow_until_app(self, url: str) -> str:
        """Follows the provider's redirects until one leads back to the app; returns that URL."""
        for _ in range(10):
            if url.startswith(self.app_base):
                return url
            response = self.http.get(url)
            if response.status_code not in (302, 303):
                self.last_page = response.text
                return url
            url = urljoin(url, response.headers["location"])
        raise AssertionError("too many redirects at the provider")

    def log_in(self, authorization_url: str, username: str, password: str | None = None) -> str:
        """Signs in on the provider's login page; returns the callback URL into the app."""
        url = self.follow_until_app(authorization_url)
        if url.startswith(self.app_base):
            return url  # still signed in at the provider
        action = re.search(r'<form method="post" action="([^"]+)"', self.last_page)
        assert action, f"no login form at the provider: {self.last_page[:500]}"
        response = self.http.post(
            urljoin(url, action.group(1)),
            data={"username": username, "password": password or USERS[username]["password"]},
        )
        assert response.status_code == 303, response.text[:500]
        return self.follow_until_app(urljoin(url, response.headers["location"]))

    def confirm_logout(self, end_session_url: str) -> str:
        """Confirms the provider's sign-out page; returns where the provider sends the browser."""
        page = self.http.get(end_session_url)
        assert page.status_code == 200, page.text[:500]
        form = re.search(r'<form id="op.logoutForm" method="post" action="([^"]+)">', page.text)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
        assert form and xsrf, page.text[:500]
        response = self.http.post(
            urljoin(end_session_url, form.group(1)), data={"xsrf": xsrf.group(1), "logout": "yes"}
        )
        assert response.status_code in (302, 303), response.text[:500]
        return urljoin(end_session_url, response.headers["location"])

    def close(self) -> None:
        self.http.close()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
