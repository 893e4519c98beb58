"""encrypted client text: a referral's contact detail becomes text, long enough for its ciphertext

The other encrypted columns were text already; their values are encrypted by the application
(lotse/fieldcrypt.py) on every write and by ``lotse privacy rotate-key`` for older rows. The
downgrade decrypts every encrypted column with the configured keys, because the older code
reads them as plain text.
"""

import sqlalchemy as sa
from alembic import op

from lotse.fieldcrypt import active_ring, is_encrypted


revision: str = 'c7a3e5f19d02'
down_revision: str | None = 'c7e1a5f0d2b4'

ENCRYPTED = {
    'consent': ('purpose',),
    'referral': ('note', 'health_note', 'contact_detail', 'status_note', 'outcome_note', 'feedback_note'),
    'referral_event': ('note',),
    'referral_message': ('body',),
}


def upgrade() -> None:
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.alter_column(
            'contact_detail', existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
        )


def _decrypt_all() -> None:
    ring = active_ring()
    connection = op.get_bind()
    for table_name, columns in ENCRYPTED.items():
        for column_name in columns:
            table = sa.table(table_name, sa.column('id', sa.Uuid()), sa.column(column_name, sa.Text()))
            value = table.c[column_name]
            rows = connection.execute(sa.select(table.c.id, value).where(value.like('lotse:1:%'))).all()
            for row_id, stored in rows:
                if is_encrypted(stored):
                    plain = ring.decrypt(stored, context=f'{table_name}.{column_name}')
                    connection.execute(sa.update(table).where(table.c.id == row_id).values({column_name: plain}))


def downgrade() -> None:
    _decrypt_all()
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.alter_column(
            'contact_detail', existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
        )
