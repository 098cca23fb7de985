"""What the set-based partner statements share."""

from sqlalchemy import Select

IN_LIST = 5_000  # ids per IN list: a database takes only so many parameters in one statement


def partner_chunks(partner_ids: list[int] | Select | None) -> list:
    """The partner filter of a bulk statement, one per statement to run: None (all partners), a select of ids, or IN
    lists of at most IN_LIST ids; an empty list gives nothing to run."""
    if partner_ids is None or isinstance(partner_ids, Select):
        return [partner_ids]
    ids = sorted({int(i) for i in partner_ids})
    return [ids[start:start + IN_LIST] for start in range(0, len(ids), IN_LIST)]
