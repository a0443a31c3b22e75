"""saved lookup entries

Revision ID: 0003
Revises: 0002

Lookups that mappings build from reference records are saved, so a cycle reads
them back instead of re-reading every record of their streams.
Create Date: 2026-11-23 18:56:00.514606
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lookup_entries',
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('lookup', sa.String(length=64), nullable=False),
    sa.Column('entry', sa.String(length=255), nullable=False),
    sa.Column('record_key', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('source', 'lookup', 'entry', name=op.f('pk_lookup_entries'))
    )


def downgrade() -> None:
    op.drop_table('lookup_entries')
