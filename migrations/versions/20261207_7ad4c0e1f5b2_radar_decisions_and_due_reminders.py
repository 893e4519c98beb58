"""findings: the gap radar's decisions, and when a passed due date was reminded of

Revision ID: 7ad4c0e1f5b2
Revises: 5a7c0e91d3b2
Create Date: 2026-12-07 20:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lotse import ddl

revision: str = "7ad4c0e1f5b2"
down_revision: str | None = "5a7c0e91d3b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ddl.create_table(
        "radar_decision",
        ddl.uuid("id"),
        ddl.string("proposal_key", 200),
        ddl.string("evidence_hash", 64),
        ddl.string("decision", 10),
        ddl.uuid("finding_id", nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        ddl.uuid("decided_by_id"),
        ddl.moment("decided_at"),
        references={"finding_id": "finding", "decided_by_id": "user_account"},
        unique=("proposal_key", "evidence_hash"),
    )
    ddl.create_indexes("radar_decision", "finding_id", "proposal_key")
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.add_column(ddl.moment("due_reminded_at", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_column("due_reminded_at")
    ddl.drop_indexes("radar_decision", "proposal_key", "finding_id")
    op.drop_table("radar_decision")
