"""login throttle and password reset links

Failed logins are counted per account and address in one row each (``login_throttle``) instead
of one row per attempt, so that the count is one atomic UPDATE; resets go by a one-time link.

Create Date: 2026-12-07 13:36:37.081473
"""

import sqlalchemy as sa
from alembic import op

import lotse.db
from lotse.ddl import create_indexes, create_table, drop_indexes, moment, string, uuid


revision: str = '22f597d7774e'
down_revision: str | None = '7ae8712c1ef7'


def upgrade() -> None:
    create_table('login_throttle',
        uuid('id'),
        string('email', 254),
        string('ip_address', 64),
        sa.Column('failures', sa.Integer(), nullable=False),
        moment('last_failure_at'),
        moment('blocked_until', nullable=True),
        unique=('email', 'ip_address'),
    )
    create_indexes('login_throttle', 'last_failure_at')

    create_table('password_reset',
        uuid('id'),
        uuid('user_id'),
        string('token_hash', 64),
        moment('created_at'),
        uuid('created_by_id', nullable=True),
        moment('expires_at'),
        moment('used_at', nullable=True),
        references={'user_id': 'user_account'},
    )
    create_indexes('password_reset', 'token_hash', 'user_id', unique={'token_hash'})

    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_attempted_at'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_email'))
        batch_op.drop_index('ix_login_attempt_ip_at')

    op.drop_table('login_attempt')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins_notified_at', lotse.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('failed_logins_notified_at')

    create_table('login_attempt',
        uuid('id'),
        string('email', 254),
        string('ip_address', 64),
        moment('attempted_at'),
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempt_ip_at', ['ip_address', 'attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_attempted_at'), ['attempted_at'], unique=False)

    drop_indexes('password_reset', 'user_id', 'token_hash')
    op.drop_table('password_reset')
    drop_indexes('login_throttle', 'last_failure_at')
    op.drop_table('login_throttle')
