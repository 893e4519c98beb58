"""audit log: entries older than a year may be deleted (retention); changing any stays refused

The deletion concept (privacy/concept.py, class audit_entries) keeps audit entries for a
configurable period of at least 365 days. The triggers still refuse every UPDATE and every
DELETE of an entry younger than 364 days (a day's leeway for clocks that differ between
machines), so no code path and no mistaken statement can shorten the log below that floor; the
retention job deletes what is older once its period has ended.

Revision ID: a7d13e7e4c01
Revises: 42d6f8459b8c
Create Date: 2026-12-07 20:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7d13e7e4c01"
down_revision: str | None = "42d6f8459b8c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "audit_event is append-only"
_YOUNG = "audit_event is append-only: entries younger than 364 days cannot be deleted"
# A day less than the smallest period of the class audit_entries (privacy/concept.py: 365), so
# that a job whose clock runs a little ahead of the database's is never refused; fixed here,
# because what a migration installs must not change when that module does.
_FLOOR_DAYS = 364


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND OLD.at < now() - interval '{_FLOOR_DAYS} days' THEN
                    RETURN OLD;
                END IF;
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{_YOUNG}';
                END IF;
                RAISE EXCEPTION '{_REFUSAL}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        # Timestamps are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: they compare as text.
        op.execute(
            "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
            f"WHEN OLD.at >= datetime('now', '-{_FLOOR_DAYS} days') "
            f"BEGIN SELECT RAISE(ABORT, '{_YOUNG}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_REFUSAL}'; END;
            $$ LANGUAGE plpgsql
            """
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute(
            "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
        )
