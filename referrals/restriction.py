"""Art. 18 GDPR: a restricted client's data is kept but not processed further.

While a client is restricted nobody edits the client, records a consent, drafts, edits or
sends a referral, posts a message or moves a referral on; only what stops processing stays
possible (withdrawing a consent, cancelling a referral, marking one entered in error, and the
system's own expiry). The restriction itself is set and lifted by ``privacy/restriction.py``.
"""

import uuid

from sqlmodel import Session

from lotse.errors import Conflict
from lotse.i18n import N_
from referrals.models import Client


class ClientRestricted(Conflict):
    code = "client_restricted"
    message = N_(
        "The processing of this client's data is restricted (Art. 18 GDPR): it is kept, but "
        "nothing can be changed, shared or referred until the restriction is lifted."
    )


def ensure_processable(client: Client) -> None:
    if client.is_restricted:
        raise ClientRestricted()


def ensure_client_processable(*, session: Session, client_id: uuid.UUID) -> None:
    client = session.get(Client, client_id)
    if client is not None:
        ensure_processable(client)
