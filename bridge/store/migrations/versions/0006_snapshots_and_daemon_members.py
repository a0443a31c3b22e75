"""snapshots and daemon members

`snapshots` holds what a derivation computed for readers that must not recompute it
(the current workloads `status` shows). `daemon_members` lists the daemons sharing the
store, each renewing its row, so they deal the sources out between them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bridge.store.schema

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('snapshots',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('taken_at', bridge.store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_snapshots'))
    )
    op.create_table('daemon_members',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daemon_members'))
    )


def downgrade() -> None:
    op.drop_table('daemon_members')
    op.drop_table('snapshots')
