"""Demo accounts (seed_data/hagen/demo_accounts.json) and logging in through the real form."""

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

PASSWORDS = {
    "case_manager": ("fallmanagement@demo.lotse.example.org", "Lotse-Fall-2026"),
    "partner_staff": ("kurse@demo.lotse.example.org", "Lotse-Kurs-2026"),
    "partner_admin": ("leitung@demo.lotse.example.org", "Lotse-Schule-2026"),
    "other_partner": ("wohnen@demo.lotse.example.org", "Lotse-Miete-2026"),
    "coordinator": ("koordination@demo.lotse.example.org", "Lotse-Koord-2026"),
    "admin": ("admin@demo.lotse.example.org", "Lotse-Betrieb-2026"),
    "privacy_officer": ("datenschutz@demo.lotse.example.org", "Lotse-Daten-2026"),
}
ROLES = (
    "anonymous",
    "case_manager",
    "partner_staff",
    "partner_admin",
    "coordinator",
    "admin",
    "privacy_officer",
)


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


def password_link_in_outbox(session: Session, email: str) -> str:
    """The newest password link emailed to this address (only its owner sees it)."""
    from lotse.outbox import OutboxMessage

    message = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == email, OutboxMessage.kind == "password_link")
        .order_by(col(OutboxMessage.created_at).desc())
    ).first()
    assert message, f"no password link was sent to {email}"
    match = re.search(r"https?://\S+/account/reset/\S+", message.body)
    assert match, message.body
    return match.group(0)
