"""What a preview of an answer import holds: per file, per partner, the problems, and the rows it would write."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from services.imports.reader import Problem, ProblemCounts, problems_frame

SUMMARY_COLUMNS = ["partner_code", "legal_name", "status", "new", "changed", "unchanged", "status_after"]
FILE_COLUMNS = ["file", "form", "sheet", "rows", "answers", "new", "changed", "unchanged", "errors", "warnings"]
WRITE_COLUMNS = ["assignment_id", "criterion_id", "value", "comment", "answered_on", "current_id", "file", "partner"]
STATUS_COLUMNS = ["assignment_id", "partner_code", "status", "status_after"]


@dataclass
class FileResult:
    """What one file of an import holds and would change."""

    filename: str
    sha256: str
    form: str = ""  # long | wide
    sheet: str = ""
    rows: int = 0
    answers: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: int = 0
    warnings: int = 0


@dataclass
class ResponsePreview(ProblemCounts):
    """Everything an import would do, computed before anything is written.

    `summary`: one row per partner (SUMMARY_COLUMNS); `problems`: file, row, column, value, message, severity;
    `files`: one FileResult per file. `apply_responses` writes exactly `writes` and `status_changes`.
    """

    cycle_id: int
    cycle_name: str
    files: list[FileResult]
    summary: pd.DataFrame
    problems: pd.DataFrame
    writes: pd.DataFrame = field(repr=False)
    status_changes: pd.DataFrame = field(repr=False)

    @property
    def files_frame(self) -> pd.DataFrame:
        return pd.DataFrame([f.__dict__ for f in self.files], columns=[
            "filename", *FILE_COLUMNS[1:], "sha256"]).rename(columns={"filename": "file"})[FILE_COLUMNS]

    @property
    def totals(self) -> dict[str, int]:
        return {k: int(self.summary[k].sum()) for k in ("new", "changed", "unchanged")}


class ProblemLog:
    """Problems collected as small frames: vectorised checks report many rows at once."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def add(self, problem: Problem) -> None:
        self.frames.append(problems_frame([problem]))

    def extend(self, problems: Sequence[Problem]) -> None:
        if problems:
            self.frames.append(problems_frame(problems))

    def table(self, file, row, column, value, message, severity: str = "error") -> None:
        """One problem per element of the equally long arrays (or scalars) given."""
        frame = pd.DataFrame({"file": file, "row": row, "column": column, "value": value, "message": message})
        if not frame.empty:
            self.frames.append(frame.assign(severity=severity))

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return problems_frame([])
        out = pd.concat(self.frames, ignore_index=True)
        out["row"] = out["row"].astype("Int64")
        for name in ("file", "column", "value", "message", "severity"):
            out[name] = out[name].astype(str)
        return out

