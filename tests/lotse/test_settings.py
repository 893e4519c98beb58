import pytest
from pydantic import ValidationError

from lotse.settings import Settings


def test_production_refuses_the_default_secret():
    with pytest.raises(ValidationError, match="LOTSE_SECRET_KEY"):
        Settings(environment="production")


def test_production_starts_with_a_real_secret():
    settings = Settings(environment="production", secret_key="x" * 40)
    assert settings.environment == "production"


def test_unknown_database_driver_is_explained():
    with pytest.raises(ValidationError, match="LOTSE_DATABASE_URL"):
        Settings(database_url="mysql://localhost/lotse")


def test_plain_postgresql_url_uses_psycopg():
    settings = Settings(database_url="postgresql://lotse@db/lotse")
    assert settings.database_url == "postgresql+psycopg://lotse@db/lotse"
    assert not settings.is_sqlite
