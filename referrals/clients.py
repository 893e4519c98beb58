"""Pseudonymous clients and their consents, scoped to the case manager's caseload.

Every read and write of client data is written to the audit log. A case manager sees their
own caseload, or their team's when ``LOTSE_CASELOAD_TEAM_WIDE`` is on; nobody else sees
clients at all (partners see only what a referral shares).
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from lotse.audit import Actor
from lotse.auth import Principal
from lotse.errors import LotseError, NotFound
from lotse.i18n import N_
from lotse.timeutil import utcnow
from referrals import auditing, workflow
from referrals.models import Client, Consent, DataCategory, Referral, ReferralStatus
from referrals.restriction import ensure_processable


class ClientNotFound(NotFound):
    message = N_("This client does not exist or is not in your caseload.")


class ConsentNotFound(NotFound):
    message = N_("This consent does not exist.")


class InvalidClient(LotseError):
    status_code = 422
    code = "invalid_client"


@dataclass
class ClientIn:
    alias: str
    birth_year: int | None
    languages: list[str]
    needs: list[str]
    interpreter_needed: bool
    residence_group: str | None


@dataclass
class ConsentIn:
    recipient_organization_id: uuid.UUID
    purpose: str
    categories: list[DataCategory]
    includes_health: bool
    form: str
    text_language: str
    expires_on: date | None


def _in_scope(principal: Principal, client: Client, team_wide: bool) -> bool:
    return client.anonymised_at is None and in_caseload(principal, client, team_wide)


def in_caseload(principal: Principal, client: Client, team_wide: bool) -> bool:
    """Whether ``client`` is (or, once anonymised, was) in the principal's caseload."""
    if team_wide:
        return client.organization_id == principal.organization_id
    return client.case_manager_id == principal.id


def _client_fields(client_in: ClientIn) -> dict[str, Any]:
    """The columns a case manager fills in, cleaned the same way on create and on edit."""
    return {
        "alias": client_in.alias.strip(),
        "birth_year": client_in.birth_year,
        "languages": list(dict.fromkeys(client_in.languages)),
        "needs": list(dict.fromkeys(client_in.needs)),
        "interpreter_needed": client_in.interpreter_needed,
        "residence_group": client_in.residence_group,
    }


def create_client(
    *, session: Session, client_in: ClientIn, principal: Principal, actor: Actor
) -> Client:
    client = Client(
        **_client_fields(client_in),
        case_manager_id=principal.id,
        organization_id=principal.organization_id,
    )
    session.add(client)
    session.flush()
    auditing.record(session=session, actor=actor, action="client.created", subject=client)
    return client


def update_client(*, session: Session, client: Client, client_in: ClientIn, actor: Actor) -> None:
    ensure_processable(client)
    client.sqlmodel_update(_client_fields(client_in))
    client.updated_at = utcnow()
    session.add(client)
    session.flush()
    auditing.record(session=session, actor=actor, action="client.updated", subject=client)


def get_client(
    *, session: Session, principal: Principal, client_id: uuid.UUID, team_wide: bool
) -> Client:
    """A client of the principal's caseload; reading it is recorded by ``record_view``."""
    client = session.get(Client, client_id)
    if client is None or not _in_scope(principal, client, team_wide):
        raise ClientNotFound()
    return client


def record_view(*, session: Session, client: Client, actor: Actor) -> None:
    auditing.record(session=session, actor=actor, action="client.viewed", subject=client)


def list_clients(
    *, session: Session, principal: Principal, team_wide: bool, search: str | None = None
) -> list[Client]:
    query = select(Client).where(col(Client.anonymised_at).is_(None))
    if team_wide:
        query = query.where(Client.organization_id == principal.organization_id)
    else:
        query = query.where(Client.case_manager_id == principal.id)
    if search:
        query = query.where(col(Client.alias).ilike(f"%{search.strip()}%"))
    return list(session.exec(query.order_by(col(Client.updated_at).desc())).all())


def consents_of(*, session: Session, client: Client) -> list[Consent]:
    return list(
        session.exec(
            select(Consent)
            .where(Consent.client_id == client.id)
            .order_by(col(Consent.recorded_at).desc())
        ).all()
    )


def get_consent(*, session: Session, client: Client, consent_id: uuid.UUID) -> Consent:
    consent = session.get(Consent, consent_id)
    if consent is None or consent.client_id != client.id:
        raise ConsentNotFound()
    return consent


def record_consent(
    *, session: Session, client: Client, consent_in: ConsentIn, principal: Principal, actor: Actor
) -> Consent:
    ensure_processable(client)
    consent = Consent(
        client_id=client.id,
        recipient_organization_id=consent_in.recipient_organization_id,
        purpose=consent_in.purpose.strip(),
        categories=[
            category.value for category in consent_in.categories if category != DataCategory.health
        ],
        includes_health=consent_in.includes_health,
        form=consent_in.form,
        text_language=consent_in.text_language,
        recorded_by_id=principal.id,
        expires_on=consent_in.expires_on,
    )
    session.add(consent)
    session.flush()
    auditing.record(
        session=session,
        actor=actor,
        action="consent.recorded",
        subject=consent,
        client_id=client.id,
        recipient=consent.recipient_organization_id,
    )
    return consent


def withdraw_consent(
    *, session: Session, consent: Consent, principal: Principal, actor: Actor, base_url: str
) -> list[Referral]:
    """Withdraw a consent and cancel the open referrals it covered. Returns those referrals."""
    if consent.withdrawn_at is not None:
        return []
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = principal.id
    session.add(consent)
    session.flush()
    open_referrals = session.exec(
        select(Referral).where(
            Referral.client_id == consent.client_id,
            Referral.recipient_organization_id == consent.recipient_organization_id,
            col(Referral.status).in_([*workflow.OPEN, ReferralStatus.draft]),
        )
    ).all()
    cancelled = []
    for referral in open_referrals:
        # A draft is the sender's own; a sent referral is cancelled on the system's authority.
        side = "sender" if referral.status == ReferralStatus.draft else "system"
        workflow.transition(
            session=session,
            referral=referral,
            target=ReferralStatus.cancelled,
            side=side,
            actor_id=principal.id,
            actor_organization_id=principal.organization_id,
            change=workflow.Change(reason="consent_withdrawn"),
            base_url=base_url,
        )
        cancelled.append(referral)
    auditing.record(
        session=session,
        actor=actor,
        action="consent.withdrawn",
        subject=consent,
        client_id=consent.client_id,
        cancelled_referrals=[str(r.id) for r in cancelled],
    )
    return cancelled
