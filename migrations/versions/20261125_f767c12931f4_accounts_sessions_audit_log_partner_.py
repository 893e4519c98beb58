"""accounts, sessions, audit log, partner organisations"""

import sqlalchemy as sa
from alembic import op

from lotse.ddl import create_indexes, create_table, drop_indexes, moment, string, timestamps, uuid


revision: str = 'f767c12931f4'
down_revision: str | None = 'e6bfe6d243f4'


def upgrade() -> None:
    create_table('audit_event',
        uuid('id'),
        moment('at'),
        uuid('actor_id', nullable=True),
        string('actor_email', 254, nullable=True),
        string('action', 60),
        sa.Column('category', sa.String(length=20), nullable=False),
        string('object_type', 60, nullable=True),
        string('object_id', 64, nullable=True),
        string('ip_address', 64, nullable=True),
        sa.Column('details', sa.Text(), nullable=False),
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_category'), ['category'], unique=False)
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'], unique=False)

    create_table('login_attempt',
        uuid('id'),
        string('email', 254),
        string('ip_address', 64),
        moment('attempted_at'),
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_attempted_at'), ['attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_email'), ['email'], unique=False)
        batch_op.create_index('ix_login_attempt_ip_at', ['ip_address', 'attempted_at'], unique=False)

    create_table('site_setting',
        uuid('id'),
        string('key', 80),
        sa.Column('value', sa.Text(), nullable=False),
        moment('updated_at'),
        unique=('key',),
    )
    create_table('partner_organization',
        string('name', 300),
        string('notification_email', 254, nullable=True),
        uuid('directory_organization_id', nullable=True),
        uuid('id'),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        *timestamps(),
        references={'directory_organization_id': 'organization'},
    )
    create_indexes('partner_organization', 'directory_organization_id')

    create_table('referral_service',
        uuid('partner_organization_id'),
        uuid('service_id'),
        references={'partner_organization_id': 'partner_organization', 'service_id': 'service'},
        key=('partner_organization_id', 'service_id'),
    )
    create_table('user_account',
        string('email', 254),
        string('display_name', 120),
        string('language', 12, nullable=True),
        uuid('id'),
        uuid('organization_id'),
        string('password_hash', 255),
        sa.Column('must_change_password', sa.Boolean(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        *timestamps(),
        moment('password_changed_at'),
        moment('last_login_at', nullable=True),
        references={'organization_id': 'partner_organization'},
    )
    create_indexes('user_account', 'email', 'organization_id', unique={'email'})

    create_table('api_token',
        uuid('id'),
        uuid('user_id'),
        string('name', 120),
        string('prefix', 16),
        string('token_hash', 64),
        moment('created_at'),
        moment('expires_at'),
        moment('last_used_at', nullable=True),
        moment('revoked_at', nullable=True),
        references={'user_id': 'user_account'},
    )
    create_indexes('api_token', 'token_hash', 'user_id', unique={'token_hash'})

    create_table('auth_session',
        uuid('id'),
        string('token_hash', 64),
        uuid('user_id'),
        moment('created_at'),
        moment('last_seen_at'),
        moment('revoked_at', nullable=True),
        string('ip_address', 64, nullable=True),
        string('user_agent', 300, nullable=True),
        references={'user_id': 'user_account'},
    )
    create_indexes('auth_session', 'token_hash', 'user_id', unique={'token_hash'})

    create_table('user_role',
        uuid('user_id'),
        sa.Column('role', sa.String(length=30), nullable=False),
        references={'user_id': 'user_account'},
        key=('user_id', 'role'),
    )

    _protect_audit_log()


def downgrade() -> None:
    _unprotect_audit_log()
    op.drop_table('user_role')
    drop_indexes('auth_session', 'user_id', 'token_hash')
    op.drop_table('auth_session')
    drop_indexes('api_token', 'user_id', 'token_hash')
    op.drop_table('api_token')
    drop_indexes('user_account', 'organization_id', 'email')
    op.drop_table('user_account')
    op.drop_table('referral_service')
    drop_indexes('partner_organization', 'directory_organization_id')
    op.drop_table('partner_organization')
    op.drop_table('site_setting')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempt_ip_at')
        batch_op.drop_index(batch_op.f('ix_login_attempt_email'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_attempted_at'))

    op.drop_table('login_attempt')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_object')
        batch_op.drop_index(batch_op.f('ix_audit_event_category'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')


# The audit log is append-only: the database itself refuses to change or delete entries.
_REFUSAL = "audit_event is append-only"


def _protect_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_REFUSAL}'; END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{event.lower()} BEFORE {event} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )


def _unprotect_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
