"""directory core"""

import sqlalchemy as sa
from alembic import op

from lotse.ddl import create_indexes, create_table, drop_indexes, moment, string, timestamps, uuid


revision: str = 'e6bfe6d243f4'
down_revision: str | None = None


def upgrade() -> None:
    create_table('directory_change',
        sa.Column('id', sa.Integer(), nullable=False),
        uuid('service_id', nullable=True),
        moment('changed_at'),
    )
    create_indexes('directory_change', 'changed_at', 'service_id')

    create_table('district',
        uuid('id'),
        string('code', 40),
        string('name', 120),
        sa.Column('latitude', sa.Float(), nullable=False),
        sa.Column('longitude', sa.Float(), nullable=False),
    )
    create_indexes('district', 'code', unique={'code'})

    create_table('organization',
        *timestamps(),
        string('name', 300),
        string('alternate_name', 300, nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        string('email', 300, nullable=True),
        string('website', 500, nullable=True),
        sa.Column('is_demo', sa.Boolean(), nullable=False),
        uuid('id'),
    )
    create_indexes('organization', 'name')

    create_table('search_log',
        uuid('id'),
        string('query', 200),
        sa.Column('filters', sa.Text(), nullable=False),
        string('language', 12),
        sa.Column('result_count', sa.Integer(), nullable=False),
        moment('created_at'),
    )
    create_indexes('search_log', 'created_at')

    create_table('target_group',
        uuid('id'),
        string('code', 40),
        string('name', 200),
        sa.Column('sort_order', sa.Integer(), nullable=False),
    )
    create_indexes('target_group', 'code', unique={'code'})

    create_table('taxonomy',
        uuid('id'),
        string('name', 200),
        sa.Column('description', sa.Text(), nullable=True),
        string('uri', 500, nullable=True),
        string('version', 50, nullable=True),
    )
    create_table('translation',
        uuid('id'),
        string('entity_type', 40),
        uuid('entity_id'),
        string('field', 60),
        string('language', 12),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        string('source_hash', 64, nullable=True),
        moment('updated_at'),
        unique=('entity_type', 'entity_id', 'field', 'language'),
    )
    with op.batch_alter_table('translation', schema=None) as batch_op:
        batch_op.create_index('ix_translation_lookup', ['entity_type', 'language', 'entity_id'], unique=False)

    create_table('location',
        *timestamps(),
        string('name', 300),
        sa.Column('description', sa.Text(), nullable=True),
        string('location_type', 20),
        sa.Column('latitude', sa.Float(), nullable=False),
        sa.Column('longitude', sa.Float(), nullable=False),
        sa.Column('transportation', sa.Text(), nullable=True),
        sa.Column('barrier_free', sa.Boolean(), nullable=True),
        uuid('id'),
        uuid('organization_id'),
        uuid('district_id', nullable=True),
        references={'district_id': 'district', 'organization_id': 'organization'},
    )
    create_indexes('location', 'district_id', 'organization_id')

    create_table('service',
        *timestamps(),
        string('name', 300),
        string('alternate_name', 300, nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        string('url', 500, nullable=True),
        string('email', 300, nullable=True),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('alert', sa.Text(), nullable=True),
        sa.Column('application_process', sa.Text(), nullable=True),
        sa.Column('fees_description', sa.Text(), nullable=True),
        sa.Column('eligibility_description', sa.Text(), nullable=True),
        sa.Column('minimum_age', sa.Integer(), nullable=True),
        sa.Column('maximum_age', sa.Integer(), nullable=True),
        sa.Column('women_only', sa.Boolean(), nullable=False),
        sa.Column('referral_required', sa.Boolean(), nullable=False),
        sa.Column('free_of_charge', sa.Boolean(), nullable=False),
        sa.Column('appointment_only', sa.Boolean(), nullable=False),
        sa.Column('languages_note', sa.Text(), nullable=True),
        sa.Column('hours_note', sa.Text(), nullable=True),
        sa.Column('capacity_status', sa.String(length=30), nullable=False),
        sa.Column('capacity_note', sa.Text(), nullable=True),
        moment('capacity_updated_at', nullable=True),
        moment('assured_at', nullable=True),
        string('assured_by', 200, nullable=True),
        uuid('id'),
        uuid('organization_id'),
        references={'organization_id': 'organization'},
    )
    create_indexes('service', 'name', 'organization_id')

    create_table('taxonomy_term',
        string('code', 80),
        string('name', 200),
        sa.Column('description', sa.Text(), nullable=True),
        uuid('id'),
        uuid('taxonomy_id'),
        uuid('parent_id', nullable=True),
        sa.Column('term_order', sa.Integer(), nullable=False),
        references={'parent_id': 'taxonomy_term', 'taxonomy_id': 'taxonomy'},
    )
    create_indexes('taxonomy_term', 'code', 'parent_id', 'taxonomy_id', unique={'code'})

    create_table('accessibility',
        uuid('id'),
        uuid('location_id'),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('details', sa.Text(), nullable=True),
        string('url', 500, nullable=True),
        references={'location_id': 'location'},
    )
    create_indexes('accessibility', 'location_id')

    create_table('address',
        uuid('id'),
        uuid('location_id'),
        string('attention', 200, nullable=True),
        string('address_1', 300),
        string('address_2', 300, nullable=True),
        string('city', 120),
        string('region', 120, nullable=True),
        string('state_province', 120),
        string('postal_code', 20),
        string('country', 2),
        string('address_type', 20),
        references={'location_id': 'location'},
    )
    create_indexes('address', 'location_id', 'postal_code')

    create_table('contact',
        uuid('id'),
        uuid('organization_id', nullable=True),
        uuid('service_id', nullable=True),
        string('name', 200, nullable=True),
        string('title', 200, nullable=True),
        string('department', 200, nullable=True),
        string('email', 300, nullable=True),
        references={'organization_id': 'organization', 'service_id': 'service'},
    )
    create_indexes('contact', 'organization_id', 'service_id')

    create_table('cost_option',
        uuid('id'),
        uuid('service_id'),
        sa.Column('option', sa.Text(), nullable=True),
        sa.Column('amount', sa.Float(), nullable=True),
        string('currency', 3, nullable=True),
        sa.Column('amount_description', sa.Text(), nullable=True),
        references={'service_id': 'service'},
    )
    create_indexes('cost_option', 'service_id')

    create_table('language',
        uuid('id'),
        uuid('service_id', nullable=True),
        uuid('location_id', nullable=True),
        string('code', 12),
        string('name', 100, nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        references={'location_id': 'location', 'service_id': 'service'},
    )
    create_indexes('language', 'code', 'location_id', 'service_id')

    create_table('phone',
        uuid('id'),
        uuid('organization_id', nullable=True),
        uuid('service_id', nullable=True),
        uuid('location_id', nullable=True),
        string('number', 60),
        string('type', 20),
        sa.Column('description', sa.Text(), nullable=True),
        references={'location_id': 'location', 'organization_id': 'organization', 'service_id': 'service'},
    )
    create_indexes('phone', 'location_id', 'organization_id', 'service_id')

    create_table('required_document',
        uuid('id'),
        uuid('service_id'),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('sort_order', sa.Integer(), nullable=False),
        references={'service_id': 'service'},
    )
    create_indexes('required_document', 'service_id')

    create_table('schedule',
        uuid('id'),
        uuid('service_id', nullable=True),
        uuid('location_id', nullable=True),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('opens_at', sa.Time(), nullable=False),
        sa.Column('closes_at', sa.Time(), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        references={'location_id': 'location', 'service_id': 'service'},
    )
    create_indexes('schedule', 'location_id', 'service_id')

    create_table('service_at_location',
        uuid('id'),
        uuid('service_id'),
        uuid('location_id'),
        sa.Column('description', sa.Text(), nullable=True),
        references={'location_id': 'location', 'service_id': 'service'},
        unique=('service_id', 'location_id'),
    )
    create_indexes('service_at_location', 'location_id', 'service_id')

    create_table('service_target_group',
        uuid('service_id'),
        uuid('target_group_id'),
        references={'service_id': 'service', 'target_group_id': 'target_group'},
        key=('service_id', 'target_group_id'),
    )
    create_table('service_taxonomy_term',
        uuid('service_id'),
        uuid('taxonomy_term_id'),
        references={'service_id': 'service', 'taxonomy_term_id': 'taxonomy_term'},
        key=('service_id', 'taxonomy_term_id'),
    )


def downgrade() -> None:
    op.drop_table('service_taxonomy_term')
    op.drop_table('service_target_group')
    drop_indexes('service_at_location', 'service_id', 'location_id')
    op.drop_table('service_at_location')
    drop_indexes('schedule', 'service_id', 'location_id')
    op.drop_table('schedule')
    drop_indexes('required_document', 'service_id')
    op.drop_table('required_document')
    drop_indexes('phone', 'service_id', 'organization_id', 'location_id')
    op.drop_table('phone')
    drop_indexes('language', 'service_id', 'location_id', 'code')
    op.drop_table('language')
    drop_indexes('cost_option', 'service_id')
    op.drop_table('cost_option')
    drop_indexes('contact', 'service_id', 'organization_id')
    op.drop_table('contact')
    drop_indexes('address', 'postal_code', 'location_id')
    op.drop_table('address')
    drop_indexes('accessibility', 'location_id')
    op.drop_table('accessibility')
    drop_indexes('taxonomy_term', 'taxonomy_id', 'parent_id', 'code')
    op.drop_table('taxonomy_term')
    drop_indexes('service', 'organization_id', 'name')
    op.drop_table('service')
    drop_indexes('location', 'organization_id', 'district_id')
    op.drop_table('location')
    with op.batch_alter_table('translation', schema=None) as batch_op:
        batch_op.drop_index('ix_translation_lookup')

    op.drop_table('translation')
    op.drop_table('taxonomy')
    drop_indexes('target_group', 'code')
    op.drop_table('target_group')
    drop_indexes('search_log', 'created_at')
    op.drop_table('search_log')
    drop_indexes('organization', 'name')
    op.drop_table('organization')
    drop_indexes('district', 'code')
    op.drop_table('district')
    drop_indexes('directory_change', 'service_id', 'changed_at')
    op.drop_table('directory_change')
