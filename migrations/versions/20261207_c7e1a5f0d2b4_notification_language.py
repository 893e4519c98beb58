"""the language of the emails to a partner organisation's notification address"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'c7e1a5f0d2b4'
down_revision: str | None = 'c0f3e5a7d911'


def upgrade() -> None:
    with op.batch_alter_table('partner_organization', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('notification_language', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('partner_organization', schema=None) as batch_op:
        batch_op.drop_column('notification_language')
