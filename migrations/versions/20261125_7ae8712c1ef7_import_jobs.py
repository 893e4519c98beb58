"""import jobs"""

import sqlalchemy as sa
from alembic import op

from lotse.ddl import create_indexes, create_table, drop_indexes, string, timestamps, uuid


revision: str = '7ae8712c1ef7'
down_revision: str | None = 'c82939fc7787'


def upgrade() -> None:
    create_table('import_job',
        uuid('id'),
        string('kind', 20),
        uuid('created_by_id', nullable=True),
        *timestamps(),
        sa.Column('status', sa.String(length=20), nullable=False),
        string('stage', 40),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        string('source_name', 300),
        sa.Column('summary', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        references={'created_by_id': 'user_account'},
    )
    create_indexes('import_job', 'created_at', 'created_by_id')


def downgrade() -> None:
    drop_indexes('import_job', 'created_by_id', 'created_at')
    op.drop_table('import_job')
