"""transition inputs digest

A transition whose inputs did not change is not derived again; tickets are found by
project key through an index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:26:48.161147
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_project_key'), ['project_key'], unique=False)

    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inputs_hash', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_column('inputs_hash')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_project_key'))

