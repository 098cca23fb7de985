"""records version: a second data-version counter that sign-in bookkeeping does not move

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:20:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("INSERT INTO dataversion (id, version) SELECT 2, version FROM dataversion WHERE id = 1")


def downgrade() -> None:
    op.execute("DELETE FROM dataversion WHERE id = 2")
