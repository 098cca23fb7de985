"""cycle titles for partners: what partners read instead of the internal cycle name, by language

Existing cycles get no title of their own ({}), so partners see the neutral title of the text catalogue.

Revision ID: 0007
Revises: 0010
Create Date: 2026-12-05 23:22:27.425745
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_titles', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_column('partner_titles')
