"""raw records index on (source, deleted)

`status` counts the live records of each source; without an index holding `deleted`
that count read every stored payload (about 0.3 s at 250,000 records on SQLite).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 22:05:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_records_source_deleted'), ['source', 'deleted'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('raw_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_records_source_deleted'))
