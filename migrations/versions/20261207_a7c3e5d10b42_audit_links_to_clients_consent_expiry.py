"""audit entries linked to the clients they are about; consent expiry handled once

Revision ID: a7c3e5d10b42
Revises: 5e1ec7ed18a0
Create Date: 2026-12-07 20:45:00
"""

import uuid as uuidlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lotse.ddl import create_indexes, drop_indexes, moment, uuid

revision: str = 'a7c3e5d10b42'
down_revision: str | None = '5e1ec7ed18a0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_event_client',
        sa.Column('event_id', sa.Uuid(), nullable=False),
        uuid('client_id'),
        sa.ForeignKeyConstraint(
            ['event_id'], ['audit_event.id'],
            name=op.f('fk_audit_event_client_event_id_audit_event'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('event_id', 'client_id', name=op.f('pk_audit_event_client')),
    )
    create_indexes('audit_event_client', 'client_id')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(moment('expiry_handled_at', nullable=True))
    create_indexes('consent', 'expiry_handled_at')
    _link_existing_entries()


def downgrade() -> None:
    drop_indexes('consent', 'expiry_handled_at')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_column('expiry_handled_at')
    drop_indexes('audit_event_client', 'client_id')
    op.drop_table('audit_event_client')


def _link_existing_entries() -> None:
    """Entries written before this revision about a client, its consents or its referrals."""
    bind = op.get_bind()
    audit_event = sa.table(
        'audit_event',
        sa.column('id', sa.Uuid()),
        sa.column('category', sa.String()),
        sa.column('object_type', sa.String()),
        sa.column('object_id', sa.String()),
        sa.column('details', sa.Text()),
    )
    owners: dict[str, dict[str, uuidlib.UUID]] = {}
    for name in ('consent', 'referral'):
        table = sa.table(name, sa.column('id', sa.Uuid()), sa.column('client_id', sa.Uuid()))
        owners[name] = {
            str(row.id): row.client_id for row in bind.execute(sa.select(table.c.id, table.c.client_id))
        }
    links = []
    rows = bind.execute(
        sa.select(audit_event.c.id, audit_event.c.object_type, audit_event.c.object_id)
        .where(audit_event.c.category == 'client_data')
    )
    for event_id, object_type, object_id in rows:
        client_id = None
        if object_type == 'client' and object_id:
            client_id = uuidlib.UUID(object_id)
        elif object_type in owners:
            client_id = owners[object_type].get(object_id or '')
        if client_id is not None:
            links.append({'event_id': event_id, 'client_id': client_id})
    if links:
        link_table = sa.table(
            'audit_event_client', sa.column('event_id', sa.Uuid()), sa.column('client_id', sa.Uuid())
        )
        op.bulk_insert(link_table, links)
