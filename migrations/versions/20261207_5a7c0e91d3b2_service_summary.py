"""service summary: a sentence or two on what a service offers and for whom"""

import sqlalchemy as sa
from alembic import op


revision: str = '5a7c0e91d3b2'
down_revision: str | None = 'a7c3e5d10b42'


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('summary')
