"""Referrals as each side works with them: the sender's drafts and dashboard, the receiving
organisation's inbox, what each may see, and the message thread between the two.

Scoping lives in the queries: a sender sees referrals they sent (or their team's, when team-wide
caseloads are on); a partner sees referrals addressed to their organisation, never drafts, and
only the client data the consent covers and the sender chose to share. Anything else is 404.
"""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from sqlalchemy import Integer, cast, func, text
from sqlmodel import Session, col, select

from directory.models import Service
from lotse import audit
from lotse.audit import Actor
from lotse.auth import Principal
from lotse.errors import LotseError, NotFound
from lotse.i18n import N_, gettext
from lotse.models import AuditCategory, Role, User
from lotse.timeutil import utcnow
from partners.models import ReferralService
from referrals import notifications, workflow
from referrals.inputs import AppointmentIn, MessageIn, TransitionIn
from referrals.labels import status_label
from referrals.models import (
    Client,
    Consent,
    DataCategory,
    Referral,
    ReferralEvent,
    ReferralMessage,
    ReferralRead,
    ReferralStatus,
    Urgency,
)

S = ReferralStatus


CATEGORY_LABELS = {
    DataCategory.identity: N_("Alias and year of birth"),
    DataCategory.languages: N_("Languages and need for an interpreter"),
    DataCategory.needs: N_("Needs (topics of support)"),
    DataCategory.residence_status: N_("Residence status group"),
    DataCategory.contact: N_("How to contact the client"),
    DataCategory.health: N_("Information about health"),
}
REASON_LABELS = {
    "no_capacity": N_("No capacity"),
    "not_eligible": N_("Not eligible"),
    "not_reachable": N_("Client not reachable"),
    "out_of_scope": N_("Not our field"),
    "other": N_("Other reason"),
    "client_not_reached": N_("Client not reached"),
    "client_withdrew": N_("Client withdrew"),
    "need_changed": N_("Need has changed"),
    "sent_by_mistake": N_("Sent by mistake"),
    "consent_withdrawn": N_("Consent withdrawn"),
    "need_met": N_("Need met"),
    "partly_met": N_("Need partly met"),
    "referred_on": N_("Referred on"),
    "waitlist": N_("Waiting list"),
    "client_action": N_("Waiting for the client"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "letter": N_("Letter"),
    "via_case_manager": N_("Through the case manager"),
    "language": N_("Language"),
    "distance": N_("Distance"),
    "cost": N_("Cost"),
    "waiting_time": N_("Waiting time"),
    "documents": N_("Documents"),
    "opening_hours": N_("Opening hours"),
    "normal": N_("Normal"),
    "soon": N_("Soon"),
    "urgent": N_("Urgent"),
}


def category_label(category: str) -> str:
    return gettext(CATEGORY_LABELS[DataCategory(category)])


def reason_label(code: str | None) -> str:
    return gettext(REASON_LABELS[code]) if code in REASON_LABELS else (code or "")


class ReferralNotFound(NotFound):
    message = N_("This referral does not exist or is not addressed to you.")


class NotEditable(LotseError):
    status_code = 409
    code = "not_editable"
    message = N_("Only drafts can be changed; a sent referral belongs to both sides.")


class EmptyMessage(LotseError):
    status_code = 422
    code = "empty_message"
    message = N_("Please write a message.")


class ConsentGone(LotseError):
    status_code = 409
    code = "consent_gone"
    message = N_(
        "The client's consent for this referral has been withdrawn or has expired. Nothing more "
        "can be shared on it, messages included."
    )


@dataclass
class DraftIn:
    need: str | None
    urgency: Urgency
    note: str
    health_note: str
    shared_categories: list[DataCategory]
    contact_preference: str | None
    contact_detail: str | None


# Any fixed number: the key of PostgreSQL's transaction lock that hands out referral numbers.
_NUMBER_LOCK = 0x4C6F7473  # "Lots"


def next_number(session: Session, now: datetime) -> str:
    """The year's next referral number, one per referral even when drafts are made at once.

    Drafting transactions take turns here until they end, so each sees the numbers the one
    before it committed: on PostgreSQL through a transaction lock, on SQLite because a
    writing transaction holds the database's write lock from its start (lotse.db.writing).
    The highest number counts, not how many there are, so erased referrals free no number.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NUMBER_LOCK})
    prefix = f"V-{now.year}-"
    highest = session.scalar(
        select(func.max(cast(func.substr(Referral.number, len(prefix) + 1), Integer))).where(
            col(Referral.number).startswith(prefix)
        )
    )
    return f"{prefix}{(highest or 0) + 1:05d}"


def recipient_of(*, session: Session, service_id: uuid.UUID) -> uuid.UUID | None:
    """The organisation that takes referrals to this service through Lotse, if any."""
    return session.exec(
        select(ReferralService.partner_organization_id).where(
            ReferralService.service_id == service_id
        )
    ).first()


def create_draft(
    *,
    session: Session,
    principal: Principal,
    client: Client,
    service: Service,
    draft_in: DraftIn,
    actor: Actor,
    previous: Referral | None = None,
) -> Referral:
    recipient = recipient_of(session=session, service_id=service.id)
    if recipient is None:
        raise workflow.NotAcceptingReferrals()
    now = utcnow()
    referral = Referral(
        number=next_number(session, now),
        client_id=client.id,
        service_id=service.id,
        recipient_organization_id=recipient,
        sender_id=principal.id,
        sender_organization_id=principal.organization_id,
        previous_referral_id=previous.id if previous else None,
    )
    _apply_draft(referral, draft_in)
    session.add(referral)
    session.flush()
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="edit",
            to_status=S.draft,
            note="linked" if previous else None,
        )
    )
    audit.record(
        session=session,
        actor=actor,
        action="referral.drafted",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
        client_id=client.id,
    )
    return referral


def _apply_draft(referral: Referral, draft_in: DraftIn) -> None:
    referral.need = draft_in.need
    referral.urgency = draft_in.urgency
    referral.note = draft_in.note.strip()
    referral.health_note = draft_in.health_note.strip()
    referral.shared_categories = [category.value for category in draft_in.shared_categories]
    referral.contact_preference = draft_in.contact_preference
    referral.contact_detail = (draft_in.contact_detail or "").strip() or None
    referral.updated_at = utcnow()


def update_draft(*, session: Session, referral: Referral, draft_in: DraftIn, actor: Actor) -> None:
    if referral.status != S.draft:
        raise NotEditable()
    _apply_draft(referral, draft_in)
    referral.version += 1
    session.add(referral)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="referral.edited",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
    )


# --- who sees which referral ----------------------------------------------------------------


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
        view.needs = client.needs
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
    audit.record(
        session=session,
        actor=actor,
        action="referral.viewed",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
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


# --- lists ------------------------------------------------------------------------------------


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


def status_counts(rows: list[Row]) -> Counter[str]:
    return Counter(str(row.referral.status) for row in rows)


def timeline(*, session: Session, referral: Referral) -> list[ReferralEvent | ReferralMessage]:
    events = list(
        session.exec(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)).all()
    )
    messages = list(
        session.exec(
            select(ReferralMessage).where(ReferralMessage.referral_id == referral.id)
        ).all()
    )
    return sorted(
        [*events, *messages],
        key=lambda item: item.at if isinstance(item, ReferralEvent) else item.created_at,
    )


# --- messages -------------------------------------------------------------------------------


def post_message(
    *,
    session: Session,
    referral: Referral,
    principal: Principal,
    message_in: MessageIn,
    actor: Actor,
    base_url: str,
) -> ReferralMessage:
    # A draft is still the sender's own; once sent, every word flows to the partner and needs
    # the consent that let the referral go out (or a newer one).
    if referral.status != S.draft and (
        workflow.active_consent(session=session, referral=referral, today=utcnow().date()) is None
    ):
        raise ConsentGone()
    text = message_in.body.strip()
    if not text:
        raise EmptyMessage()
    message = ReferralMessage(
        referral_id=referral.id,
        author_id=principal.id,
        author_organization_id=principal.organization_id,
        body=text[:5000],
    )
    session.add(message)
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            kind="message",
        )
    )
    session.flush()
    mark_read(session=session, referral=referral, user_id=principal.id)
    notifications.new_message(
        session=session,
        referral=referral,
        author_organization_id=principal.organization_id,
        base_url=base_url,
    )
    audit.record(
        session=session,
        actor=actor,
        action="referral.message_posted",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
    )
    return message


def mark_read(*, session: Session, referral: Referral, user_id: uuid.UUID) -> None:
    row = session.get(ReferralRead, (referral.id, user_id))
    if row is None:
        row = ReferralRead(referral_id=referral.id, user_id=user_id)
    row.read_at = utcnow()
    session.add(row)
    session.flush()


def unread_counts(
    *, session: Session, referral_ids: list[uuid.UUID], user_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Messages from others that arrived after the user last opened each referral."""
    read = dict(
        session.exec(
            select(ReferralRead.referral_id, ReferralRead.read_at).where(
                col(ReferralRead.referral_id).in_(referral_ids), ReferralRead.user_id == user_id
            )
        ).all()
    )
    counts: Counter[uuid.UUID] = Counter()
    for referral_id, author_id, created_at in session.exec(
        select(
            ReferralMessage.referral_id, ReferralMessage.author_id, ReferralMessage.created_at
        ).where(col(ReferralMessage.referral_id).in_(referral_ids))
    ).all():
        if author_id != user_id and (referral_id not in read or created_at > read[referral_id]):
            counts[referral_id] += 1
    return dict(counts)


# --- steps, the same for a page and the API -------------------------------------------------

# Where a step came from, kept in the audit log: a person on a page or a system with a token.
Channel = Literal["page", "api"]


def acting_side(
    *, principal: Principal, referral: Referral, side: str, target: ReferralStatus
) -> str:
    """The side a step is taken on: the principal's own, or admin where only an admin may."""
    if target in workflow.legal_targets(ReferralStatus(referral.status), [side]):
        return side
    return "admin" if principal.has_role(Role.admin) else side


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _feedback(step: TransitionIn) -> dict[str, object] | None:
    if step.feedback is None:
        return None
    return {
        "got_help": step.feedback.got_help,
        "helpful": step.feedback.helpful,
        "barriers": list(dict.fromkeys(step.feedback.barriers)),
        "note": _text(step.feedback.note),
    }


def change_status(
    *,
    session: Session,
    referral: Referral,
    side: str,
    principal: Principal,
    step: TransitionIn,
    actor: Actor,
    via: Channel,
    response_default_days: int,
    base_url: str,
) -> Referral:
    """Take one step of the workflow as the principal and write it to the audit log."""
    if step.version is not None and step.version != referral.version:
        # The caller saw an older state: somebody changed the referral since.
        raise workflow.ConcurrentChange(current=status_label(referral.status))
    workflow.transition(
        session=session,
        referral=referral,
        target=step.target,
        side=acting_side(principal=principal, referral=referral, side=side, target=step.target),
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(
            reason=step.reason,
            note=_text(step.note),
            outcome=step.outcome,
            hold_kind=step.hold_kind,
            waitlist_position=step.waitlist_position,
            waitlist_until=step.waitlist_until,
            appointment_at=step.appointment_at,
            appointment_place=_text(step.appointment_place),
            feedback=_feedback(step),
        ),
        response_default_days=response_default_days,
        base_url=base_url,
    )
    audit.record(
        session=session,
        actor=actor,
        action="referral.transition",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
        to=step.target,
        via=via,
    )
    return referral


def book_appointment(
    *,
    session: Session,
    referral: Referral,
    principal: Principal,
    appointment: AppointmentIn,
    actor: Actor,
    via: Channel,
) -> Referral:
    """The receiving organisation books (or moves) the client's appointment."""
    workflow.book_appointment(
        session=session,
        referral=referral,
        at=appointment.at,
        place=_text(appointment.place),
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
    )
    audit.record(
        session=session,
        actor=actor,
        action="referral.appointment_booked",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
        via=via,
    )
    return referral


def mark_entered_in_error(
    *,
    session: Session,
    referral: Referral,
    note: str,
    principal: Principal,
    actor: Actor,
    base_url: str,
) -> Referral:
    """An admin marks a referral as entered in error, without seeing its content."""
    workflow.transition(
        session=session,
        referral=referral,
        target=S.entered_in_error,
        side="admin",
        actor_id=principal.id,
        actor_organization_id=principal.organization_id,
        change=workflow.Change(note=note.strip() or None),
        base_url=base_url,
    )
    audit.record(
        session=session,
        actor=actor,
        action="referral.entered_in_error",
        category=AuditCategory.client_data,
        object_type="referral",
        object_id=referral.id,
    )
    return referral
