"""Which form an answer file has (long or wide) and where its columns are; its answers as one row each."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services import texts
from services.imports.answers.context import CycleContext
from services.imports.answers.ids import COMMENT_HEADER, ID_HEADER, criterion_text, later_or_earlier
from services.imports.answers.result import ProblemLog
from services.imports.reader import MAX_COLUMNS, Problem, Table, header_key

# Headers of the columns in every language of the workbooks, and their other spellings (services.texts).
ALIASES: dict[str, tuple[str, ...]] = {
    column: tuple(dict.fromkeys(header_key(spelling) for spelling in texts.column_spellings(column)))
    for column in ("partner_code", "criterion_id", "answer", "comment", "answered_on")
}
# Columns the app's own Excel export writes for people to read; they are not imported and not reported.
INFO_COLUMNS = frozenset(header_key(c) for c in (
    *texts.column_spellings("category"), *texts.column_spellings("requirement"), *texts.column_spellings("question"),
    "category_number", "focus_area", "legal_name", "partner_name", "previous_answer", "previous_comment",
    "review_comment",
))


@dataclass
class FileLayout:
    """Where one file keeps its columns, for naming them in messages."""

    name: str
    form: str
    labels: dict[str, str]  # role (partner, id, answer, comment, date) -> header as written
    wide: dict[int, tuple[str, str]] = field(default_factory=dict)  # answer column position -> (its header,
    # the header of its comment column, or its own)


def answer_rows(table: Table, context: CycleContext, problems: ProblemLog, meta: FileLayout) -> pd.DataFrame | None:
    """The file's answers, one row each, whatever its form; None when its columns cannot be understood."""
    name = table.filename
    if table.cells.empty:
        problems.add(Problem(name, table.header_row, "", "", "The file has a header row but no data rows."))
        return None
    found = {column: table.positions(*aliases) for column, aliases in ALIASES.items()}
    for column, positions in found.items():
        if len(positions) > 1 and column != "comment":
            labels = ", ".join(table.label(p) for p in positions)
            problems.add(Problem(name, table.header_row, labels, "", (
                f"More than one column could be '{column}' ({labels}); keep one.")))
            return None
    if not found["partner_code"]:
        problems.add(Problem(name, table.header_row, "", ", ".join(table.headers)[:200], (
            "No 'partner_code' column. Expected the long form (partner_code, criterion_id, answer, comment) or "
            "the wide form (partner_code, then one column per criterion id such as 4.10).")))
        return None
    meta.labels["partner"] = table.label(found["partner_code"][0])
    if found["answered_on"]:
        meta.labels["date"] = table.label(found["answered_on"][0])
    if found["criterion_id"] or found["answer"]:
        meta.form = "long"
        return _from_long(table, found, problems, meta)
    meta.form = "wide"
    return _from_wide(table, context, found, problems, meta)


def _unknown_columns(table: Table, used: set[int], problems: ProblemLog) -> None:
    for position, key in enumerate(table.keys):
        if position in used or key in INFO_COLUMNS:
            continue
        problems.add(Problem(table.filename, table.header_row, table.label(position), "",
                             "This column is not imported (unknown column name).", "warning"))


def _frame(table: Table, partner: int, cid: pd.Series | str, answer: int, comment: int | None, date_at: list[int],
           seq: np.ndarray, position: int) -> pd.DataFrame:
    cells = table.cells
    missing = pd.Series(pd.NA, index=cells.index, dtype="str")
    return pd.DataFrame({  # .array keeps the text in Arrow; no copy through Python objects
        "row": cells.index.to_numpy(),
        "seq": seq,
        "pos": position,
        "partner": cells[partner].array,
        "cid_text": cid.array if isinstance(cid, pd.Series) else cid,
        "answer_text": cells[answer].array,
        "comment": (cells[comment] if comment is not None else missing).array,
        "date_text": (cells[date_at[0]] if date_at else missing).array,
    })


def _from_long(table: Table, found: dict[str, list[int]], problems: ProblemLog,
               meta: FileLayout) -> pd.DataFrame | None:
    name = table.filename
    missing = [f for f in ("criterion_id", "answer") if not found[f]]
    if missing:
        problems.add(Problem(name, table.header_row, "", "", (
            f"Column '{missing[0]}' is missing: the long form needs partner_code, criterion_id, answer and "
            "(for partial and no) comment.")))
        return None
    if len(found["comment"]) > 1:
        labels = ", ".join(table.label(p) for p in found["comment"])
        problems.add(Problem(name, table.header_row, labels, "", f"More than one comment column ({labels}); keep one."))
        return None
    _unknown_columns(table, {p for positions in found.values() for p in positions}, problems)
    criterion, answer = found["criterion_id"][0], found["answer"][0]
    comment = found["comment"][0] if found["comment"] else None
    meta.labels.update(id=table.label(criterion), answer=table.label(answer),
                       comment=table.label(comment if comment is not None else answer))
    return _frame(table, found["partner_code"][0], table.cells[criterion], answer, comment, found["answered_on"],
                  np.arange(len(table.cells)), -1)


def _from_wide(table: Table, context: CycleContext, found: dict[str, list[int]], problems: ProblemLog,
               meta: FileLayout) -> pd.DataFrame | None:
    name = table.filename
    answer_columns: list[tuple[int, str]] = []  # (position, criterion id as read)
    comment_columns: dict[str, int] = {}
    used = set(found["partner_code"]) | set(found["answered_on"])
    for position, header in enumerate(table.headers):
        if position in used:
            continue
        comment = COMMENT_HEADER.match(table.keys[position])
        if comment:
            comment_columns[criterion_text(comment.group(1) or comment.group(2))[0]] = position
            used.add(position)
            continue
        match = ID_HEADER.match(header)
        if match:
            answer_columns.append((position, criterion_text(match.group(1))[0]))
            used.add(position)
    for position in found["comment"]:
        problems.add(Problem(name, table.header_row, table.label(position), "", (
            "In the wide form a comment column must name its criterion, e.g. 'comment 4.10'.")))
        used.add(position)
    if not answer_columns:
        problems.add(Problem(name, table.header_row, "", ", ".join(table.headers)[:200], (
            "No criterion columns. Expected the long form (partner_code, criterion_id, answer, comment) or the "
            "wide form (partner_code, then one column per criterion id such as 4.10).")))
        return None
    _unknown_columns(table, used, problems)
    answer_columns = _resolve_header_pairs(table, answer_columns, context, problems)
    answered = {cid for _, cid in answer_columns}
    for cid, position in comment_columns.items():
        if cid not in answered:
            problems.add(Problem(name, table.header_row, table.label(position), "", (
                f"Comment column for criterion {cid} has no answer column '{cid}'.")))
    count = len(table.cells)
    parts = []
    for order, (position, cid) in enumerate(answer_columns):
        comment_at = comment_columns.get(cid)
        meta.wide[position] = (table.label(position), table.label(comment_at if comment_at is not None else position))
        parts.append(_frame(table, found["partner_code"][0], cid, position, comment_at, found["answered_on"],
                            np.arange(count) * MAX_COLUMNS + order, position))
    return pd.concat(parts, ignore_index=True).sort_values("seq", kind="stable", ignore_index=True)


def _resolve_header_pairs(table: Table, columns: list[tuple[int, str]], context: CycleContext,
                          problems: ProblemLog) -> list[tuple[int, str]]:
    """Two columns headed x.y and none headed x.y0: rule (b) at column level, for every partner at once."""
    out = list(columns)
    for short, long in context.short_to_long.items():
        ids = [cid for _, cid in out]
        at = [i for i, cid in enumerate(ids) if cid == short]
        if len(at) != 2 or long in ids:
            continue
        which = later_or_earlier(ids, at, long, [context.number_order, context.default_order])
        first, second = (table.label(out[i][0]) for i in at)
        if which is None:
            for i in at:
                problems.add(Problem(table.filename, table.header_row, table.label(out[i][0]), short, (
                    f"Two columns are headed {short} and none {long}: a spreadsheet probably turned {long} into "
                    f"{short}, but the column order does not say which is which. Write the ids as text ('{long}) "
                    "and import again.")))
            out = [c for i, c in enumerate(out) if i not in at]
            continue
        chosen = at[which]
        problems.add(Problem(table.filename, table.header_row, table.label(out[chosen][0]), short, (
            f"Read as criterion {long}: the columns {first} and {second} are both headed {short}, {long} is "
            "missing, and the column order shows which one it is."), "warning"))
        out[chosen] = (out[chosen][0], long)
    return out

