"""single sign-on: the provider's subject on accounts, the ID token on sessions, login states"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from lotse.ddl import create_indexes, create_table, drop_indexes, moment, string


revision: str = 'b3d51e0a9c24'
down_revision: str | None = '22f597d7774e'


def upgrade() -> None:
    create_table('oidc_login_state',
        string('state_hash', 64),
        string('nonce', 128),
        string('code_verifier', 128),
        string('next_path', 2000),
        moment('created_at'),
        key=('state_hash',),
    )
    create_indexes('oidc_login_state', 'created_at')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_oidc_subject'), ['oidc_subject'])

    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_token', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('id_token')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_oidc_subject'), type_='unique')
        batch_op.drop_column('oidc_subject')

    drop_indexes('oidc_login_state', 'created_at')
    op.drop_table('oidc_login_state')
