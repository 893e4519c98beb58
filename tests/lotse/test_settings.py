import pytest
from pydantic import ValidationError

from lotse.datakeys import DEFAULT_DATA_KEY, new_key
from lotse.models import Role
from lotse.settings import ROLE_NAMES, Settings


def test_production_refuses_the_default_secret():
    with pytest.raises(ValidationError, match="LOTSE_SECRET_KEY"):
        Settings(environment="production")


def test_production_starts_with_a_real_secret_and_data_key():
    settings = Settings(environment="production", secret_key="x" * 40, data_keys=new_key())
    assert settings.environment == "production"


def test_production_refuses_to_start_without_a_data_key_of_its_own():
    with pytest.raises(ValidationError, match="LOTSE_DATA_KEYS must start with a key of your own"):
        Settings(environment="production", secret_key="x" * 40)
    # The development key may stay behind a new one until `lotse privacy rotate-key` ran.
    Settings(
        environment="production", secret_key="x" * 40, data_keys=f"{new_key()},{DEFAULT_DATA_KEY}"
    )


def test_a_malformed_or_empty_data_key_is_explained():
    with pytest.raises(ValidationError, match="key 2 is not 32 bytes"):
        Settings(data_keys=f"{new_key()},tooshort")
    with pytest.raises(ValidationError, match="LOTSE_DATA_KEYS is empty"):
        Settings(data_keys=" , ")


def test_unknown_database_driver_is_explained():
    with pytest.raises(ValidationError, match="LOTSE_DATABASE_URL"):
        Settings(database_url="mysql://localhost/lotse")


def test_plain_postgresql_url_uses_psycopg():
    settings = Settings(database_url="postgresql://lotse@db/lotse")
    assert settings.database_url == "postgresql+psycopg://lotse@db/lotse"
    assert not settings.is_sqlite


def test_single_sign_on_is_off_until_an_issuer_is_set():
    assert not Settings().sso_enabled
    settings = Settings(oidc_issuer="https://login.stadt.example/realms/stadt/")
    assert settings.sso_enabled
    assert settings.oidc_issuer == "https://login.stadt.example/realms/stadt"


def test_the_role_map_names_only_lotse_roles(monkeypatch):
    monkeypatch.setenv("LOTSE_OIDC_ROLE_MAP", '{"kim": "case_manager", "boss": "superuser"}')
    with pytest.raises(ValidationError, match="LOTSE_OIDC_ROLE_MAP names unknown roles"):
        Settings()
    monkeypatch.setenv("LOTSE_OIDC_ROLE_MAP", '{"kim": "case_manager"}')
    assert Settings().oidc_role_map == {"kim": "case_manager"}
    assert set(ROLE_NAMES) == {role.value for role in Role}


def test_the_issuer_must_use_https_except_on_loopback():
    with pytest.raises(ValidationError, match="LOTSE_OIDC_ISSUER must be an https"):
        Settings(oidc_issuer="http://login.stadt.example")
    assert Settings(oidc_issuer="http://127.0.0.1:8080").sso_enabled
