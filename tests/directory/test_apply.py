"""The one writer: rows by id, snapshot values to rows, versions of what changed, change records."""

import uuid
from datetime import time

from sqlmodel import Session, col, func, select

from directory.apply import Writer, apply
from directory.models import (
    CapacityChange,
    DirectoryChange,
    ListingVersion,
    Organization,
    Phone,
    Schedule,
    Service,
    Translation,
)
from directory.translations import source_hash
from directory.versions import Author, history, snapshot
from lotse.models import User
from tests import demo

AUTHOR = Author(label="Test import")


def _full_changes(session: Session) -> int:
    session.flush()
    return session.exec(
        select(func.count())
        .select_from(DirectoryChange)
        .where(col(DirectoryChange.service_id).is_(None))
    ).one()


def _versions(session: Session, listing: Service | Organization) -> int:
    return session.exec(
        select(func.count())
        .select_from(ListingVersion)
        .where(ListingVersion.entity_id == listing.id)
    ).one()


def test_upsert_creates_then_writes_only_what_differs(session):
    writer = Writer(session)
    organization_id = uuid.uuid4()
    created, outcome = writer.upsert(Organization, organization_id, name="Neu", description="")
    assert outcome == "created" and created.id == organization_id
    session.flush()
    stamped = created.updated_at

    same, outcome = writer.upsert(Organization, organization_id, name="Neu", description="")
    assert outcome == "unchanged" and same is created and created.updated_at == stamped

    _, outcome = writer.upsert(Organization, organization_id, name="Umbenannt", description="")
    assert outcome == "updated"
    assert created.name == "Umbenannt" and created.updated_at > stamped
    assert writer.counts == {"created": 1, "unchanged": 1, "updated": 1}


def test_a_preloaded_id_that_is_not_there_is_created_without_another_lookup(session, monkeypatch):
    writer = Writer(session)
    missing = uuid.uuid4()
    writer.preload(Organization, [missing])

    def no_lookup(*_args, **_kwargs):
        raise AssertionError("the preload already knows the row is not there")

    monkeypatch.setattr(session, "get", no_lookup)
    row, outcome = writer.upsert(Organization, missing, name="Neu", description="")
    assert outcome == "created" and writer.loaded(Organization, missing) is row


def test_apply_writes_snapshot_values_and_one_version(session):
    kim = demo.kim(session)
    old_name = kim.name
    values = {
        "name": "KIM neu",
        "schedules": [{"weekday": 3, "opens_at": "08:00", "closes_at": "10:00"}],
        "phones": ["02331 123456"],
        "translations": {"name": {"en": {"text": "KIM new", "kind": "human"}}},
    }
    version = apply(session=session, listing=kim, values=values, author=AUTHOR, action="imported")
    assert version is not None and version.action == "imported"
    assert version.actor_label == "Test import" and version.actor_id is None
    assert version.before["name"] == old_name and version.after["name"] == "KIM neu"
    now = snapshot(session, kim)
    assert now["schedules"] == values["schedules"] and now["phones"] == values["phones"]
    assert now["translations"]["name"]["en"] == {"text": "KIM new", "kind": "human"}
    assert session.exec(select(Schedule).where(Schedule.service_id == kim.id)).one().weekday == 3

    count = _versions(session, kim)
    again = apply(session=session, listing=kim, values=values, author=AUTHOR, action="imported")
    assert again is None and _versions(session, kim) == count


def test_a_new_listing_gets_a_first_version_without_before(session):
    organization = Organization(name="Neuer Träger", description="")
    version = apply(
        session=session,
        listing=organization,
        values={"website": "https://example.org", "phones": ["0800 111"]},
        author=AUTHOR,
        action="created",
        new=True,
        note="aus dem Test",
    )
    assert version is not None and version.before is None and version.note == "aus dem Test"
    assert version.after["website"] == "https://example.org"
    assert version.after["phones"] == ["0800 111"]
    assert [
        v.number
        for v in history(session=session, kind=version.entity_type, entity_id=organization.id)
    ] == [1]


def test_a_translation_belongs_to_the_listing_text_or_to_the_given_source(session):
    kim = demo.kim(session)
    apply(
        session=session,
        listing=kim,
        values={"translations": {"name": {"uk": {"text": "КІМ", "kind": "human"}}}},
        author=AUTHOR,
        action="edited",
    )
    apply(
        session=session,
        listing=kim,
        values={"translations": {"description": {"uk": {"text": "Опис", "kind": "human"}}}},
        author=AUTHOR,
        action="imported",
        sources={"description": "Der Text an der Quelle"},
    )
    rows = {
        row.field: row
        for row in session.exec(
            select(Translation).where(Translation.entity_id == kim.id, Translation.language == "uk")
        )
    }
    assert rows["name"].source_hash == source_hash(kim.name)
    assert rows["description"].source_hash == source_hash("Der Text an der Quelle")

    apply(
        session=session,
        listing=kim,
        values={"translations": {"name": {"uk": None}}},
        author=AUTHOR,
        action="edited",
    )
    assert "uk" not in snapshot(session, kim)["translations"].get("name", {})


def test_a_capacity_change_is_logged_with_its_author(session):
    user = session.exec(
        select(User).where(User.email == "koordination@demo.lotse.example.org")
    ).one()
    kim = demo.kim(session)
    status = "waitlist" if kim.capacity_status != "waitlist" else "no_places"
    apply(
        session=session,
        listing=kim,
        values={"capacity_status": status},
        author=Author.of(user),
        action="edited",
    )
    change = session.exec(select(CapacityChange).where(CapacityChange.service_id == kim.id)).all()[
        -1
    ]
    assert change.status == status and change.changed_by_id == user.id
    assert kim.capacity_updated_at is not None


def test_finish_versions_only_the_watched_listings_that_changed(session):
    kim = demo.kim(session)
    other = session.exec(select(Service).where(Service.id != kim.id)).first()
    assert other is not None
    before_kim, before_other = _versions(session, kim), _versions(session, other)
    writer = Writer(session, author=AUTHOR, action="imported")
    new_id = uuid.uuid4()
    writer.watch(Service, [kim.id, other.id, new_id])
    writer.upsert(Service, kim.id, name="KIM umbenannt")
    writer.upsert(Service, other.id, name=other.name)
    writer.upsert(Service, new_id, name="Ganz neu", organization_id=kim.organization_id)
    versions = writer.finish()

    by_listing = {version.entity_id: version for version in versions}
    assert set(by_listing) == {kim.id, new_id}
    assert by_listing[kim.id].after["name"] == "KIM umbenannt"
    assert by_listing[kim.id].before["name"] != "KIM umbenannt"
    assert by_listing[new_id].before is None
    assert _versions(session, kim) == before_kim + 1
    assert _versions(session, other) == before_other


def test_bulk_deletes_tell_the_search_index_once_and_only_after_a_change(session):
    kim = demo.kim(session)
    session.add(Phone(service_id=kim.id, number="0800 222"))
    session.flush()
    full = _full_changes(session)

    writer = Writer(session)
    assert writer.prune(Phone, col(Phone.service_id) == kim.id, keep=[]) >= 1
    writer.finish()
    assert _full_changes(session) == full + 1
    assert not session.exec(select(Phone).where(Phone.service_id == kim.id)).all()

    idle = Writer(session)
    assert idle.prune(Phone, col(Phone.service_id) == kim.id, keep=[]) == 0
    idle.finish()
    assert _full_changes(session) == full + 1


def test_removed_listings_take_their_rows_and_translations(session):
    kim = demo.kim(session)
    doomed = Service(name="Bald weg", organization_id=kim.organization_id)
    session.add(doomed)
    session.flush()
    session.add(Schedule(service_id=doomed.id, weekday=1, opens_at=time(9), closes_at=time(12)))
    session.add(
        Translation(
            entity_type="service", entity_id=doomed.id, field="name", language="fr", text="Parti"
        )
    )
    session.flush()
    full = _full_changes(session)
    writer = Writer(session)
    writer.remove_listings(Service, [doomed.id], [col(Schedule.service_id), col(Phone.service_id)])
    writer.finish()
    session.expire_all()
    assert session.get(Service, doomed.id) is None
    assert not session.exec(select(Schedule).where(Schedule.service_id == doomed.id)).all()
    assert not session.exec(select(Translation).where(Translation.entity_id == doomed.id)).all()
    assert writer.counts["deleted"] == 1 and _full_changes(session) == full + 1
