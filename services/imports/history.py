"""What was imported: one row per imported file, newest first."""

import pandas as pd
from sqlmodel import Session, col, select

from models import Cycle, ImportRecord

HISTORY_COLUMNS = ["imported_at", "kind", "filename", "cycle", "username", "rows", "created", "changed", "unchanged",
                   "sha256"]


def import_history(*, session: Session, limit: int = 1000) -> pd.DataFrame:
    """The newest `limit` file imports: when, kind, file, cycle (answers only), who, rows and what they changed."""
    rows = session.exec(
        select(ImportRecord.imported_at, ImportRecord.kind, ImportRecord.filename, Cycle.name, ImportRecord.username,
               ImportRecord.rows, ImportRecord.created, ImportRecord.changed, ImportRecord.unchanged,
               ImportRecord.sha256)
        .outerjoin(Cycle, col(Cycle.id) == ImportRecord.cycle_id)
        .order_by(col(ImportRecord.id).desc()).limit(limit)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=HISTORY_COLUMNS)
