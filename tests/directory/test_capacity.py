"""Setting a service's capacity keeps its history for the gap reports."""

from sqlmodel import select

from directory.models import CapacityChange, CapacityStatus, Service
from tests.accounts import login, post
from tests.referrals.factories import EVENING_COURSE


def test_a_partner_setting_capacity_is_recorded_in_the_history(client, session):
    assert login(client, "partner_staff").status_code == 303
    response = post(
        client,
        "/inbox/capacity",
        {"service_id": str(EVENING_COURSE), "capacity": "waitlist", "note": "Ab Mai wieder"},
    )
    assert response.status_code == 303
    service = session.get(Service, EVENING_COURSE)
    assert service is not None
    session.refresh(service)
    assert service.capacity_status == CapacityStatus.waitlist
    changes = session.exec(
        select(CapacityChange).where(CapacityChange.service_id == EVENING_COURSE)
    ).all()
    assert [(c.status, c.note) for c in changes][-1] == ("waitlist", "Ab Mai wieder")
    assert changes[-1].changed_at == service.capacity_updated_at


def test_an_unknown_capacity_changes_nothing(client, session):
    assert login(client, "partner_staff").status_code == 303
    before = session.exec(select(CapacityChange)).all()
    response = post(
        client, "/inbox/capacity", {"service_id": str(EVENING_COURSE), "capacity": "plenty"}
    )
    assert response.status_code == 422
    assert session.exec(select(CapacityChange)).all() == before
