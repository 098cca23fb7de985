"""renormalize partner names

Partner.normalized_name (duplicate detection) is recomputed with the one list of legal forms
(services.partners.identifiers.LEGAL_FORMS): "Sdn. Bhd.", "S. de R.L. de C.V.", "有限公司" and others are now
removed, so names stored before would no longer match new ones. Data only, no schema change; rows whose value
does not change are not written.

Revision ID: names01
Revises: 0001
Create Date: 2026-12-05 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.partners.identifiers import normalize_name

revision: str = 'names01'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 5_000


def upgrade() -> None:
    partner = sa.table("partner", sa.column("id", sa.Integer), sa.column("legal_name", sa.String),
                       sa.column("normalized_name", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(partner.c.id, partner.c.legal_name, partner.c.normalized_name)).all()
    changed = [{"row_id": row.id, "name": normalize_name(row.legal_name)} for row in rows
               if normalize_name(row.legal_name) != row.normalized_name]
    statement = (sa.update(partner).where(partner.c.id == sa.bindparam("row_id"))
                 .values(normalized_name=sa.bindparam("name")))
    for start in range(0, len(changed), _CHUNK):
        connection.execute(statement, changed[start:start + _CHUNK])


def downgrade() -> None:
    # The earlier values cannot be told apart from the new ones; duplicate detection works with either.
    pass
