"""Alembic environment: runs migrations on SQLModel's metadata for SQLite and PostgreSQL."""

from logging.config import fileConfig

from alembic import context

import directory.models  # noqa: F401  (each import registers its tables on the metadata)
import findings.models  # noqa: F401
import lotse.models
import lotse.outbox  # noqa: F401
import partners.models  # noqa: F401
import referrals.models  # noqa: F401
from lotse.db import make_engine, metadata
from lotse.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
