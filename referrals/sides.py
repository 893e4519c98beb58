"""Referrals as each side sees them: who is the sender and who the receiver, what each may see of
the client (only what the consent covers and the sender chose to share), the sender's dashboard and
the receiving organisation's inbox.

Scoping lives in the queries: a sender sees referrals they sent (or their team's, when team-wide
caseloads are on); a partner sees referrals addressed to their organisation, never drafts. Anything
else is 404.
"""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from directory.models import Service
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.errors import NotFound
from lotse.i18n import N_
from lotse.models import Role, User
from lotse.timeutil import utcnow
from partners.models import ReferralService
from referrals import auditing, workflow
from referrals.models import (
    Client,
    Consent,
    DataCategory,
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralStatus,
    Urgency,
)
from referrals.thread import mark_read, unread_counts

S = ReferralStatus


class ReferralNotFound(NotFound):
    message = N_("This referral does not exist or is not addressed to you.")


def side_of(principal: Principal, referral: Referral, *, team_wide: bool) -> str | None:
    """'sender', 'receiver', or None when the principal may not see this referral."""
    if principal.has_role(Role.case_manager) and (
        referral.sender_id == principal.id
        or (team_wide and referral.sender_organization_id == principal.organization_id)
    ):
        return "sender"
    if (
        principal.has_role(Role.partner_staff, Role.partner_admin)
        and referral.recipient_organization_id == principal.organization_id
        # Only what was actually sent: a draft marked as an error never reached them.
        and referral.sent_at is not None
    ):
        return "receiver"
    return None


def get_referral(
    *, session: Session, principal: Principal, referral_id: uuid.UUID, team_wide: bool
) -> tuple[Referral, str]:
    referral = session.get(Referral, referral_id)
    side = side_of(principal, referral, team_wide=team_wide) if referral else None
    if referral is None or side is None:
        raise ReferralNotFound()
    return referral, side


def get_by_number(*, session: Session, number: str) -> Referral:
    """A referral by its number, for admins who correct errors without reading content."""
    referral = session.exec(select(Referral).where(Referral.number == number.strip())).first()
    if referral is None:
        raise ReferralNotFound()
    return referral


def referrals_of(*, session: Session, client: Client) -> list[Referral]:
    """A client's referrals, newest first."""
    return list(
        session.exec(
            select(Referral)
            .where(Referral.client_id == client.id)
            .order_by(col(Referral.created_at).desc())
        ).all()
    )


def services_of(*, session: Session, referrals: list[Referral]) -> dict[uuid.UUID, Service]:
    """The services the referrals go to, by id."""
    if not referrals:
        return {}
    wanted = {referral.service_id for referral in referrals}
    return {s.id: s for s in session.exec(select(Service).where(col(Service.id).in_(wanted)))}


def alternatives(*, session: Session, referral: Referral) -> list[Service]:
    """Other services that take referrals through Lotse, those for the same need first."""
    services = session.exec(
        select(Service)
        .join(ReferralService, col(ReferralService.service_id) == Service.id)
        .where(Service.id != referral.service_id)
        .order_by(col(Service.name))
    ).all()
    unique = list({service.id: service for service in services}.values())
    return sorted(unique, key=lambda s: referral.need not in {t.code for t in s.categories})


def people_on(
    *, session: Session, referral: Referral, timeline: list[ReferralEvent | ReferralMessage]
) -> dict[uuid.UUID, User]:
    """The sender and everyone who wrote on the referral's timeline, by id."""
    ids = {referral.sender_id} | {item.author_id for item in timeline if hasattr(item, "author_id")}
    return {user.id: user for user in session.exec(select(User).where(col(User.id).in_(ids)))}


@dataclass
class SharedClient:
    """The client as the receiving organisation may see them under the consent."""

    alias: str | None = None
    birth_year: int | None = None
    languages: list[str] = field(default_factory=list)
    interpreter_needed: bool | None = None
    needs: list[str] = field(default_factory=list)
    # The need this referral is about, one of the taxonomy's codes.
    need: str | None = None
    residence_group: str | None = None
    contact_preference: str | None = None
    contact_detail: str | None = None
    health_note: str | None = None
    categories: list[str] = field(default_factory=list)


def consent_of(*, session: Session, referral: Referral, today: date) -> Consent | None:
    """The consent that covers the referral today, else the one it was sent under (to show)."""
    consent = workflow.active_consent(session=session, referral=referral, today=today)
    if consent is None and referral.consent_id:
        consent = session.get(Consent, referral.consent_id)
    return consent


def shared_client(
    *, referral: Referral, client: Client, consent: Consent | None, today: date
) -> SharedClient:
    """Only what the consent covers *and* the sender chose to share; nothing without consent."""
    if consent is None:
        return SharedClient()

    def shared(category: DataCategory) -> bool:
        return category.value in referral.shared_categories and consent.covers(
            referral.recipient_organization_id, category, today
        )

    view = SharedClient(categories=[c.value for c in DataCategory if shared(c)])
    if shared(DataCategory.identity):
        view.alias, view.birth_year = client.alias, client.birth_year
    if shared(DataCategory.languages):
        view.languages, view.interpreter_needed = client.languages, client.interpreter_needed
    if shared(DataCategory.needs):
        view.needs, view.need = client.needs, referral.need
    if shared(DataCategory.residence_status):
        view.residence_group = client.residence_group
    if shared(DataCategory.contact):
        view.contact_preference = referral.contact_preference
        view.contact_detail = referral.contact_detail
    if shared(DataCategory.health):
        view.health_note = referral.health_note or None
    return view


def record_view(
    *, session: Session, referral: Referral, side: str, principal: Principal, actor: Actor
) -> None:
    auditing.record(
        session=session,
        actor=actor,
        action="referral.viewed",
        subject=referral,
        side=side,
    )
    if side == "receiver":
        workflow.record_received(
            session=session,
            referral=referral,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
        )
    mark_read(session=session, referral=referral, user_id=principal.id)


def _overdue(referral: Referral, now: datetime) -> bool:
    return (
        referral.status == S.sent
        and referral.response_due_at is not None
        and referral.response_due_at <= now
    )


@dataclass
class Row:
    referral: Referral
    client: Client | None
    service: Service
    waiting_on: str  # partner | me | nobody
    since: datetime
    overdue: bool
    unread: int


def _rows(
    session: Session,
    referrals: list[Referral],
    user_id: uuid.UUID,
    *,
    for_sender: bool,
    now: datetime,
) -> list[Row]:
    if not referrals:
        return []
    ids = [r.id for r in referrals]
    services = services_of(session=session, referrals=referrals)
    clients = {}
    if for_sender:
        clients = {
            c.id: c
            for c in session.exec(
                select(Client).where(col(Client.id).in_({r.client_id for r in referrals}))
            ).all()
        }
    unread = unread_counts(session=session, referral_ids=ids, user_id=user_id)
    rows = []
    for referral in referrals:
        status = ReferralStatus(referral.status)
        if status in workflow.FINISHED or status == S.draft:
            waiting_on = "me" if for_sender else "nobody"
        elif status in workflow.OPEN:
            waiting_on = "partner" if for_sender else "me"
        else:
            waiting_on = "nobody"
        rows.append(
            Row(
                referral=referral,
                client=clients.get(referral.client_id),
                service=services[referral.service_id],
                waiting_on=waiting_on,
                since=referral.updated_at,
                overdue=_overdue(referral, now),
                unread=unread.get(referral.id, 0),
            )
        )
    return rows


URGENCY_ORDER = {Urgency.urgent: 0, Urgency.soon: 1, Urgency.normal: 2}


def dashboard(
    *,
    session: Session,
    principal: Principal,
    team_wide: bool,
    status: str | None = None,
    search: str | None = None,
    now: datetime | None = None,
) -> list[Row]:
    """The sender's referrals: overdue first, then what waits on them, then the oldest."""
    now = now or utcnow()
    query = select(Referral)
    if team_wide:
        query = query.where(Referral.sender_organization_id == principal.organization_id)
    else:
        query = query.where(Referral.sender_id == principal.id)
    if status == "open":
        query = query.where(col(Referral.status).in_([*workflow.OPEN, *workflow.FINISHED, S.draft]))
    elif status:
        query = query.where(Referral.status == status)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.join(Client, col(Client.id) == Referral.client_id).where(
            col(Client.alias).ilike(pattern) | col(Referral.number).ilike(pattern)
        )
    rows = _rows(session, list(session.exec(query).all()), principal.id, for_sender=True, now=now)
    return sorted(
        rows,
        key=lambda row: (
            not row.overdue,
            row.waiting_on != "me",
            row.referral.status in workflow.TERMINAL,
            row.since,
        ),
    )


def inbox(
    *,
    session: Session,
    principal: Principal,
    status: str | None = None,
    now: datetime | None = None,
) -> list[Row]:
    """Referrals addressed to the principal's organisation: newest and most urgent first."""
    now = now or utcnow()
    query = select(Referral).where(
        Referral.recipient_organization_id == principal.organization_id,
        col(Referral.sent_at).is_not(None),
    )
    if status == "open":
        query = query.where(col(Referral.status).in_(workflow.OPEN))
    elif status:
        query = query.where(Referral.status == status)
    rows = _rows(session, list(session.exec(query).all()), principal.id, for_sender=False, now=now)
    return sorted(
        rows,
        key=lambda row: (
            row.referral.status not in workflow.OPEN,
            not row.overdue,
            URGENCY_ORDER[Urgency(row.referral.urgency)],
            -(row.referral.sent_at or row.referral.created_at).timestamp(),
        ),
    )


# How long a referral cancelled for an expired consent stays in the dashboard's notice.
CONSENT_NOTICE_DAYS = 30


def ended_by_consent_expiry(rows: list[Row], *, now: datetime) -> list[Row]:
    """The sender's referrals that an expired consent put on hold, or cancelled lately."""
    since = now - timedelta(days=CONSENT_NOTICE_DAYS)
    return [
        row
        for row in rows
        if (row.referral.status == S.on_hold and row.referral.hold_kind == workflow.CONSENT_EXPIRED)
        or (
            row.referral.status == S.cancelled
            and row.referral.status_reason == workflow.CONSENT_EXPIRED
            and row.referral.updated_at >= since
        )
    ]


def status_counts(rows: list[Row]) -> Counter[str]:
    return Counter(str(row.referral.status) for row in rows)


def acting_side(
    *, principal: Principal, referral: Referral, side: str, target: ReferralStatus
) -> str:
    """The side a step is taken on: the principal's own, or admin where only an admin may."""
    if target in workflow.legal_targets(ReferralStatus(referral.status), [side]):
        return side
    return "admin" if principal.has_role(Role.admin) else side
