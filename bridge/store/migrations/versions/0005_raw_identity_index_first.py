"""raw record identity index led by the identity

The index on (source, stream, identity) shared its first columns with the unique key
(source, stream, key): a PostgreSQL table not yet analysed (every first load) had its
page lookups by key planned on the identity index, a scan of the whole stream per page.
Led by the identity, it serves only the lookups by identity.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_records_source_stream_identity'))
        batch_op.create_index(batch_op.f('ix_raw_records_identity_source_stream'),
                              ['identity', 'source', 'stream'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('raw_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_records_identity_source_stream'))
        batch_op.create_index(batch_op.f('ix_raw_records_source_stream_identity'),
                              ['source', 'stream', 'identity'], unique=False)
