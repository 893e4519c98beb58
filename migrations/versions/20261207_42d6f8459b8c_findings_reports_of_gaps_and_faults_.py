"""findings: reports of gaps and faults, their evidence and history

Revision ID: 42d6f8459b8c
Revises: b3d51e0a9c24
Create Date: 2026-12-07 17:19:19
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lotse.db


revision: str = '42d6f8459b8c'
down_revision: str | None = 'b3d51e0a9c24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('finding',
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('barrier', sa.String(length=20), nullable=True),
    sa.Column('topic_id', sa.Uuid(), nullable=True),
    sa.Column('district_id', sa.Uuid(), nullable=True),
    sa.Column('target_group_id', sa.Uuid(), nullable=True),
    sa.Column('affected_count', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('merged_into_id', sa.Uuid(), nullable=True),
    sa.Column('routed_to_id', sa.Uuid(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('reporter_id', sa.Uuid(), nullable=False),
    sa.Column('reporter_organization_id', sa.Uuid(), nullable=False),
    sa.Column('reporter_role', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_finding_district_id_district')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['finding.id'], name=op.f('fk_finding_merged_into_id_finding')),
    sa.ForeignKeyConstraint(['reporter_id'], ['user_account.id'], name=op.f('fk_finding_reporter_id_user_account')),
    sa.ForeignKeyConstraint(['reporter_organization_id'], ['partner_organization.id'], name=op.f('fk_finding_reporter_organization_id_partner_organization')),
    sa.ForeignKeyConstraint(['routed_to_id'], ['partner_organization.id'], name=op.f('fk_finding_routed_to_id_partner_organization')),
    sa.ForeignKeyConstraint(['target_group_id'], ['target_group.id'], name=op.f('fk_finding_target_group_id_target_group')),
    sa.ForeignKeyConstraint(['topic_id'], ['taxonomy_term.id'], name=op.f('fk_finding_topic_id_taxonomy_term')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_routed_to_id'), ['routed_to_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_topic_id'), ['topic_id'], unique=False)

    op.create_table('finding_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('finding_id', sa.Uuid(), nullable=False),
    sa.Column('at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_organization_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('other_finding_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_finding_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['actor_organization_id'], ['partner_organization.id'], name=op.f('fk_finding_event_actor_organization_id_partner_organization')),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_finding_event_finding_id_finding')),
    sa.ForeignKeyConstraint(['other_finding_id'], ['finding.id'], name=op.f('fk_finding_event_other_finding_id_finding')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_event'))
    )
    with op.batch_alter_table('finding_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_event_finding_id'), ['finding_id'], unique=False)

    op.create_table('finding_subject',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('finding_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=True),
    sa.Column('organization_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_finding_subject_finding_id_finding')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_finding_subject_organization_id_organization')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_finding_subject_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_subject'))
    )
    with op.batch_alter_table('finding_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_subject_finding_id'), ['finding_id'], unique=False)

    op.create_table('finding_evidence',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('finding_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('referral_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('reason_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('service_id', sa.Uuid(), nullable=True),
    sa.Column('search_query', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_finding_evidence_finding_id_finding')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_finding_evidence_referral_id_referral')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_finding_evidence_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_evidence'))
    )
    with op.batch_alter_table('finding_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_evidence_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_evidence_referral_id'), ['referral_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('finding_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_evidence_referral_id'))
        batch_op.drop_index(batch_op.f('ix_finding_evidence_finding_id'))

    op.drop_table('finding_evidence')
    with op.batch_alter_table('finding_subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_subject_finding_id'))

    op.drop_table('finding_subject')
    with op.batch_alter_table('finding_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_event_finding_id'))

    op.drop_table('finding_event')
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_topic_id'))
        batch_op.drop_index(batch_op.f('ix_finding_state'))
        batch_op.drop_index(batch_op.f('ix_finding_routed_to_id'))
        batch_op.drop_index(batch_op.f('ix_finding_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_finding_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_finding_kind'))
        batch_op.drop_index(batch_op.f('ix_finding_district_id'))
        batch_op.drop_index(batch_op.f('ix_finding_created_at'))

    op.drop_table('finding')
