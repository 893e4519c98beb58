"""All configuration in one object, read from ``LOTSE_*`` environment variables or ``.env``."""

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lotse import PROJECT_ROOT
from lotse.datakeys import DEFAULT_DATA_KEY, parse_keys
from lotse.proxies import Network, parse_networks

# The roles of lotse.models.Role, named here because settings sit below the models.
ROLE_NAMES = (
    "case_manager",
    "partner_staff",
    "partner_admin",
    "coordinator",
    "admin",
    "privacy_officer",
)
DEFAULT_SECRET = "insecure-development-secret-change-me"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOTSE_", env_file=".env", extra="ignore")

    environment: Literal["development", "demo", "production"] = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'lotse.db'}"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    # Keys for client free text encrypted at rest (lotse/fieldcrypt.py): comma-separated,
    # newest first; the first encrypts, all decrypt. `lotse privacy new-key` makes one.
    data_keys: SecretStr = SecretStr(DEFAULT_DATA_KEY)
    base_url: str = "http://127.0.0.1:8000"

    default_language: str = "de"
    timezone: str = "Europe/Berlin"
    # ISO 3166-2 subdivision whose public holidays count as closing days.
    holiday_subdivision: str = "NW"
    region: str = "hagen"
    municipality_name: str = "Hagen"
    seed_dir: Path = PROJECT_ROOT / "seed_data"

    public_directory: bool = True
    session_timeout_hours: float = 8.0
    # Referrals: working days a partner has to answer; a reminder goes out after half of it.
    referral_response_days: int = 5
    # Case managers see their whole team's clients, not only their own caseload.
    caseload_team_wide: bool = False
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str = "lotse@localhost"
    stale_after_days: int = 183
    # Retention periods in days per class of the deletion concept (privacy/concept.py), as JSON:
    # LOTSE_RETENTION_DAYS='{"outbox_delivered": 14}'. Unnamed classes keep their default; an
    # unknown class or a period out of its bounds stops Lotse at start.
    retention_days: dict[str, int] = Field(default_factory=dict)
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© OpenStreetMap contributors"

    geocoder: Literal["gazetteer", "nominatim"] = "gazetteer"
    nominatim_user_agent: str = "lotse-integration-directory"
    # How often a process looks for directory changes made by other processes.
    search_freshness_seconds: float = 0.25

    log_level: str = "INFO"
    # Reverse proxies whose X-Forwarded-For/-Proto headers are believed: comma-separated IP
    # addresses or networks (CIDR). Empty: nobody's, the connection's own address counts.
    trusted_proxies: str = ""

    # HSDS imports (upload and CLI): bounds against zip bombs and files too big or too deep
    # to check. A 10,000-service directory (107 MB of JSON) imports in about two minutes.
    import_max_uncompressed_mb: int = Field(default=200, ge=1)
    import_max_entry_mb: int = Field(default=100, ge=1)
    import_max_zip_entries: int = Field(default=1000, ge=1)
    import_max_json_depth: int = Field(default=64, ge=8, le=100)
    import_max_seconds: float = Field(default=300.0, gt=0)
    # "json": one JSON object per log line, for the city's log collector.
    log_format: Literal["text", "json"] = "text"
    # Take the request id from the X-Request-ID header; only behind a proxy that sets it.
    trust_request_id: bool = False
    # Prometheus metrics at /metrics: a bearer token, and/or networks allowed without one
    # (comma-separated addresses or CIDRs). Neither set: /metrics answers 404.
    metrics_token: SecretStr | None = None
    metrics_networks: str = ""
    # Backups are encrypted with a key derived from this passphrase (`lotse backup`).
    backup_key: SecretStr | None = None

    # Single sign-on through the city's OpenID Connect provider; off while no issuer is set.
    oidc_issuer: str | None = None
    oidc_client_id: str = "lotse"
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    # Shown on the login button: "Log in with <name>".
    oidc_provider_name: str = "SSO"
    # The claim that carries roles or groups; a dotted path reaches into objects
    # (Keycloak: "realm_access.roles"); its values are looked up in oidc_role_map.
    oidc_roles_claim: str = "groups"
    oidc_role_map: dict[str, str] = {}
    # The claim naming the organisation, and its values mapped to a partner organisation's
    # name or id; without a match, new accounts go to oidc_default_organization.
    oidc_organization_claim: str | None = None
    oidc_organization_map: dict[str, str] = {}
    oidc_default_organization: str | None = None
    # "claims": the provider's claims decide roles at every login; "admin": a new account
    # waits until an administrator gives it a role, and logins never change roles.
    oidc_role_assignment: Literal["claims", "admin"] = "claims"
    # False: staff log in only through the provider; administrators keep their password as
    # the way in when the provider is down.
    oidc_password_login_for_staff: bool = True
    # Logging out of Lotse also ends the provider's session where it offers end-session.
    oidc_end_session: bool = True
    oidc_timeout_seconds: float = 10.0

    # Machine translation of listing texts, stored as machine translations for review.
    mt_provider: Literal["none", "deepl", "libretranslate"] = "none"
    # The provider's address; for DeepL empty chooses api-free.deepl.com for a free key
    # (ending in ":fx") and api.deepl.com otherwise.
    mt_url: str | None = None
    mt_api_key: SecretStr | None = None
    mt_timeout_seconds: float = Field(default=30.0, gt=0)
    # Texts per request (DeepL takes at most 50).
    mt_batch_size: int = Field(default=50, ge=1, le=500)
    # Comma-separated terms that stay as they are, besides Jobcenter, Ausländerbehörde & Co.
    mt_glossary: str = ""

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                "LOTSE_DATABASE_URL must be a sqlite:/// path or a postgresql+psycopg:// URL"
            )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("data_keys")
    @classmethod
    def _valid_data_keys(cls, value: SecretStr) -> SecretStr:
        if not parse_keys(value.get_secret_value()):
            raise ValueError(
                "LOTSE_DATA_KEYS is empty: leave it unset for the development key, or give a "
                "key of your own (`lotse privacy new-key`)"
            )
        return value

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _valid_networks(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_networks(value)
        except ValueError as error:
            raise ValueError(f"LOTSE_{str(info.field_name).upper()}: {error}") from None
        return value

    @field_validator("oidc_role_map")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value.values()) - set(ROLE_NAMES))
        if unknown:
            raise ValueError(
                f"LOTSE_OIDC_ROLE_MAP names unknown roles {unknown}; known: {list(ROLE_NAMES)}"
            )
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        host = urlsplit(value).hostname or ""
        if not value.startswith("https://") and host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("LOTSE_OIDC_ISSUER must be an https:// URL")
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key.get_secret_value() in (
            DEFAULT_SECRET,
            "",
        ):
            raise ValueError(
                "LOTSE_SECRET_KEY must be set to a long random value when "
                "LOTSE_ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _data_key_in_production(self) -> "Settings":
        if self.environment != "production":
            return self
        keys = parse_keys(self.data_keys.get_secret_value())
        if not keys or keys[0] == parse_keys(DEFAULT_DATA_KEY)[0]:
            raise ValueError(
                "LOTSE_DATA_KEYS must start with a key of your own when "
                "LOTSE_ENVIRONMENT=production: client notes and messages are encrypted with "
                "it (make one with `lotse privacy new-key`; docs/operations.md, "
                "'Encryption at rest')"
            )
        return self

    @model_validator(mode="after")
    def _machine_translation_complete(self) -> "Settings":
        if self.mt_provider == "deepl" and not self.mt_api_key:
            raise ValueError("LOTSE_MT_PROVIDER=deepl needs LOTSE_MT_API_KEY")
        if self.mt_provider == "libretranslate" and not self.mt_url:
            raise ValueError("LOTSE_MT_PROVIDER=libretranslate needs LOTSE_MT_URL")
        return self

    @property
    def trusted_proxy_networks(self) -> list[Network]:
        return parse_networks(self.trusted_proxies)

    @property
    def metrics_network_list(self) -> list[Network]:
        return parse_networks(self.metrics_networks)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sso_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def staff_password_login(self) -> bool:
        """Whether people other than administrators may log in with a password."""
        return not self.sso_enabled or self.oidc_password_login_for_staff


def serving_base_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches ``lotse serve --host host --port port``: the
    address in links and handouts while LOTSE_BASE_URL does not name another."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - the wildcard is read here, not listened on
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
