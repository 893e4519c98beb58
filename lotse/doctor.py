"""``lotse doctor``: checks a configuration and an installation and says what to fix.

Each check returns a result with a level: ``fail`` (Lotse will not work, or not safely, as
configured), ``warn`` (it works, but an operator should know) or ``ok``.
"""

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlalchemy.engine import Engine

from lotse.datakeys import DEFAULT_DATA_KEY, key_id, parse_keys
from lotse.db import DatabaseError, check_connection, describe_url, make_engine
from lotse.migrate import current_revision, head_revision
from lotse.settings import DEFAULT_SECRET, Settings

Level = Literal["ok", "warn", "fail"]
MIN_SECRET_LENGTH = 32
MAX_CLOCK_SKEW_SECONDS = 5.0


@dataclass(frozen=True)
class Result:
    name: str
    level: Level
    message: str
    fix: str = ""


def _serious(settings: Settings) -> Level:
    """A weakness that is tolerable on a laptop fails a production installation."""
    return "fail" if settings.environment == "production" else "warn"


def check_settings(settings: Settings) -> Result:
    if settings.environment == "production" and not settings.base_url.startswith("https://"):
        return Result(
            "settings",
            "fail",
            f"LOTSE_BASE_URL is {settings.base_url}: links in emails and secure cookies need "
            "the public https address.",
            "Set LOTSE_BASE_URL=https://<the public host name>.",
        )
    if settings.environment != "production":
        return Result(
            "settings",
            "warn",
            f"LOTSE_ENVIRONMENT is {settings.environment}.",
            "Set LOTSE_ENVIRONMENT=production on a server with real data.",
        )
    return Result("settings", "ok", f"production, served at {settings.base_url}")


def check_secret(settings: Settings) -> Result:
    secret = settings.secret_key.get_secret_value()
    if secret == DEFAULT_SECRET:
        problem = "LOTSE_SECRET_KEY is the built-in development value."
    elif len(secret) < MIN_SECRET_LENGTH:
        problem = f"LOTSE_SECRET_KEY has {len(secret)} characters, fewer than {MIN_SECRET_LENGTH}."
    elif len(set(secret)) < 10:
        problem = "LOTSE_SECRET_KEY repeats a few characters: it is not random."
    else:
        return Result("secret key", "ok", f"{len(secret)} characters")
    return Result(
        "secret key",
        _serious(settings),
        problem,
        'Set it to a random value, e.g. python3 -c "import secrets; print(secrets.token_urlsafe(48))".',
    )


def check_data_keys(settings: Settings) -> Result:
    keys = parse_keys(settings.data_keys.get_secret_value())
    development = parse_keys(DEFAULT_DATA_KEY)[0]
    rotate = "then run lotse privacy rotate-key and remove the development key."
    if not keys or keys[0] == development:
        return Result(
            "data key",
            _serious(settings),
            "LOTSE_DATA_KEYS is the built-in development key: client notes and messages are "
            "encrypted with a key that is published with the source code.",
            "Put a key of your own first (lotse privacy new-key) in LOTSE_DATA_KEYS, " + rotate,
        )
    if development in keys:
        return Result(
            "data key",
            "warn",
            "LOTSE_DATA_KEYS still holds the development key behind your own.",
            "Re-encrypt with your key first: " + rotate,
        )
    return Result("data key", "ok", f"{len(keys)} key(s), encrypting with {key_id(keys[0])}")


def check_database(engine: Engine) -> Result:
    try:
        check_connection(engine)
    except DatabaseError as error:
        return Result(
            "database",
            "fail",
            str(error).splitlines()[0],
            "Check LOTSE_DATABASE_URL and that the database server runs.",
        )
    return Result("database", "ok", f"{describe_url(str(engine.url))} reachable")


def check_migrations(engine: Engine) -> Result:
    current, head = current_revision(engine), head_revision()
    if current == head:
        return Result("migrations", "ok", f"schema at {head}")
    return Result(
        "migrations",
        "fail",
        f"schema at {current or 'none'}, this version needs {head}",
        "Make a backup (lotse backup create), then run lotse db upgrade.",
    )


def check_smtp(settings: Settings) -> Result:
    if not settings.smtp_host:
        return Result(
            "smtp",
            _serious(settings),
            "LOTSE_SMTP_HOST is not set: emails are written to the log, not sent.",
            "Set LOTSE_SMTP_HOST (and port, user, password) to the city's mail relay.",
        )
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=5) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    return Result(
                        "smtp",
                        "fail",
                        f"{where} does not offer STARTTLS",
                        "Use the relay's submission port, or LOTSE_SMTP_STARTTLS=false for a "
                        "relay on the same trusted network.",
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    except (OSError, smtplib.SMTPException) as error:
        return Result(
            "smtp",
            "fail",
            f"cannot use the mail server {where}: {error}",
            "Check LOTSE_SMTP_HOST, LOTSE_SMTP_PORT, the credentials and the firewall.",
        )
    return Result("smtp", "ok", f"{where} answers")


def check_oidc(settings: Settings) -> Result | None:
    issuer = getattr(settings, "oidc_issuer", None) or os.environ.get("LOTSE_OIDC_ISSUER")
    if not issuer:
        return None
    issuer = str(issuer).rstrip("/")
    url = f"{issuer}/.well-known/openid-configuration"
    fix = "Check LOTSE_OIDC_ISSUER (the realm's address) and that this server may reach it."
    if not url.startswith(("https://", "http://")):
        return Result("single sign-on", "fail", f"{issuer} is not an http(s) address", fix)
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - checked above
            document = json.load(response)
    except (OSError, urllib.error.URLError, ValueError) as error:
        return Result("single sign-on", "fail", f"no discovery document at {url}: {error}", fix)
    missing = [
        key
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not document.get(key)
    ]
    if missing:
        return Result("single sign-on", "fail", f"{url} lacks {', '.join(missing)}", fix)
    if str(document["issuer"]).rstrip("/") != issuer:
        return Result(
            "single sign-on",
            "fail",
            f"the provider calls itself {document['issuer']}, not {issuer}",
            "Set LOTSE_OIDC_ISSUER to exactly the issuer the provider names.",
        )
    return Result("single sign-on", "ok", f"{issuer} publishes its configuration")


def check_clock(engine: Engine | None, settings: Settings) -> Result:
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return Result(
            "clock",
            "fail",
            f"LOTSE_TIMEZONE={settings.timezone} is not a known time zone",
            "Use an IANA name such as Europe/Berlin (Debian: package tzdata).",
        )
    now = datetime.now(UTC)
    if now.year < 2024:
        return Result("clock", "fail", f"the system clock says {now:%Y-%m-%d}", "Enable NTP.")
    if engine is not None and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            database_now = connection.execute(text("SELECT now()")).scalar_one()
        skew = abs((database_now - datetime.now(UTC)).total_seconds())
        if skew > MAX_CLOCK_SKEW_SECONDS:
            return Result(
                "clock",
                "fail",
                f"this machine and the database server differ by {skew:.0f} s",
                "Enable time synchronisation (NTP, systemd-timesyncd) on both machines.",
            )
    local = now.astimezone(zone)
    return Result("clock", "ok", f"{local:%Y-%m-%d %H:%M} {settings.timezone} ({local:%Z})")


def check_backup_key(settings: Settings) -> Result:
    if settings.backup_key is None or not settings.backup_key.get_secret_value():
        return Result(
            "backups",
            _serious(settings),
            "LOTSE_BACKUP_KEY is not set: lotse backup cannot run.",
            "Set it to a long random value and keep a copy apart from the backups.",
        )
    if len(settings.backup_key.get_secret_value()) < 16:
        return Result(
            "backups",
            "fail",
            "LOTSE_BACKUP_KEY is shorter than 16 characters.",
            "Use a longer one.",
        )
    return Result("backups", "ok", "LOTSE_BACKUP_KEY is set")


InstallationCheck = Callable[[Engine, Settings], Result]
"""A domain's check of a current database, registered by the CLI (e.g. the search index)."""


def run_all(
    settings: Settings,
    *,
    engine: Engine | None = None,
    installation_checks: list[InstallationCheck] | None = None,
) -> Iterator[Result]:
    """Every check, the ones that need the database only when it is reachable and current."""
    yield check_settings(settings)
    yield check_secret(settings)
    yield check_data_keys(settings)
    yield check_backup_key(settings)
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url)
    try:
        database = check_database(engine)
        yield database
        usable = database.level == "ok"
        if usable:
            migrations = check_migrations(engine)
            yield migrations
            usable = migrations.level == "ok"
        checks: list[Callable[[], Result | None]] = [
            lambda: check_smtp(settings),
            lambda: check_oidc(settings),
            lambda: check_clock(engine if database.level == "ok" else None, settings),
        ]
        if usable:
            checks += [partial(check, engine, settings) for check in installation_checks or []]
        for check in checks:
            result = check()
            if result is not None:
                yield result
    finally:
        if own_engine:
            engine.dispose()
