"""The demo's organisations and one account per role (``seed_data/<region>/demo_accounts.json``).

Loaded only in demo mode and by the tests: the passwords are public. Idempotent: existing
organisations are updated, existing accounts keep whatever their users changed.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from directory.seed import stable_id
from lotse import accounts
from lotse.audit import SYSTEM
from lotse.models import Role, User
from partners.models import PartnerOrganization
from partners.organizations import PartnerIn, create_partner, differs, update_partner


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    roles: tuple[str, ...]
    organization: str


def seed_demo_accounts(*, session: Session, region_dir: Path) -> list[DemoAccount]:
    path = region_dir / "demo_accounts.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    partner_ids = {}
    for entry in data["organizations"]:
        partner_id = stable_id("partner_organization", entry["key"])
        listing = stable_id("organization", entry["listing"]) if entry.get("listing") else None
        partner_in = PartnerIn(
            name=entry["name"],
            notification_email=entry.get("notification_email"),
            directory_organization_id=listing,
            referral_service_ids=frozenset(
                stable_id("service", key) for key in entry.get("referral_services", [])
            ),
        )
        partner = session.get(PartnerOrganization, partner_id)
        if partner is None:
            create_partner(
                session=session, partner_in=partner_in, actor=SYSTEM, partner_id=partner_id
            )
        elif differs(session=session, partner=partner, partner_in=partner_in):
            update_partner(session=session, partner=partner, partner_in=partner_in, actor=SYSTEM)
        partner_ids[entry["key"]] = partner_id
    created = []
    for entry in data["users"]:
        email = accounts.normalise_email(entry["email"])
        if session.exec(select(User).where(User.email == email)).first() is None:
            accounts.create_user(
                session=session,
                actor=SYSTEM,
                user_in=accounts.NewUser(
                    email=email,
                    display_name=entry["name"],
                    organization_id=partner_ids[entry["organization"]],
                    roles=frozenset(Role(role) for role in entry["roles"]),
                    password=entry["password"],
                ),
            )
        created.append(
            DemoAccount(
                email=email,
                password=entry["password"],
                roles=tuple(entry["roles"]),
                organization=entry["organization"],
            )
        )
    session.flush()
    return created
