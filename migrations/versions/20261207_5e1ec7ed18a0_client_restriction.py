"""client restriction (Art. 18 GDPR): when a client was restricted and why"""

import sqlalchemy as sa
from alembic import op

from lotse.ddl import moment


revision: str = '5e1ec7ed18a0'
down_revision: str | None = 'a7d13e7e4c01'


def upgrade() -> None:
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(moment('restricted_at', nullable=True))
        batch_op.add_column(sa.Column('restriction_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('restriction_reason')
        batch_op.drop_column('restricted_at')
