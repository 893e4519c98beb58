"""Who may act on the referral pages and API routes, and the client or referral they act on.

The loaders answer 404 (not in your caseload, not addressed to you) before a route's body
runs; the role aliases answer 403 before the loaders. Pages and API routes use the same ones.
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from lotse.audit import Actor
from lotse.auth import Principal
from lotse.db import SessionDep
from lotse.models import Role
from lotse.permissions import Access
from lotse.proxies import client_address
from referrals import clients, sides
from referrals.models import Client, Referral

CaseManager = Annotated[Principal, Depends(Access.for_roles(Role.case_manager))]
PartnerStaff = Annotated[
    Principal, Depends(Access.for_roles(Role.partner_staff, Role.partner_admin))
]
ReferralParty = Annotated[
    Principal, Depends(Access.for_roles(Role.case_manager, Role.partner_staff, Role.partner_admin))
]
Admin = Annotated[Principal, Depends(Access.for_roles(Role.admin))]


def team_wide(request: Request) -> bool:
    """Whether case managers share their team's caseload (``LOTSE_CASELOAD_TEAM_WIDE``)."""
    return bool(request.app.state.settings.caseload_team_wide)


def actor_of(request: Request, principal: Principal) -> Actor:
    """Who acts, from where, for the audit log."""
    return Actor.of(principal.user, client_address(request))


@dataclass(frozen=True)
class Case:
    """A referral and the side the principal is on: "sender" or "receiver"."""

    referral: Referral
    side: str


def load_referral(
    request: Request, principal: ReferralParty, session: SessionDep, referral_id: uuid.UUID
) -> Case:
    referral, side = sides.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=team_wide(request)
    )
    return Case(referral, side)


def load_sent_referral(
    request: Request, principal: CaseManager, session: SessionDep, referral_id: uuid.UUID
) -> Case:
    """A referral the case manager (or their team) sent; the receiving side never sees these."""
    referral, side = sides.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=team_wide(request)
    )
    if side != "sender":
        raise sides.ReferralNotFound()
    return Case(referral, side)


def load_partner_referral(
    principal: PartnerStaff, session: SessionDep, referral_id: uuid.UUID
) -> Case:
    """A referral as partner staff work on it; team-wide caseloads are a case managers' matter."""
    referral, side = sides.get_referral(
        session=session, principal=principal, referral_id=referral_id, team_wide=False
    )
    return Case(referral, side)


def load_client(
    request: Request, principal: CaseManager, session: SessionDep, client_id: uuid.UUID
) -> Client:
    return clients.get_client(
        session=session, principal=principal, client_id=client_id, team_wide=team_wide(request)
    )


ReferralDep = Annotated[Case, Depends(load_referral)]
SentReferralDep = Annotated[Case, Depends(load_sent_referral)]
PartnerReferralDep = Annotated[Case, Depends(load_partner_referral)]
ClientDep = Annotated[Client, Depends(load_client)]
