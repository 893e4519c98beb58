"""Well-known records of the Hagen demo, found by their stable seed keys."""

from sqlmodel import Session

from directory.models import Service
from directory.seed import stable_id

KIM_KEY = "stadt-hagen-kim-case-management"


def service(session: Session, key: str) -> Service:
    found = session.get(Service, stable_id("service", key))
    assert found is not None, f"demo service {key} is missing from the seed"
    return found


def kim(session: Session) -> Service:
    return service(session, KIM_KEY)
