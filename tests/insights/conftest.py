"""The gap reports' scenario as a fixture; see ``tests.insights.scenario``."""

import pytest
from sqlmodel import Session

from tests.insights.scenario import Fixture


@pytest.fixture
def data(session: Session) -> Fixture:
    fixture = Fixture(session)
    fixture.directory()
    fixture.referrals()
    fixture.searches()
    fixture.capacity()
    return fixture
