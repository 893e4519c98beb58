"""Migrations up and down on the backend under test, and the refusal to run on an old schema."""

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from lotse import migrate
from lotse.app import create_app
from lotse.db import DatabaseError, make_engine
from lotse.settings import get_settings
from tests.conftest import drop_database, fresh_database_url

DIRECTORY_TABLES = {
    "organization",
    "service",
    "location",
    "service_at_location",
    "address",
    "phone",
    "schedule",
    "taxonomy",
    "taxonomy_term",
    "language",
    "accessibility",
    "cost_option",
    "required_document",
    "contact",
    "translation",
    "target_group",
    "district",
}


@pytest.fixture
def empty_database():
    url = fresh_database_url("lotse_migrations")
    engine = make_engine(url)
    yield url, engine
    engine.dispose()
    drop_database(url)


def test_upgrade_creates_every_table_and_downgrade_removes_them(empty_database):
    url, engine = empty_database
    migrate.upgrade(url)
    assert set(inspect(engine).get_table_names()) >= DIRECTORY_TABLES
    assert migrate.current_revision(engine) == migrate.head_revision()

    migrate.downgrade(url, "base")
    engine.dispose()
    assert not DIRECTORY_TABLES & set(inspect(engine).get_table_names())
    assert migrate.current_revision(engine) is None

    migrate.upgrade(url)
    engine.dispose()
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_the_migrated_schema_is_what_the_models_say(empty_database):
    """Autogenerate finds nothing to add: the migrations, written with lotse/ddl.py's shapes,
    build exactly the tables, keys and indexes of the models."""
    url, _ = empty_database
    migrate.upgrade(url)
    command.check(migrate.alembic_config(url))


def test_a_database_without_schema_is_refused_with_the_fixing_command(empty_database):
    _, engine = empty_database
    with pytest.raises(DatabaseError, match="lotse db upgrade"):
        migrate.ensure_current(engine)


def test_the_app_does_not_start_on_a_database_that_is_behind(empty_database):
    _, engine = empty_database
    app = create_app(get_settings(), engine=engine)
    with pytest.raises(DatabaseError, match="lotse db upgrade"), TestClient(app):
        pass


def test_an_unreachable_database_names_the_setting_to_fix():
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseError) as error:
        migrate.ensure_current(engine)
    assert "LOTSE_DATABASE_URL" in str(error.value)
    assert "Traceback" not in str(error.value)
