"""findings: the planning conferences that took place

Revision ID: c0f3e5a7d911
Revises: 7ad4c0e1f5b2
Create Date: 2026-12-07 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lotse.db


revision: str = 'c0f3e5a7d911'
down_revision: str | None = '7ad4c0e1f5b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('finding_conference',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_finding_conference_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_conference'))
    )
    with op.batch_alter_table('finding_conference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_conference_held_on'), ['held_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('finding_conference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_conference_held_on'))
    op.drop_table('finding_conference')
