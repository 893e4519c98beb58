"""Organisations taking part: created, edited, linked to their listing, disabled, audited."""

import json
import uuid

import pytest
from sqlmodel import Session, col, select

from directory.seed import stable_id
from lotse.audit import Actor
from lotse.models import AuditEvent, User
from partners import organizations
from partners.models import PartnerOrganization
from partners.organizations import PartnerIn, PartnerNotFound, ServiceOfAnotherProvider
from tests.accounts import PASSWORDS

VOLMETAL = stable_id("partner_organization", "volmetal")
WOHNRAUMHILFE = stable_id("partner_organization", "wohnraumhilfe")


@pytest.fixture
def actor(session: Session) -> Actor:
    coordinator = session.exec(select(User).where(User.email == PASSWORDS["coordinator"][0])).one()
    return Actor.of(coordinator, "192.0.2.1")


def listing_of(session: Session, partner_id: uuid.UUID) -> uuid.UUID:
    listing = organizations.get_partner(session=session, partner_id=partner_id)
    assert listing.directory_organization_id is not None
    return listing.directory_organization_id


def services_of_listing(session: Session, partner_id: uuid.UUID) -> set[uuid.UUID]:
    listing = listing_of(session, partner_id)
    return {
        service.id
        for service in organizations.listing_services(session=session, organization_id=listing)
    }


def audit_events(session: Session, partner_id: uuid.UUID) -> list[AuditEvent]:
    about = select(AuditEvent).where(AuditEvent.object_id == str(partner_id))
    return list(session.exec(about.order_by(col(AuditEvent.at))).all())


def test_a_new_organisation_is_linked_to_its_listing_and_audited(session, actor):
    listing = listing_of(session, VOLMETAL)
    chosen = frozenset(list(services_of_listing(session, VOLMETAL))[:1])
    partner = organizations.create_partner(
        session=session,
        partner_in=PartnerIn(
            name="  Sprachcafé Wehringhausen ",
            notification_email=" Anmeldung@Sprachcafe.Example.org ",
            directory_organization_id=listing,
            referral_service_ids=chosen,
        ),
        actor=actor,
    )
    assert partner.name == "Sprachcafé Wehringhausen"
    assert partner.notification_email == "anmeldung@sprachcafe.example.org"
    assert partner.directory_organization_id == listing and partner.is_active
    assert organizations.referral_service_ids(session=session, partner_id=partner.id) == chosen
    [event] = audit_events(session, partner.id)
    assert event.action == "partner.created" and event.actor_email == actor.email
    assert event.ip_address == "192.0.2.1"


@pytest.mark.parametrize("linked", [True, False], ids=["another-listing", "no-listing"])
def test_only_the_listings_own_services_can_take_referrals(session, actor, linked):
    listing = listing_of(session, VOLMETAL) if linked else None
    with pytest.raises(ServiceOfAnotherProvider):
        organizations.create_partner(
            session=session,
            partner_in=PartnerIn(
                name="Falsch verknüpft",
                notification_email=None,
                directory_organization_id=listing,
                referral_service_ids=frozenset(services_of_listing(session, WOHNRAUMHILFE)),
            ),
            actor=actor,
        )


def test_an_edit_replaces_the_referral_services_and_records_before_and_after(session, actor):
    partner = organizations.get_partner(session=session, partner_id=VOLMETAL)
    before = organizations.referral_service_ids(session=session, partner_id=VOLMETAL)
    assert len(before) >= 2
    kept = frozenset(sorted(before)[:1])
    edit = PartnerIn(
        name="Sprachschule Volmetal",
        notification_email="kurse@volmetal.example.org",
        directory_organization_id=partner.directory_organization_id,
        referral_service_ids=kept,
    )
    assert organizations.differs(session=session, partner=partner, partner_in=edit)
    organizations.update_partner(session=session, partner=partner, partner_in=edit, actor=actor)
    assert organizations.referral_service_ids(session=session, partner_id=VOLMETAL) == kept
    assert not organizations.differs(session=session, partner=partner, partner_in=edit)
    event = audit_events(session, VOLMETAL)[-1]
    details = json.loads(event.details)
    assert event.action == "partner.updated"
    assert details["before"]["name"] == "Sprachschule Volmetal (Demo)"
    assert details["after"]["name"] == "Sprachschule Volmetal"
    assert sorted(details["before"]["referral_services"]) == sorted(map(str, before))
    assert details["after"]["referral_services"] == sorted(map(str, kept))


def test_unlinking_the_listing_ends_its_referral_services(session, actor):
    partner = organizations.get_partner(session=session, partner_id=VOLMETAL)
    organizations.update_partner(
        session=session,
        partner=partner,
        partner_in=PartnerIn(
            name=partner.name, notification_email=None, directory_organization_id=None
        ),
        actor=actor,
    )
    assert partner.directory_organization_id is None and partner.notification_email is None
    assert organizations.referral_service_ids(session=session, partner_id=VOLMETAL) == set()
    assert organizations.listing_services(session=session, organization_id=None) == []


def test_a_disabled_organisation_leaves_the_choices_and_comes_back(session, actor):
    partner = organizations.get_partner(session=session, partner_id=WOHNRAUMHILFE)
    organizations.set_partner_active(session=session, partner=partner, active=False, actor=actor)
    organizations.set_partner_active(session=session, partner=partner, active=False, actor=actor)
    active = organizations.list_partners(session=session, include_inactive=False)
    assert WOHNRAUMHILFE not in {p.id for p in active}
    assert WOHNRAUMHILFE in {p.id for p in organizations.list_partners(session=session)}
    organizations.set_partner_active(session=session, partner=partner, active=True, actor=actor)
    assert WOHNRAUMHILFE in {
        p.id for p in organizations.list_partners(session=session, include_inactive=False)
    }
    # Disabling twice is one change: the audit log says what happened, not what was asked.
    actions = [event.action for event in audit_events(session, WOHNRAUMHILFE)]
    assert actions[-2:] == ["partner.disabled", "partner.enabled"]
    assert actions.count("partner.disabled") == 1


def test_an_unknown_organisation_does_not_exist(session):
    with pytest.raises(PartnerNotFound):
        organizations.get_partner(session=session, partner_id=uuid.uuid4())
    assert session.get(PartnerOrganization, VOLMETAL) is not None
