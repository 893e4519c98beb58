"""Model details that users notice: timestamps stay timezone-aware, translations go stale."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from directory.models import Organization, Service, Translation
from directory.translations import Localizer, source_hash


def test_timestamps_come_back_timezone_aware(session):
    organization = Organization(name="Testträger (Demo)", description="", is_demo=True)
    session.add(organization)
    session.flush()
    session.expire_all()
    stored = session.get(Organization, organization.id)
    assert stored.created_at.tzinfo is not None
    assert abs((stored.created_at - datetime.now(UTC)).total_seconds()) < 60


def test_naive_timestamps_are_refused(session):
    organization = Organization(name="x", description="", created_at=datetime(2026, 1, 1))
    session.add(organization)
    with pytest.raises(Exception, match="naive"):
        session.flush()


def test_translation_is_outdated_when_the_german_text_changes(session):
    service = session.exec(
        select(Service)
        .join(Translation, Translation.entity_id == Service.id)
        .where(Translation.field == "description", Translation.language == "en")
    ).first()
    localizer = Localizer(session=session, language="en")
    assert not localizer.is_outdated(service, "description")
    service.description = service.description + " Neu: auch samstags."
    assert localizer.is_outdated(service, "description")
    assert localizer.text(service, "description") != service.description


def test_missing_translation_falls_back_to_german(session):
    # The demo's Greek has names and summaries, not descriptions.
    service = session.exec(select(Service)).first()
    localizer = Localizer(session=session, language="el")
    assert localizer.text(service, "description") == service.description
    assert not localizer.is_translated(service, "description")
    assert localizer.is_translated(service, "name")


def test_source_hash_is_stable():
    assert source_hash("Integrationskurs") == source_hash("Integrationskurs")
    assert source_hash("a") != source_hash("b")
