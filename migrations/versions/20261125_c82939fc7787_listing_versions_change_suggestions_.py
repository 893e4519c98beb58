"""listing versions, change suggestions, capacity history, external records"""

import sqlalchemy as sa
from alembic import op

import lotse.db
from lotse.ddl import create_indexes, create_table, drop_indexes, moment, string, uuid


revision: str = 'c82939fc7787'
down_revision: str | None = '7f9790d2ab77'


def upgrade() -> None:
    create_table('external_record',
        uuid('id'),
        string('source', 40),
        string('external_id', 200),
        sa.Column('entity_type', sa.String(length=20), nullable=False),
        uuid('entity_id'),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        moment('imported_at'),
        unique=('source', 'external_id', 'entity_type'),
    )
    create_indexes('external_record', 'entity_id')

    create_table('capacity_change',
        sa.Column('id', sa.Integer(), nullable=False),
        uuid('service_id'),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        moment('changed_at'),
        uuid('changed_by_id', nullable=True),
        references={'changed_by_id': 'user_account', 'service_id': 'service'},
    )
    create_indexes('capacity_change', 'changed_at', 'service_id')

    create_table('change_suggestion',
        uuid('id'),
        sa.Column('entity_type', sa.String(length=20), nullable=False),
        uuid('entity_id', nullable=True),
        uuid('organization_id', nullable=True),
        sa.Column('source', sa.String(length=20), nullable=False),
        uuid('proposed_by_id', nullable=True),
        string('proposed_by_label', 300),
        moment('created_at'),
        sa.Column('base', sa.JSON(), nullable=False),
        sa.Column('proposed', sa.JSON(), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        uuid('reviewed_by_id', nullable=True),
        moment('reviewed_at', nullable=True),
        sa.Column('review_message', sa.Text(), nullable=True),
        references={'organization_id': 'organization', 'proposed_by_id': 'user_account', 'reviewed_by_id': 'user_account'},
    )
    create_indexes('change_suggestion', 'created_at', 'entity_id', 'organization_id', 'status')

    create_table('listing_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entity_type', sa.String(length=20), nullable=False),
        uuid('entity_id'),
        sa.Column('number', sa.Integer(), nullable=False),
        string('action', 30),
        uuid('actor_id', nullable=True),
        string('actor_label', 300),
        moment('at'),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        uuid('suggestion_id', nullable=True),
        references={'actor_id': 'user_account', 'suggestion_id': 'change_suggestion'},
        unique=('entity_type', 'entity_id', 'number'),
    )
    create_indexes('listing_version', 'at', 'entity_id')

    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', lotse.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', lotse.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_organization_archived_at'), ['archived_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_organization_merged_into_id_organization'), 'organization', ['merged_into_id'], ['id'])

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', lotse.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('stale_reminded_at', lotse.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_archived_at'), ['archived_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_service_merged_into_id_service'), 'service', ['merged_into_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_merged_into_id_service'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_service_archived_at'))
        batch_op.drop_column('stale_reminded_at')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('archived_at')

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_organization_merged_into_id_organization'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_organization_archived_at'))
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('archived_at')

    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_column('archived_at')

    drop_indexes('listing_version', 'entity_id', 'at')
    op.drop_table('listing_version')
    drop_indexes('change_suggestion', 'status', 'organization_id', 'entity_id', 'created_at')
    op.drop_table('change_suggestion')
    drop_indexes('capacity_change', 'service_id', 'changed_at')
    op.drop_table('capacity_change')
    drop_indexes('external_record', 'entity_id')
    op.drop_table('external_record')
