"""Demo accounts (seed_data/hagen/demo_accounts.json) and logging in through the real form."""

import re

from fastapi.testclient import TestClient

PASSWORDS = {
    "case_manager": ("fallmanagement@demo.lotse.example.org", "Lotse-Fall-2026"),
    "partner_staff": ("kurse@demo.lotse.example.org", "Lotse-Kurs-2026"),
    "partner_admin": ("leitung@demo.lotse.example.org", "Lotse-Schule-2026"),
    "other_partner": ("wohnen@demo.lotse.example.org", "Lotse-Miete-2026"),
    "coordinator": ("koordination@demo.lotse.example.org", "Lotse-Koord-2026"),
    "admin": ("admin@demo.lotse.example.org", "Lotse-Betrieb-2026"),
}
ROLES = ("anonymous", "case_manager", "partner_staff", "partner_admin", "coordinator", "admin")


def csrf_token(client: TestClient) -> str:
    """The token of this client's CSRF cookie (set on its first request)."""
    if "lotse_csrf" not in client.cookies:
        client.get("/login")
    return client.cookies["lotse_csrf"]


def post(client: TestClient, url: str, data: dict | None = None, **kwargs):
    return client.post(
        url,
        data={"csrf_token": csrf_token(client), **(data or {})},
        follow_redirects=False,
        **kwargs,
    )


def login(client: TestClient, who: str, password: str | None = None):
    email, known = PASSWORDS.get(who, (who, None))
    response = post(client, "/login", {"email": email, "password": password or known, "next": "/"})
    return response


def one_time_password(html: str) -> str:
    match = re.search(r'id="one-time-password">([^<]+)<', html)
    assert match, "no one-time password on the page"
    return match.group(1)
