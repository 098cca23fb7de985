"""data version: one counter bumped with every write, so each process can tell its cached reads are stale

Revision ID: 0002r
Revises: 0004
Create Date: 2026-12-05 20:45:31.935556
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002r'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table('dataversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataversion'))
    )
    op.bulk_insert(table, [{'id': 1, 'version': 0}])


def downgrade() -> None:
    op.drop_table('dataversion')
