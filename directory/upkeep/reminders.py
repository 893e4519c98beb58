"""Reminders to providers whose listings are stale: one email per organisation, once a period.

Run by ``lotse jobs run`` before the outbox is delivered, possibly on several machines at the
same moment. Each service is claimed with a conditional ``UPDATE ... WHERE stale_reminded_at``
is unset or older than the period, so of two runners only one mails about it; an organisation's
claims and its email are committed together. The email goes to the notification address of the
partner organisation linked to the listing (the people who can sign in and confirm), or else to
the organisation's own public address; without either the services stay unclaimed until one is
entered. Like every Lotse email it carries only names of public listings and a link.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from directory import listings
from directory.models import Organization, Service
from directory.upkeep import keepers
from directory.upkeep.verification import stale_cutoff
from lotse import i18n, outbox
from lotse.i18n import N_, gettext
from lotse.settings import Settings
from lotse.timeutil import utcnow

SessionFactory = Callable[[], Session]

KIND = "verification_reminder"
SUBJECT = N_("Please check your entries in the Lotse directory")


@dataclass(frozen=True)
class ReminderReport:
    organizations: int  # emails written to the outbox
    services: int  # stale services those emails name
    without_address: int  # organisations with stale listings but no address to write to


def confirm_link(base_url: str, organization_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/maintenance/organizations/{organization_id}"


def _due(session: Session, cutoff: datetime) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Stale listed services whose provider was not reminded of them within the period."""
    rows = session.exec(
        select(Service.organization_id, Service.id)
        .where(
            listings.is_listed(),
            listings.stale_condition(cutoff=cutoff),
            or_(col(Service.stale_reminded_at).is_(None), col(Service.stale_reminded_at) < cutoff),
        )
        .order_by(col(Service.organization_id), col(Service.name))
    ).all()
    due: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for organization_id, service_id in rows:
        due[organization_id].append(service_id)
    return due


def recipient_of(session: Session, organization: Organization) -> tuple[str, str] | None:
    """The address the reminder goes to and the language it is written in: a linked partner's
    notification address in the partner's language, else the organisation's public address in
    the default language."""
    partner = keepers.current().address_for(session, organization.id)
    if partner:
        return partner[0], partner[1] or i18n.DEFAULT_LANGUAGE
    return (organization.email, i18n.DEFAULT_LANGUAGE) if organization.email else None


def _remind_organization(
    *,
    session: Session,
    organization_id: uuid.UUID,
    service_ids: list[uuid.UUID],
    cutoff: datetime,
    now: datetime,
    base_url: str,
) -> int | None:
    """Claim the services and write the email; the number claimed, or None without an address."""
    organization = session.get(Organization, organization_id)
    recipient = recipient_of(session, organization) if organization else None
    if organization is None or recipient is None:
        return None
    claimed: list[str] = []
    for service_id in service_ids:
        result = session.exec(
            update(Service)
            .where(
                col(Service.id) == service_id,
                or_(
                    col(Service.stale_reminded_at).is_(None),
                    col(Service.stale_reminded_at) < cutoff,
                ),
            )
            .values(stale_reminded_at=now)
        )
        if result.rowcount == 1:
            claimed.append(session.exec(select(Service.name).where(Service.id == service_id)).one())
    if not claimed:
        return 0
    address, language = recipient
    with i18n.language(language):
        subject, body = _reminder(organization, claimed, base_url)
    outbox.enqueue(
        session=session, kind=KIND, recipient=address, subject=subject, body=body, now=now
    )
    return len(claimed)


def _reminder(organization: Organization, claimed: list[str], base_url: str) -> tuple[str, str]:
    """The reminder's subject and body, in the current language."""
    subject = gettext(SUBJECT)
    body = "\n\n".join(
        (
            gettext(
                "The following entries of %(organization)s in the Lotse directory have not been "
                "confirmed for a long time. Please check whether they are still correct:",
                organization=organization.name,
            ),
            "\n".join(f"- {name}" for name in claimed),
            gettext(
                "Confirm them or suggest changes in Lotse: %(link)s",
                link=confirm_link(base_url, organization.id),
            ),
            gettext("For data protection, this email contains no personal data."),
        )
    )
    return subject, body


def remind_stale_providers(
    *, session_factory: SessionFactory, settings: Settings, now: datetime | None = None
) -> ReminderReport:
    """One round of reminders; each organisation is committed on its own."""
    moment = now or utcnow()
    cutoff = stale_cutoff(now=moment, stale_after_days=settings.stale_after_days)
    with session_factory() as session:
        due = _due(session, cutoff)
    organizations = services = without_address = 0
    for organization_id, service_ids in due.items():
        with session_factory() as session:
            claimed = _remind_organization(
                session=session,
                organization_id=organization_id,
                service_ids=service_ids,
                cutoff=cutoff,
                now=moment,
                base_url=settings.base_url,
            )
            session.commit()
        if claimed is None:
            without_address += 1
        elif claimed:
            organizations += 1
            services += claimed
    return ReminderReport(
        organizations=organizations, services=services, without_address=without_address
    )
