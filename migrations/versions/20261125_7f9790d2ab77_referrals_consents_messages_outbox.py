"""referrals, consents, messages, outbox

Revision ID: 7f9790d2ab77
Revises: f767c12931f4
Create Date: 2026-11-25 04:49:12.680070
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lotse.db


revision: str = '7f9790d2ab77'
down_revision: str | None = 'f767c12931f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('client',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('needs', sa.JSON(), nullable=False),
    sa.Column('interpreter_needed', sa.Boolean(), nullable=False),
    sa.Column('residence_group', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('case_manager_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('anonymised_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_manager_id'], ['user_account.id'], name=op.f('fk_client_case_manager_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['partner_organization.id'], name=op.f('fk_client_organization_id_partner_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client'))
    )
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_case_manager_id'), ['case_manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_client_organization_id'), ['organization_id'], unique=False)

    op.create_table('consent',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_organization_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('includes_health', sa.Boolean(), nullable=False),
    sa.Column('form', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('text_language', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_consent_client_id_client')),
    sa.ForeignKeyConstraint(['recipient_organization_id'], ['partner_organization.id'], name=op.f('fk_consent_recipient_organization_id_partner_organization')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_consent_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['user_account.id'], name=op.f('fk_consent_withdrawn_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_recipient_organization_id'), ['recipient_organization_id'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('consent_id', sa.Uuid(), nullable=True),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_organization_id', sa.Uuid(), nullable=False),
    sa.Column('sender_id', sa.Uuid(), nullable=False),
    sa.Column('sender_organization_id', sa.Uuid(), nullable=False),
    sa.Column('previous_referral_id', sa.Uuid(), nullable=True),
    sa.Column('need', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('urgency', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('health_note', sa.Text(), nullable=False),
    sa.Column('shared_categories', sa.JSON(), nullable=False),
    sa.Column('contact_preference', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('contact_detail', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('hold_kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('waitlist_position', sa.Integer(), nullable=True),
    sa.Column('waitlist_until', sa.Date(), nullable=True),
    sa.Column('appointment_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('appointment_place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('feedback_got_help', sa.Boolean(), nullable=True),
    sa.Column('feedback_helpful', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('feedback_barriers', sa.JSON(), nullable=False),
    sa.Column('feedback_note', sa.Text(), nullable=True),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('responded_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_referral_client_id_client')),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_referral_consent_id_consent')),
    sa.ForeignKeyConstraint(['previous_referral_id'], ['referral.id'], name=op.f('fk_referral_previous_referral_id_referral')),
    sa.ForeignKeyConstraint(['recipient_organization_id'], ['partner_organization.id'], name=op.f('fk_referral_recipient_organization_id_partner_organization')),
    sa.ForeignKeyConstraint(['sender_id'], ['user_account.id'], name=op.f('fk_referral_sender_id_user_account')),
    sa.ForeignKeyConstraint(['sender_organization_id'], ['partner_organization.id'], name=op.f('fk_referral_sender_organization_id_partner_organization')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_referral_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_number'), ['number'], unique=True)
        batch_op.create_index('ix_referral_recipient_status', ['recipient_organization_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_response_due_at'), ['response_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_sender_organization_id'), ['sender_organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status'), ['status'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', lotse.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_outbox_message_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['sent_at', 'next_attempt_at'], unique=False)

    op.create_table('referral_event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_organization_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_referral_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_event_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_event'))
    )
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_event_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('author_organization_id', sa.Uuid(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_referral_message_author_id_user_account')),
    sa.ForeignKeyConstraint(['author_organization_id'], ['partner_organization.id'], name=op.f('fk_referral_message_author_organization_id_partner_organization')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_message_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_message'))
    )
    with op.batch_alter_table('referral_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_message_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_read',
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('read_at', lotse.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_read_referral_id_referral')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_referral_read_user_id_user_account')),
    sa.PrimaryKeyConstraint('referral_id', 'user_id', name=op.f('pk_referral_read'))
    )
    with op.batch_alter_table('partner_organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('referral_service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_days', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('referral_service', schema=None) as batch_op:
        batch_op.drop_column('response_days')

    with op.batch_alter_table('partner_organization', schema=None) as batch_op:
        batch_op.drop_column('response_days')

    op.drop_table('referral_read')
    with op.batch_alter_table('referral_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_message_referral_id'))

    op.drop_table('referral_message')
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_event_referral_id'))

    op.drop_table('referral_event')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox_message')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_status'))
        batch_op.drop_index(batch_op.f('ix_referral_service_id'))
        batch_op.drop_index(batch_op.f('ix_referral_sender_organization_id'))
        batch_op.drop_index(batch_op.f('ix_referral_sender_id'))
        batch_op.drop_index(batch_op.f('ix_referral_response_due_at'))
        batch_op.drop_index('ix_referral_recipient_status')
        batch_op.drop_index(batch_op.f('ix_referral_number'))
        batch_op.drop_index(batch_op.f('ix_referral_client_id'))

    op.drop_table('referral')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_recipient_organization_id'))
        batch_op.drop_index(batch_op.f('ix_consent_client_id'))

    op.drop_table('consent')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_organization_id'))
        batch_op.drop_index(batch_op.f('ix_client_case_manager_id'))

    op.drop_table('client')
