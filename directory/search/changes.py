"""Record which services a flush changes, so that every process's search index can follow.

A ``before_flush`` listener looks at the directory rows a session adds, changes or deletes,
works out the services they belong to, and adds one ``DirectoryChange`` row per service to the
same flush. Bulk statements bypass the listener; code that uses them calls
``record_full_change``.
"""

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from directory.models import (
    Accessibility,
    Address,
    CostOption,
    DirectoryChange,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceTargetGroup,
    ServiceTaxonomyTerm,
    TargetGroup,
    TaxonomyTerm,
    Translation,
)

_BY_SERVICE_ID = (
    ServiceTaxonomyTerm,
    ServiceTargetGroup,
    ServiceAtLocation,
    Schedule,
    Language,
    Phone,
    RequiredDocument,
    CostOption,
)
_GLOBAL = (TaxonomyTerm, TargetGroup)


def record_full_change(session: Session) -> None:
    """Tell every process to rebuild its whole index (after bulk changes)."""
    session.add(DirectoryChange(service_id=None))


def _services_at_locations(session: Any, location_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    rows = session.execute(
        select(ServiceAtLocation.service_id).where(
            col(ServiceAtLocation.location_id).in_(location_ids)
        )
    )
    return {row[0] for row in rows}


def _services_of_organizations(session: Any, organization_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    rows = session.execute(
        select(Service.id).where(col(Service.organization_id).in_(organization_ids))
    )
    return {row[0] for row in rows}


def _affected(session: Any) -> tuple[set[uuid.UUID], bool]:
    services: set[uuid.UUID] = set()
    locations: set[uuid.UUID] = set()
    organizations: set[uuid.UUID] = set()
    everything = False
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, DirectoryChange):
            continue
        if isinstance(row, Service):
            services.add(row.id)
        elif isinstance(row, _BY_SERVICE_ID):
            service_id = getattr(row, "service_id", None)
            location_id = getattr(row, "location_id", None)
            if service_id is not None:
                services.add(service_id)
            if location_id is not None:
                locations.add(location_id)
        elif isinstance(row, Location):
            locations.add(row.id)
        elif isinstance(row, (Address, Accessibility)):
            locations.add(row.location_id)
        elif isinstance(row, Organization):
            organizations.add(row.id)
        elif isinstance(row, Translation):
            if row.entity_type == "service":
                services.add(row.entity_id)
            elif row.entity_type == "organization":
                organizations.add(row.entity_id)
            elif row.entity_type in ("location", "accessibility"):
                everything = True
            else:
                everything = True
        elif isinstance(row, _GLOBAL):
            everything = True
    with session.no_autoflush:
        if locations:
            services |= _services_at_locations(session, locations)
        if organizations:
            services |= _services_of_organizations(session, organizations)
    return services, everything


@event.listens_for(OrmSession, "before_flush")
def _record_changes(session: Any, _context: Any, _instances: Any) -> None:
    services, everything = _affected(session)
    if everything:
        session.add(DirectoryChange(service_id=None))
    for service_id in services:
        session.add(DirectoryChange(service_id=service_id))
