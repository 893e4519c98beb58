"""Whose rights a user may exercise: the client a data subject request is about.

Case managers act for their own caseload (their team's when caseloads are team-wide), also
for a client whose data was erased, so that a second erasure is told so; the data protection
officer acts for every client. Anyone else, or a client out of scope, gets the same 404.
"""

import uuid

from sqlmodel import Session

from lotse.auth import Principal
from lotse.permissions import Right, rights_of
from referrals.clients import ClientNotFound, in_caseload
from referrals.models import Client


def get_subject(
    *, session: Session, principal: Principal, client_id: uuid.UUID, team_wide: bool
) -> Client:
    client = session.get(Client, client_id)
    if client is None or not in_scope(principal, client, team_wide):
        raise ClientNotFound()
    return client


def in_scope(principal: Principal, client: Client, team_wide: bool) -> bool:
    rights = rights_of(principal.roles)
    if Right.every_clients_data in rights:
        return True
    return Right.client_data in rights and in_caseload(principal, client, team_wide)
