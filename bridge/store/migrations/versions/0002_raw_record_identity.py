"""raw record identity

Revision ID: 0002
Revises: 0001

A Jira issue moved to another project changes its key, not its id: the identity
lets the new key retire the old record.
Create Date: 2026-11-23 18:37:46.215754
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raw_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_raw_records_source_stream_identity'), ['source', 'stream', 'identity'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('raw_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_records_source_stream_identity'))
        batch_op.drop_column('identity')

