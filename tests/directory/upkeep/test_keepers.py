"""What the domains above tell the directory (directory/upkeep/keepers.py) is complete."""

import inspect

from sqlmodel import SQLModel

import directory.models
import findings.models  # noqa: F401
import partners.models  # noqa: F401  (registers its tables, and through partners its keepers)
import referrals.models  # noqa: F401
from directory.models import ListingKind
from directory.upkeep import keepers
from partners import ownership

LISTING_KEYS = {"service.id": ListingKind.service, "organization.id": ListingKind.organization}


def test_partners_answers_who_keeps_a_listing():
    assert keepers.current().organizations_of is ownership.organizations_of
    assert keepers.current().address_for is ownership.address_for


def test_every_row_of_another_domain_that_points_at_a_listing_follows_a_merge():
    directory_tables = {
        model.__tablename__
        for _, model in inspect.getmembers(directory.models, inspect.isclass)
        if issubclass(model, SQLModel) and hasattr(model, "__table__")
    }
    pointing = {
        (table.name, key.parent.name, LISTING_KEYS[key.target_fullname])
        for table in SQLModel.metadata.tables.values()
        if table.name not in directory_tables
        for key in table.foreign_keys
        if key.target_fullname in LISTING_KEYS
    }
    attached = {
        (row.column.class_.__tablename__, row.column.key, kind)
        for kind in ListingKind
        for row in keepers.attached_to(kind)
    }
    assert pointing == attached
    assert pointing == {
        ("referral", "service_id", ListingKind.service),
        ("referral_service", "service_id", ListingKind.service),
        ("partner_organization", "directory_organization_id", ListingKind.organization),
        ("finding_subject", "service_id", ListingKind.service),
        ("finding_subject", "organization_id", ListingKind.organization),
        ("finding_evidence", "service_id", ListingKind.service),
    }
