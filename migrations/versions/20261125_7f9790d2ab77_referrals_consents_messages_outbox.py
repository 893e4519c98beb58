"""referrals, consents, messages, outbox"""

import sqlalchemy as sa
from alembic import op

from lotse.ddl import create_indexes, create_table, drop_indexes, moment, string, timestamps, uuid


revision: str = '7f9790d2ab77'
down_revision: str | None = 'f767c12931f4'


def upgrade() -> None:
    create_table('client',
        uuid('id'),
        string('alias', 80),
        sa.Column('birth_year', sa.Integer(), nullable=True),
        sa.Column('languages', sa.JSON(), nullable=False),
        sa.Column('needs', sa.JSON(), nullable=False),
        sa.Column('interpreter_needed', sa.Boolean(), nullable=False),
        string('residence_group', 40, nullable=True),
        uuid('case_manager_id'),
        uuid('organization_id'),
        *timestamps(),
        moment('anonymised_at', nullable=True),
        references={'case_manager_id': 'user_account', 'organization_id': 'partner_organization'},
    )
    create_indexes('client', 'case_manager_id', 'organization_id')

    create_table('consent',
        uuid('id'),
        uuid('client_id'),
        uuid('recipient_organization_id'),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('includes_health', sa.Boolean(), nullable=False),
        string('form', 20),
        string('text_language', 12),
        uuid('recorded_by_id'),
        moment('recorded_at'),
        sa.Column('expires_on', sa.Date(), nullable=True),
        moment('withdrawn_at', nullable=True),
        uuid('withdrawn_by_id', nullable=True),
        references={'client_id': 'client', 'recipient_organization_id': 'partner_organization', 'recorded_by_id': 'user_account', 'withdrawn_by_id': 'user_account'},
    )
    create_indexes('consent', 'client_id', 'recipient_organization_id')

    create_table('referral',
        uuid('id'),
        string('number', 20),
        uuid('client_id'),
        uuid('consent_id', nullable=True),
        uuid('service_id'),
        uuid('recipient_organization_id'),
        uuid('sender_id'),
        uuid('sender_organization_id'),
        uuid('previous_referral_id', nullable=True),
        string('need', 80, nullable=True),
        sa.Column('urgency', sa.String(length=10), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('health_note', sa.Text(), nullable=False),
        sa.Column('shared_categories', sa.JSON(), nullable=False),
        string('contact_preference', 30, nullable=True),
        string('contact_detail', 200, nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        string('status_reason', 40, nullable=True),
        sa.Column('status_note', sa.Text(), nullable=True),
        string('hold_kind', 30, nullable=True),
        sa.Column('waitlist_position', sa.Integer(), nullable=True),
        sa.Column('waitlist_until', sa.Date(), nullable=True),
        moment('appointment_at', nullable=True),
        string('appointment_place', 200, nullable=True),
        string('outcome', 40, nullable=True),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('feedback_got_help', sa.Boolean(), nullable=True),
        string('feedback_helpful', 10, nullable=True),
        sa.Column('feedback_barriers', sa.JSON(), nullable=False),
        sa.Column('feedback_note', sa.Text(), nullable=True),
        *timestamps(),
        moment('sent_at', nullable=True),
        moment('received_at', nullable=True),
        moment('responded_at', nullable=True),
        moment('response_due_at', nullable=True),
        moment('reminded_at', nullable=True),
        moment('completed_at', nullable=True),
        moment('closed_at', nullable=True),
        references={'client_id': 'client', 'consent_id': 'consent', 'previous_referral_id': 'referral', 'recipient_organization_id': 'partner_organization', 'sender_id': 'user_account', 'sender_organization_id': 'partner_organization', 'service_id': 'service'},
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

    create_table('outbox_message',
        uuid('id'),
        string('kind', 30),
        string('recipient', 254),
        string('subject', 200),
        sa.Column('body', sa.Text(), nullable=False),
        uuid('referral_id', nullable=True),
        moment('created_at'),
        sa.Column('attempts', sa.Integer(), nullable=False),
        moment('next_attempt_at'),
        moment('locked_until', nullable=True),
        moment('sent_at', nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        references={'referral_id': 'referral'},
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['sent_at', 'next_attempt_at'], unique=False)

    create_table('referral_event',
        uuid('id'),
        uuid('referral_id'),
        moment('at'),
        uuid('actor_id', nullable=True),
        uuid('actor_organization_id', nullable=True),
        string('kind', 20),
        string('from_status', 20, nullable=True),
        string('to_status', 20, nullable=True),
        string('reason', 40, nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        references={'actor_id': 'user_account', 'referral_id': 'referral'},
    )
    create_indexes('referral_event', 'referral_id')

    create_table('referral_message',
        uuid('id'),
        uuid('referral_id'),
        uuid('author_id'),
        uuid('author_organization_id'),
        sa.Column('body', sa.Text(), nullable=False),
        moment('created_at'),
        references={'author_id': 'user_account', 'author_organization_id': 'partner_organization', 'referral_id': 'referral'},
    )
    create_indexes('referral_message', 'referral_id')

    create_table('referral_read',
        uuid('referral_id'),
        uuid('user_id'),
        moment('read_at'),
        references={'referral_id': 'referral', 'user_id': 'user_account'},
        key=('referral_id', 'user_id'),
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
    drop_indexes('referral_message', 'referral_id')
    op.drop_table('referral_message')
    drop_indexes('referral_event', 'referral_id')
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
    drop_indexes('consent', 'recipient_organization_id', 'client_id')
    op.drop_table('consent')
    drop_indexes('client', 'organization_id', 'case_manager_id')
    op.drop_table('client')
