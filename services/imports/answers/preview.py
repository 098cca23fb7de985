"""The preview of an answer import: every file read, laid out, checked and compared; nothing written."""

import pandas as pd
from sqlmodel import Session

from services.imports.answers.checks import Check
from services.imports.answers.context import CycleContext
from services.imports.answers.layout import ALIASES, FileLayout, answer_rows
from services.imports.answers.result import (
    STATUS_COLUMNS,
    SUMMARY_COLUMNS,
    WRITE_COLUMNS,
    FileResult,
    ProblemLog,
    ResponsePreview,
)
from services.imports.reader import UnreadableFile, read_table, sha256_hex
from services.imports.reader import limits as reader_limits


def preview_responses(*, session: Session, files: list[tuple[str, bytes]], cycle_id: int) -> ResponsePreview:
    """Read, check and compare the files against the cycle's current answers; writes nothing.

    Returns the per-partner counts of new, changed and unchanged answers, every problem, and the answers that
    `apply_responses` would store. Raises ValidationError only for an unknown or closed cycle.
    """
    context = CycleContext.load(session, cycle_id)
    problems = ProblemLog()
    results: list[FileResult] = []
    metas: list[FileLayout] = []
    frames = []
    with reader_limits.one_import():  # the row limit counts every file of the import together
        for order, (filename, data) in enumerate(files):
            result = FileResult(filename=filename, sha256="")
            results.append(result)
            metas.append(FileLayout(filename, "", {}))
            try:
                table = read_table(filename=filename, data=data, sheet="Answers", header_keys=ALIASES["partner_code"])
            except UnreadableFile as exc:
                result.sha256 = sha256_hex(data)
                problems.add(exc.problem)
                continue
            result.sha256 = table.sha256  # (the reader's; hashing a large file twice costs)
            result.sheet, result.rows = table.sheet, len(table.cells)
            problems.extend(table.problems)
            found = answer_rows(table, context, problems, metas[order])
            result.form = metas[order].form
            if found is not None:
                frames.append(found.assign(file_order=order))
    if frames:
        rows = pd.concat(frames, ignore_index=True)
        writes, summary, status_changes = Check(session, context, rows, metas, problems).run(results)
    else:
        writes, summary, status_changes = _nothing()
    frame = problems.frame()
    frame = frame.assign(_file=frame["file"].map({r.filename: i for i, r in enumerate(results)}))
    frame = frame.sort_values(["_file", "row"], kind="stable", na_position="first").drop(columns="_file")
    frame = frame.reset_index(drop=True)
    for result in results:
        mine = frame.loc[frame["file"] == result.filename, "severity"]
        result.errors, result.warnings = int((mine == "error").sum()), int((mine == "warning").sum())
    return ResponsePreview(cycle_id=context.cycle.id, cycle_name=context.cycle.name, files=results, summary=summary,
                           problems=frame, writes=writes, status_changes=status_changes)


def _nothing() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Writes, summary and status changes of an import without a single readable answer."""
    return (pd.DataFrame(columns=WRITE_COLUMNS), pd.DataFrame(columns=SUMMARY_COLUMNS),
            pd.DataFrame(columns=STATUS_COLUMNS))

