"""step 5: the documented risk assessment procedure, kept as versions with their sign-off

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-06 00:51:06.400639
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0012'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('procedureversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('configuration_version', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('saved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('saved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedureversion')),
    sa.UniqueConstraint('version', name=op.f('uq_procedureversion_version'))
    )


def downgrade() -> None:
    op.drop_table('procedureversion')
