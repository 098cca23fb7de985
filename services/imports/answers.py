"""Importing partners' answers from CSV/XLSX files (Excel round-trip and bulk files): preview, then one transaction.

Formats. Long form: one row per answer, columns `partner_code, criterion_id, answer, comment` and optionally
`answered_on`. Wide form: one row per partner, `partner_code` then one column per criterion id (`4.10`), with
optional `comment 4.10` columns and an optional `answered_on` column for the whole row. Headers are matched by
name (case, spaces, underscores and a BOM do not matter); columns the importer does not use are reported.

Rules (each broken rule is a problem naming file, row, column and value; any error means nothing is written):
- Answers: yes / partial / no / na in the usual English, Spanish and Chinese spellings (`ANSWER_WORDS`).
  A row with neither answer nor comment is skipped; a comment without an answer is an error.
- A comment is required for partial and no. A file without a comment column for a criterion keeps the comment
  already stored; a blank comment cell clears it.
- Criterion ids a spreadsheet turned into numbers: "4.1000001", "4,1" and "4.1" are read as the number 4.1. A
  number x.y is read as x.y0 (4.1 as 4.10, 7.3 as 7.30) when, for that partner,
  (a) x.y does not apply (or does not exist) and x.y0 does; or
  (b) x.y appears exactly twice, x.y0 not at all, and the file order says which one is x.y0: both carry the
      same answer, or the partner's rows (wide form: the criterion columns) are in criterion-number or
      questionnaire order only one way round. Otherwise both rows are reported as ambiguous.
  Otherwise the id is read as written. Every such reading is shown as a warning.
- Unknown partner codes, partners without an assignment in the cycle, unknown criteria and criteria that do not
  apply to the partner's entity type are errors.
- The same partner and criterion twice (in one file or across the files of one import): the same answer,
  comment and date are imported once with a warning; anything different is an error on the later row.
- An answer to an accepted or exempt questionnaire that would change it is an error ("return it first");
  unchanged answers for them are fine.
- Dates (answered_on): ISO (2027-01-31) or an Excel serial number (46418; date cells of a workbook arrive as
  such); not in the future.
- Formulas are refused, never calculated: formula cells of a workbook, and cells of a CSV file that start with
  "=" (Excel runs those as formulas when it opens the file). Workbook text that merely starts with "=" is text.
An answer is unchanged when its value and comment equal the stored ones (and its date, when the file gives one);
importing the same file twice therefore changes nothing the second time.
Writing: only new and changed answers are stored (through services.collection.answers.store_answers, source "file"); a
questionnaire that received answers becomes "submitted" when every applicable criterion is answered (with the
required comments; its open review comments are then resolved, as on submitting through the link), else
"in progress". One ImportRecord and one audit event per file.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from models import Answer, Assignment, Criterion, Cycle, ImportRecord, Partner, ReviewComment
from models.collection import ANSWER_VALUES
from models.common import utcnow
from services import texts
from services.collection import answers
from services.core import audit
from services.core.permissions import Actor, ValidationError, require_write
from services.imports.reader import (
    MAX_COLUMNS,
    Problem,
    ProblemCounts,
    Table,
    UnreadableFile,
    header_key,
    problems_frame,
    read_table,
    sha256_hex,
)
from services.reference.applicability import question_sets_for_partners

MAX_COMMENT_CHARS = 4000  # Answer.comment
LOCKED_STATES = ("accepted", "exempt")  # answers to these change only after the team reopens them
EXCEL_EPOCH = date(1899, 12, 30)  # Excel serial day 0 (its 1900 leap-year bug folded in)

# Spellings of the answers and headers of the columns in every language of the workbooks (services.texts).
ANSWER_WORDS: dict[str, str] = texts.answer_spellings(ANSWER_VALUES)
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
SUMMARY_COLUMNS = ["partner_code", "legal_name", "status", "new", "changed", "unchanged", "status_after"]
FILE_COLUMNS = ["file", "form", "sheet", "rows", "answers", "new", "changed", "unchanged", "errors", "warnings"]
WRITE_COLUMNS = ["assignment_id", "criterion_id", "value", "comment", "answered_on", "current_id", "file", "partner"]
STATUS_COLUMNS = ["assignment_id", "partner_code", "status", "status_after"]
VALUE_NUMBER = {value: number for number, value in enumerate(ANSWER_VALUES)}
NEW, CHANGED, UNCHANGED = 0, 1, 2

_ID = re.compile(r"^'?\s*(\d{1,2})\.(\d{1,2})\s*$")
_ID_COMMA = re.compile(r"^'?\s*(\d{1,2}),(\d{1,2})\s*$")
_ID_NOISE = re.compile(r"^'?\s*(\d{1,2})[.,](\d{3,})\s*$")
_ID_HEADER = re.compile(r"^'?\s*(\d{1,2}[.,]\d+)(?:\s*[-–:)]?\s+\S.*)?$")
_COMMENT_HEADER = re.compile(r"^(?:comments?|comentarios?|备注)(\d{1,2}[.,]\d+)$|^(\d{1,2}[.,]\d+)(?:comments?)$")
_ANSWER_NOISE = re.compile(r"[\s.]+")
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?$")
_SERIAL_DATE = re.compile(r"^\d{4,5}(?:\.\d+)?$")


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


@dataclass
class _Context:
    """The cycle's partners and the criteria that apply to each entity type, loaded once per preview.

    Criteria are numbered by their position in `ids`, entity types by their position in `entities` (one extra
    row of `applies`, all False, stands for partners that are unknown or of an unknown type).
    """

    cycle: Cycle
    partners: pd.DataFrame  # index partner_code (upper case): partner_id, legal_name, entity, assignment_id, status
    ids: np.ndarray
    index: dict[str, int]
    entities: list[str]
    applies: np.ndarray  # bool [entity, criterion]
    number_order: dict[str, int]
    default_order: dict[str, tuple]  # questionnaire order with each criterion's own must/should
    entity_order: list[dict[str, tuple]]  # per entity: questionnaire order of its criteria
    short_to_long: dict[str, str]  # "4.1" -> "4.10": ids a spreadsheet number can stand for

    @classmethod
    def load(cls, session: Session, cycle_id: int) -> "_Context":
        cycle = session.get(Cycle, cycle_id)
        if cycle is None:
            raise ValidationError(f"No cycle with id {cycle_id}.")
        if cycle.status != "open":
            raise ValidationError(f"Cycle '{cycle.name}' is closed; answers can only be imported into an open cycle.")
        catalogue = pd.DataFrame(session.exec(select(Criterion.criterion_id, Criterion.category_number,
                                                     Criterion.sort_key, Criterion.requirement)
                                              .order_by(Criterion.sort_key)).all(),
                                 columns=["criterion_id", "category_number", "sort_key", "requirement"])
        ids = catalogue["criterion_id"].to_numpy(dtype=object)
        index = {cid: i for i, cid in enumerate(ids)}
        partner_rows = session.exec(
            select(Partner.partner_code, Partner.id, Partner.legal_name, Partner.entity_type, Assignment.id,
                   Assignment.status)
            .outerjoin(Assignment, (col(Assignment.partner_id) == Partner.id) & (Assignment.cycle_id == cycle_id))
        ).all()
        partners = pd.DataFrame(partner_rows, columns=["partner_code", "partner_id", "legal_name", "entity_type",
                                                       "assignment_id", "status"])
        # What each partner of the cycle is asked (services.reference.applicability): one row of `applies` per
        # question set (partners of a type with the same roles), labelled with its entity type.
        members, sets = question_sets_for_partners(
            session=session, partner_ids=partners.loc[partners["assignment_id"].notna(), "partner_id"].tolist())
        entities = members.merge(partners[["partner_id", "entity_type"]], on="partner_id").drop_duplicates(
            "set_id").sort_values("set_id")["entity_type"].tolist()
        applies = np.zeros((len(entities) + 1, len(ids)), dtype=bool)
        applies[sets["set_id"].to_numpy(), sets["criterion_id"].map(index).to_numpy()] = True
        entity_order: list[dict[str, tuple]] = [{} for _ in entities]
        for entity, cid, order in zip(sets["set_id"], sets["criterion_id"], zip(
                sets["category_number"], sets["requirement"].ne("must").astype(int), sets["sort_key"],
                strict=True), strict=True):
            entity_order[entity][cid] = order
        partners["partner_code"] = partners["partner_code"].str.upper()
        partners["entity"] = partners["partner_id"].map(members.set_index("partner_id")["set_id"]).fillna(
            len(entities)).astype("int64")
        partners["assignment_id"] = partners["assignment_id"].fillna(-1).astype("int64")
        partners["status"] = partners["status"].fillna("")
        partners = partners.drop_duplicates("partner_code").set_index("partner_code")
        return cls(
            cycle=cycle, partners=partners[["partner_id", "legal_name", "entity", "assignment_id", "status"]],
            ids=ids, index=index, entities=entities, applies=applies,
            number_order=dict(zip(catalogue["criterion_id"], catalogue["sort_key"], strict=True)),
            default_order=dict(zip(ids, zip(catalogue["category_number"], catalogue["requirement"].ne("must")
                                            .astype(int), catalogue["sort_key"], strict=True), strict=True)),
            entity_order=entity_order,
            short_to_long={cid[:-1]: cid for cid in index if cid.endswith("0") and len(cid.split(".")[1]) == 2},
        )


@dataclass
class _File:
    """Where one file keeps its columns, for naming them in messages."""

    name: str
    form: str
    labels: dict[str, str]  # role (partner, id, answer, comment, date) -> header as written
    wide: dict[int, tuple[str, str]] = field(default_factory=dict)  # answer column position -> (its header,
    # the header of its comment column, or its own)


def answer_value(text: object) -> str | None:
    """yes | partial | no | na for an accepted spelling (any case, spaces and dots ignored), else None."""
    key = unicodedata.normalize("NFKC", str(text or "")).casefold().strip()
    if key in ANSWER_WORDS:
        return ANSWER_WORDS[key]
    return ANSWER_WORDS.get(_ANSWER_NOISE.sub(" ", key).strip()) or ANSWER_WORDS.get(_ANSWER_NOISE.sub("", key))


def criterion_text(text: str) -> tuple[str, bool]:
    """A criterion id as written, or as the number it became; the flag says a number was read.

    "4.10" -> ("4.10", False); "4,1" -> ("4.1", True); "4.1000001" -> ("4.1", True); "x" -> ("x", False).
    """
    raw = str(text).strip()
    match = _ID.match(raw)
    if match:
        return f"{int(match.group(1))}.{match.group(2)}", False
    match = _ID_COMMA.match(raw)
    if match:
        return f"{int(match.group(1))}.{match.group(2)}", True
    match = _ID_NOISE.match(raw)
    if match:
        number = float(f"{match.group(1)}.{match.group(2)}")
        if abs(number - round(number, 2)) < 1e-6:
            major, minor = f"{round(number, 2):.2f}".split(".")
            return f"{major}.{minor.rstrip('0') or '0'}", True
    return raw.lstrip("'").strip(), False


def parse_answer_date(text: str, today: date) -> tuple[date | None, str]:
    """The date in ISO or Excel serial form, or (None, message) when it is not a usable date."""
    raw = str(text).strip()
    if _ISO_DATE.match(raw):
        try:
            parsed = date.fromisoformat("-".join(p.zfill(2) for p in raw[:10].split(" ")[0].split("-")))
        except ValueError:
            return None, f"'{raw}' is not a valid date"
    elif _SERIAL_DATE.match(raw):
        serial = float(raw)
        if not 1 <= serial <= 2_958_465:
            return None, f"'{raw}' is not a valid Excel date number"
        parsed = EXCEL_EPOCH + timedelta(days=int(serial))
    else:
        return None, f"'{raw}' is not a date: write it as YYYY-MM-DD (e.g. 2027-01-31)"
    if parsed > today:
        return None, f"{parsed.isoformat()} is in the future"
    return parsed, ""


class _Problems:
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


def preview_responses(*, session: Session, files: list[tuple[str, bytes]], cycle_id: int) -> ResponsePreview:
    """Read, check and compare the files against the cycle's current answers; writes nothing.

    Returns the per-partner counts of new, changed and unchanged answers, every problem, and the answers that
    `apply_responses` would store. Raises ValidationError only for an unknown or closed cycle.
    """
    context = _Context.load(session, cycle_id)
    problems = _Problems()
    results: list[FileResult] = []
    metas: list[_File] = []
    frames = []
    for order, (filename, data) in enumerate(files):
        result = FileResult(filename=filename, sha256=sha256_hex(data))
        results.append(result)
        metas.append(_File(filename, "", {}))
        try:
            table = read_table(filename=filename, data=data, sheet="Answers", header_keys=ALIASES["partner_code"])
        except UnreadableFile as exc:
            problems.add(exc.problem)
            continue
        result.sheet, result.rows = table.sheet, len(table.cells)
        problems.extend(table.problems)
        found = _answer_rows(table, context, problems, metas[order])
        result.form = metas[order].form
        if found is not None:
            frames.append(found.assign(file_order=order))
    if frames:
        rows = pd.concat(frames, ignore_index=True)
        writes, summary, status_changes = _Check(session, context, rows, metas, problems).run(results)
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


def _answer_rows(table: Table, context: _Context, problems: _Problems, meta: _File) -> pd.DataFrame | None:
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


def _unknown_columns(table: Table, used: set[int], problems: _Problems) -> None:
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


def _from_long(table: Table, found: dict[str, list[int]], problems: _Problems, meta: _File) -> pd.DataFrame | None:
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


def _from_wide(table: Table, context: _Context, found: dict[str, list[int]], problems: _Problems,
               meta: _File) -> pd.DataFrame | None:
    name = table.filename
    answer_columns: list[tuple[int, str]] = []  # (position, criterion id as read)
    comment_columns: dict[str, int] = {}
    used = set(found["partner_code"]) | set(found["answered_on"])
    for position, header in enumerate(table.headers):
        if position in used:
            continue
        comment = _COMMENT_HEADER.match(table.keys[position])
        if comment:
            comment_columns[criterion_text(comment.group(1) or comment.group(2))[0]] = position
            used.add(position)
            continue
        match = _ID_HEADER.match(header)
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


def _resolve_header_pairs(table: Table, columns: list[tuple[int, str]], context: _Context,
                          problems: _Problems) -> list[tuple[int, str]]:
    """Two columns headed x.y and none headed x.y0: rule (b) at column level, for every partner at once."""
    out = list(columns)
    for short, long in context.short_to_long.items():
        ids = [cid for _, cid in out]
        at = [i for i, cid in enumerate(ids) if cid == short]
        if len(at) != 2 or long in ids:
            continue
        which = _later_or_earlier(ids, at, long, [context.number_order, context.default_order])
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


def _later_or_earlier(ids: list[str], at: list[int], long: str, orders: list[dict]) -> int | None:
    """Which of the two occurrences (0 or 1) of a short id is really `long`, by the order of `ids`; None if unsure.

    An order decides when reading one occurrence as `long` makes the whole sequence ascending in that order and
    the other way round does not; orders that disagree leave it undecided.
    """
    verdicts = set()
    for order in orders:
        fits = []
        for candidate in (0, 1):
            trial = list(ids)
            trial[at[candidate]] = long
            keys = [order[c] for c in trial if c in order]
            fits.append(all(a <= b for a, b in zip(keys, keys[1:], strict=False)))
        if fits[0] != fits[1]:
            verdicts.add(0 if fits[0] else 1)
    return verdicts.pop() if len(verdicts) == 1 else None


class _Check:
    """The checks over all answer rows of all files, on integer codes: per distinct value, never per row.

    Partner codes, answers, criterion ids and dates are factorised; each distinct value is looked up once and
    the result spread to the rows with numpy. Only rows with problems are turned into messages.
    """

    def __init__(self, session: Session, context: _Context, rows: pd.DataFrame, files: list[_File],
                 problems: _Problems):
        self.session, self.context, self.files, self.problems = session, context, files, problems
        answer = rows["answer_text"].astype("str").str.strip()
        comment = rows["comment"].astype("str").str.replace("\r\n", "\n", regex=False).str.strip()
        blank = answer.eq("").to_numpy()
        self.rows = rows  # the rows as read, for messages about blank answers
        orphan = np.flatnonzero(blank & comment.fillna("").ne("").to_numpy())
        self.report(orphan, "answer", "", "The answer is empty but a comment is given: choose an answer or clear "
                                          "the comment.")
        keep = ~blank
        self.rows = rows.loc[keep].reset_index(drop=True)
        self.rows["answer_text"] = answer[keep].array
        self.rows["comment"] = comment[keep].array
        self.file_order = self.rows["file_order"].to_numpy()
        self.bad = np.zeros(len(self.rows), dtype=bool)

    def report(self, at: np.ndarray, role: str, value, message, severity: str = "error") -> None:
        """Problems for the rows at positions `at` (of self.rows), naming the column of `role`."""
        if len(at) == 0:
            return
        rows = self.rows.iloc[at]
        orders = rows["file_order"].to_numpy()
        positions = rows["pos"].to_numpy()
        names = np.array([f.name for f in self.files], dtype=object)[orders]
        columns = np.array([self._label(o, p, role) for o, p in zip(orders, positions, strict=True)], dtype=object)
        self.problems.table(names, rows["row"].to_numpy(), columns, _values(value), _values(message), severity)

    def texts(self, column: str, at: np.ndarray) -> np.ndarray:
        """The cells of one column at the given row positions, as Python strings (None where empty)."""
        return self.rows[column].iloc[at].astype(object).where(lambda s: s.notna(), None).to_numpy()

    def _label(self, order: int, position: int, role: str) -> str:
        meta = self.files[order]
        if position >= 0 and role in ("id", "answer", "comment"):
            own, comment = meta.wide[position]
            return comment if role == "comment" else own
        return meta.labels.get(role) or meta.labels.get("answer", role)

    def run(self, results: list[FileResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        self._partners()
        self._answers()
        self._criteria()
        self._comments_and_dates()
        good = np.flatnonzero(~self.bad)
        good = self._merge_duplicates(good)
        good = self._compare_with_current(good)
        return self._outcome(good, results)

    def _partners(self) -> None:
        codes, self.partner_codes = pd.factorize(self.rows["partner"].astype("str").str.strip().str.upper())
        self.partner = codes
        info = self.context.partners.reindex(self.partner_codes)
        self.partner_info = info
        unknown_entity = len(self.context.entities)
        self.entity = info["entity"].fillna(unknown_entity).astype("int64").to_numpy()[codes]
        self.assignment = info["assignment_id"].fillna(-1).astype("int64").to_numpy()[codes]
        self.locked = info["status"].isin(LOCKED_STATES).to_numpy()[codes]
        empty = np.asarray(self.partner_codes == "")[codes]
        at = np.flatnonzero(empty)
        once = ~pd.DataFrame({"f": self.file_order[at], "r": self.rows["row"].to_numpy()[at]}).duplicated().to_numpy()
        self.report(at[once], "partner", "", "The partner code is empty.")  # once per row, not per wide-form cell
        known = info["partner_id"].notna().to_numpy()[codes]
        self._per_partner(~empty & ~known, lambda code, n: f"Unknown partner code '{code}'" + _times(n) + ".")
        cycle = self.context.cycle.name
        self._per_partner(known & (self.assignment < 0), lambda code, n: (
            f"Partner {code} has no questionnaire in cycle '{cycle}'" + _times(n) + "."))
        self.entity[self.assignment < 0] = unknown_entity
        self.bad |= self.assignment < 0

    def _per_partner(self, mask: np.ndarray, message, role: str = "partner") -> None:
        """One problem per file and partner (at its first row) rather than one per answer."""
        at = np.flatnonzero(mask)
        if len(at) == 0:
            return
        frame = pd.DataFrame({"at": at, "file": self.file_order[at], "partner": self.partner[at]})
        groups = frame.groupby(["file", "partner"], sort=False)["at"].agg(["first", "size"])
        first = groups["first"].to_numpy()
        codes = self.partner_codes[self.partner[first]]
        self.report(first, role, codes, [message(c, int(n)) for c, n in zip(codes, groups["size"], strict=True)])

    def _answers(self) -> None:
        codes, spellings = pd.factorize(self.rows["answer_text"])
        value = np.array([VALUE_NUMBER.get(answer_value(s), -1) for s in spellings], dtype="int64")
        self.value = value[codes] if len(codes) else np.zeros(0, dtype="int64")
        wrong = np.flatnonzero(self.value < 0)
        texts = self.texts("answer_text", wrong)
        self.report(wrong, "answer", texts, [f"'{t}' is not an answer: use yes, partial, no or n/a." for t in texts])
        self.bad[wrong] = True

    def _criteria(self) -> None:
        """Criterion ids, with the x.y -> x.y0 rules of the module docstring."""
        context = self.context
        codes, texts = pd.factorize(self.rows["cid_text"].astype("str"))
        read = [criterion_text(t) for t in texts]
        number = np.array([context.index.get(t, -1) for t, _ in read] or [0], dtype="int64")
        numeric = np.array([flag for _, flag in read] or [False])[codes]
        longer = np.array([context.index.get(context.short_to_long.get(t, ""), -1) for t, _ in read] or [0],
                          dtype="int64")[codes]
        self.read_as = np.array([t for t, _ in read] or [""], dtype=object)[codes]
        criterion = number[codes]
        applies = (criterion >= 0) & context.applies[self.entity, np.maximum(criterion, 0)]
        long_applies = (longer >= 0) & context.applies[self.entity, np.maximum(longer, 0)]
        rule_a = (longer >= 0) & ~applies & long_applies
        long_form = np.array([f.form == "long" for f in self.files])[self.file_order]
        candidates = np.flatnonzero((longer >= 0) & applies & long_applies & long_form)
        rule_b, ambiguous = self._rule_b(candidates, criterion, longer)
        at = np.flatnonzero(rule_a)
        self.report(at, "id", self.texts("cid_text", at), [
            f"Read as criterion {context.ids[long]}: a spreadsheet turns {context.ids[long]} into {short}, and {short} "
            + ("does not apply to this partner." if short in context.index else "does not exist.")
            for long, short in zip(longer[at], self.read_as[at], strict=True)], "warning")
        self.report(rule_b, "id", self.texts("cid_text", rule_b), [
            f"Read as criterion {context.ids[long]}: {short} appears twice for {self.partner_codes[p]}, "
            f"{context.ids[long]} is missing, and the rows show which one it is."
            for long, short, p in zip(longer[rule_b], self.read_as[rule_b], self.partner[rule_b], strict=True)],
            "warning")
        resolved = rule_a.copy()
        resolved[rule_b] = True
        criterion = np.where(resolved, longer, criterion)
        applies |= resolved
        at = np.flatnonzero(numeric & ~resolved & applies)
        self.report(at, "id", self.texts("cid_text", at), [f"Read as criterion {c} (the id was written as a number)."
                                          for c in context.ids[criterion[at]]], "warning")
        checked = (self.assignment >= 0) & ~applies
        checked[ambiguous] = False
        at = np.flatnonzero(checked & (criterion < 0))
        shown = self.texts("cid_text", at)
        self.report(at, "id", shown, [f"Unknown criterion id '{t}' (ids look like 4.10)." for t in shown])
        at = np.flatnonzero(checked & (criterion >= 0))
        self.report(at, "id", self.texts("cid_text", at), [
            f"Criterion {context.ids[c]} does not apply to {context.entities[e]} partners ({self.partner_codes[p]})."
            for c, e, p in zip(criterion[at], self.entity[at], self.partner[at], strict=True)])
        self.bad |= checked
        self.bad[ambiguous] = True
        self.criterion = criterion

    def _rule_b(self, candidates: np.ndarray, criterion: np.ndarray,
                longer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rule (b) for long-form rows: positions read as x.y0, and positions left ambiguous."""
        if len(candidates) == 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
        context = self.context
        frame = pd.DataFrame({"at": candidates, "file": self.file_order[candidates],
                              "partner": self.partner[candidates], "criterion": criterion[candidates]})
        twice = frame[frame.groupby(["file", "partner", "criterion"])["at"].transform("size") == 2]
        if twice.empty:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
        owners = self.file_order.astype("int64") * len(self.partner_codes) + self.partner
        wanted = set(twice["file"].astype("int64") * len(self.partner_codes) + twice["partner"])
        members = pd.Series(np.arange(len(owners)))[pd.Series(owners).isin(wanted).to_numpy()]
        rows_of = members.groupby(owners[members.to_numpy()]).indices
        picked, unsure = [], []
        for (file, partner, _), pair in twice.groupby(["file", "partner", "criterion"], sort=False):
            at = pair["at"].to_numpy()
            long = longer[at[0]]
            mine = members.to_numpy()[rows_of[file * len(self.partner_codes) + partner]]
            if (criterion[mine] == long).any():
                continue
            same = len({(self.value[i], c, d) for i, c, d in zip(at, self.texts("comment", at),
                                                                  self.texts("date_text", at), strict=True)}) == 1
            ids = [context.ids[c] if c >= 0 else "" for c in criterion[mine]]
            positions = [int(np.flatnonzero(mine == i)[0]) for i in at]
            orders = [context.number_order, context.entity_order[self.entity[at[0]]]]
            which = 1 if same else _later_or_earlier(ids, positions, context.ids[long], orders)
            if which is None:
                unsure.extend(at)
                short, code = context.ids[criterion[at[0]]], self.partner_codes[partner]
                first, second = (int(self.rows.at[i, "row"]) for i in at)
                self.report(at, "id", self.texts("cid_text", at), (
                    f"Criterion {short} appears twice for partner {code} (rows {first} and {second}) and "
                    f"{context.ids[long]} is missing: a spreadsheet probably turned {context.ids[long]} into {short}, "
                    f"but the row order does not say which is which. Write the ids as text ('{context.ids[long]}) "
                    "and import again."))
            else:
                picked.append(at[which])
        return np.array(picked, dtype="int64"), np.array(unsure, dtype="int64")

    def _comments_and_dates(self) -> None:
        comment = self.rows["comment"]
        too_long = np.flatnonzero(comment.fillna("").str.len().to_numpy() > MAX_COMMENT_CHARS)
        self.report(too_long, "comment", [t[:60] + "…" for t in self.texts("comment", too_long)],
                    f"The comment is longer than {MAX_COMMENT_CHARS:,} characters.")
        self.bad[too_long] = True
        codes, texts = pd.factorize(self.rows["date_text"].fillna("").astype("str").str.strip())
        today = date.today()
        parsed = [parse_answer_date(t, today) if t else (None, "") for t in texts]
        self.date = np.array([d for d, _ in parsed] or [None], dtype=object)[codes]
        self.date_iso = np.array([_iso(d) for d, _ in parsed] or [""], dtype=object)[codes]
        self.date_given = np.array([bool(t) for t in texts] or [False])[codes]
        errors = np.array([e for _, e in parsed] or [""], dtype=object)[codes]
        wrong = np.flatnonzero(errors != "")
        self.report(wrong, "date", np.asarray(texts, dtype=object)[codes[wrong]],
                    ["answered_on: " + e for e in errors[wrong]])
        self.bad[wrong] = True

    def _key(self, at: np.ndarray) -> np.ndarray:
        return self.assignment[at] * len(self.context.ids) + self.criterion[at]

    def _merge_duplicates(self, good: np.ndarray) -> np.ndarray:
        """Same partner and criterion more than once: identical -> imported once (warning); different -> error."""
        keys = pd.Series(self._key(good))
        repeated = keys.duplicated(keep=False).to_numpy()
        if not repeated.any():
            return good
        group = good[repeated]
        comment = [c if c is not None else "\x00" for c in self.texts("comment", group)]
        frame = pd.DataFrame({"key": keys[repeated].to_numpy(), "at": group, "value": self.value[group],
                              "comment": comment, "date": self.date_iso[group]})
        first = frame.groupby("key", sort=False)[["at", "value", "comment", "date"]].transform("first")
        later = frame.index[frame["key"].duplicated(keep="first")]
        same = ((frame.loc[later, ["value", "comment", "date"]] == first.loc[later, ["value", "comment", "date"]])
                .all(axis=1).to_numpy())
        at, before = frame.loc[later, "at"].to_numpy(), first.loc[later, "at"].to_numpy()
        names = [f.name for f in self.files]
        where = [f"row {self.rows.at[b, 'row']}" + ("" if self.file_order[a] == self.file_order[b]
                                                   else f" of {names[self.file_order[b]]}") for a, b in zip(at, before,
                                                                                                           strict=True)]
        label = [f"{self.partner_codes[self.partner[a]]} {self.context.ids[self.criterion[a]]}" for a in at]
        echo = np.flatnonzero(same)
        self.report(at[echo], "id", self.texts("cid_text", at[echo]),
                    [f"Same answer as {where[i]} for {label[i]}; imported once." for i in echo], "warning")
        clash = np.flatnonzero(~same)
        earlier, later_value = self.value[before], self.value[at]
        self.report(at[clash], "answer", self.texts("answer_text", at[clash]), [
            f"Conflicts with {where[i]}: {label[i]} is answered twice differently ('{ANSWER_VALUES[earlier[i]]}' and "
            f"'{ANSWER_VALUES[later_value[i]]}'"
            + (", with a different comment or date" if earlier[i] == later_value[i] else "") + ")."
            for i in clash])
        return np.setdiff1d(good, at, assume_unique=True)

    def _compare_with_current(self, good: np.ndarray) -> np.ndarray:
        """Classify answers as new, changed or unchanged; check required comments and locked questionnaires."""
        assignment_ids = np.unique(self.assignment[good]).tolist()
        current = answers.current_answers(session=self.session, assignment_ids=assignment_ids)
        current_number = current["criterion_id"].map(self.context.index).fillna(-1).astype("int64").to_numpy()
        current_keys = current["assignment_id"].astype("int64").to_numpy() * len(self.context.ids) + current_number
        self.current = current.assign(key=current_keys, number=current_number)
        found = pd.Index(current_keys).get_indexer(self._key(good))
        exists = found >= 0
        pick = np.maximum(found, 0)
        if len(current):
            stored_id = current["id"].to_numpy(dtype="float64")[pick]
            stored_value = current["value"].map(VALUE_NUMBER).fillna(-1).astype("int64").to_numpy()[pick]
            codes, uniques = pd.factorize(current["answered_on"])
            stored_date = np.array([_iso(d) for d in uniques] + [""], dtype=object)[codes][pick]
            stored_comment = current["comment"].fillna("").astype("str").take(pick).reset_index(drop=True)
        else:
            stored_id, stored_value, stored_date = np.zeros(len(good)), np.full(len(good), -1), np.full(len(good), "")
            stored_comment = pd.Series("", index=range(len(good)), dtype="str")
        self.current_id = np.where(exists, stored_id, np.nan)
        stored_comment = stored_comment.where(exists, "")
        given = self.rows["comment"].iloc[good].reset_index(drop=True)
        comment = given.where(given.notna(), stored_comment)  # no comment column: the stored comment stays
        self.final_comment = comment
        value = self.value[good]
        needs = np.isin(value, [VALUE_NUMBER["partial"], VALUE_NUMBER["no"]]) & comment.eq("").to_numpy()
        at = good[needs]
        self.report(at, "comment", self.texts("answer_text", at),
                    [f"A comment is required when the answer is '{ANSWER_VALUES[v]}'." for v in value[needs]])
        same_date = ~self.date_given[good] | (self.date_iso[good] == stored_date)
        same = exists & (value == stored_value) & comment.eq(stored_comment).to_numpy() & same_date
        self.change = np.where(~exists, NEW, np.where(same, UNCHANGED, CHANGED))
        locked = self.locked[good] & (self.change != UNCHANGED)
        if locked.any():
            status = dict(zip(self.partner_codes, self.partner_info["status"], strict=True))
            self._per_partner(np.isin(np.arange(len(self.rows)), good[locked]), lambda code, n: (
                f"The questionnaire of {code} is {status[code]}; this file would change {n} of its answers. "
                + ("Return it first (Review page), then import again." if status[code] == "accepted"
                   else "Remove the exemption first, then import again.")), role="answer")
        keep = ~needs
        self.change, self.current_id = self.change[keep], self.current_id[keep]
        self.final_comment = comment[keep].reset_index(drop=True)
        return good[keep]

    def _outcome(self, good: np.ndarray, results: list[FileResult]) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                            pd.DataFrame]:
        """Counts per file and partner, the rows to write, and each touched questionnaire's status after."""
        for order, result in enumerate(results):
            mine = self.change[self.file_order[good] == order]
            result.answers = len(mine)
            result.new, result.changed, result.unchanged = (int((mine == k).sum()) for k in (NEW, CHANGED, UNCHANGED))
        partner = self.partner[good]
        counts = pd.DataFrame({
            name: np.bincount(partner[self.change == k], minlength=len(self.partner_codes))
            for name, k in (("new", NEW), ("changed", CHANGED), ("unchanged", UNCHANGED))})
        counts.index = self.partner_codes
        counts = counts[counts.sum(axis=1) > 0]
        write = self.change != UNCHANGED
        at = good[write]
        names = np.array([f.name for f in self.files], dtype=object)
        writes = pd.DataFrame({  # object columns: the writer hands Python values to the database anyway
            "assignment_id": self.assignment[at],
            "criterion_id": pd.Series(self.context.ids[self.criterion[at]], dtype=object),
            "value": pd.Series(np.asarray(ANSWER_VALUES, dtype=object)[self.value[at]], dtype=object),
            "comment": self.final_comment[write].array,
            "answered_on": pd.Series(self.date[at], dtype=object),
            "current_id": pd.array(self.current_id[write], dtype="Int64"),
            "file": pd.Series(names[self.file_order[at]], dtype=object),
            "partner": pd.Series(np.asarray(self.partner_codes, dtype=object)[self.partner[at]], dtype=object),
        }, columns=WRITE_COLUMNS)
        status_after = self._status_after(good, at)
        info = self.partner_info.loc[counts.index]
        summary = pd.DataFrame({"partner_code": counts.index, "legal_name": info["legal_name"].to_numpy(),
                                "status": info["status"].to_numpy(), **{c: counts[c].to_numpy() for c in counts}})
        after = dict(zip(status_after["partner_code"], status_after["status_after"], strict=True))
        summary["status_after"] = [after.get(c, s) for c, s in zip(summary["partner_code"], summary["status"],
                                                                    strict=True)]
        return writes, summary[SUMMARY_COLUMNS], status_after

    def _status_after(self, good: np.ndarray, written: np.ndarray) -> pd.DataFrame:
        """submitted when every applicable criterion has an answer (and partial/no a comment), else in progress."""
        touched = np.unique(self.assignment[written])
        if len(touched) == 0:
            return pd.DataFrame(columns=STATUS_COLUMNS)
        partial_or_no = [VALUE_NUMBER["partial"], VALUE_NUMBER["no"]]
        # Answers after the import: the files' ones plus the current ones the files do not mention.
        complete = ~(np.isin(self.value[good], partial_or_no) & self.final_comment.eq("").to_numpy())
        mine = np.isin(self.assignment[good], touched)
        done = pd.Series(complete[mine]).groupby(self.assignment[good][mine]).sum()
        current = self.current
        kept = current[current["assignment_id"].isin(touched) & ~current["key"].isin(self._key(good))
                       & (current["number"] >= 0)]
        entity_of = dict(zip(self.assignment[good], self.entity[good], strict=True))
        entity = kept["assignment_id"].map(entity_of).to_numpy(dtype="int64")
        ok = (self.context.applies[entity, kept["number"].to_numpy()]
              & ~(kept["value"].isin(["partial", "no"]) & kept["comment"].fillna("").eq("")).to_numpy())
        done = done.add(pd.Series(ok).groupby(kept["assignment_id"].to_numpy()).sum(), fill_value=0)
        needed = self.context.applies.sum(axis=1)
        entities = np.array([entity_of[a] for a in touched])
        complete = done.reindex(touched).fillna(0).to_numpy() >= needed[entities]
        first = pd.Series(np.arange(len(good)), index=self.assignment[good]).groupby(level=0).first()
        rows_of = good[first.loc[touched].to_numpy()]
        codes = np.asarray(self.partner_codes, dtype=object)[self.partner[rows_of]]
        return pd.DataFrame({
            "assignment_id": touched, "partner_code": codes,
            "status": self.partner_info["status"].to_numpy()[self.partner[rows_of]],
            "status_after": np.where(complete, "submitted", "in progress")}, columns=STATUS_COLUMNS)


def _values(values) -> object:
    return values if isinstance(values, str) else np.asarray(values, dtype=object)


def _times(count: int) -> str:
    return f" ({count} rows)" if count > 1 else ""


def _iso(value: object) -> str:
    """A date as ISO text, "" where there is none (NaN never equals NaN, "" does)."""
    return value.isoformat() if isinstance(value, date) else ""


def apply_responses(*, session: Session, actor: Actor, preview: ResponsePreview) -> list[ImportRecord]:
    """Write a checked preview in the caller's transaction: answers, questionnaire states, records, audit.

    Raises ValidationError when the preview has errors (nothing is written) or when the answers changed since
    the preview was made (preview again).
    """
    require_write(actor)
    preview.refuse_if_errors()
    writes = preview.writes
    superseded = [int(i) for i in writes["current_id"].dropna()]
    _guard_unchanged(session, preview, superseded)
    rows = writes.assign(source="file", answered_by=actor.username)
    rows["answered_on"] = rows["answered_on"].astype(object).where(rows["answered_on"].notna(), None)
    try:
        answers.store_answers(session=session, rows=rows, superseded_ids=superseded)
    except IntegrityError as exc:
        raise ValidationError("Answers were added to these questionnaires since the preview; preview again.") from exc
    now = utcnow()
    changes = preview.status_changes
    for status in ("submitted", "in progress"):
        ids = changes.loc[changes["status_after"] == status, "assignment_id"].astype(int).tolist()
        for start in range(0, len(ids), 5_000):
            chunk = ids[start:start + 5_000]
            values = {"status": status, "updated_at": now}
            if status == "submitted":
                values["submitted_at"] = now
            session.exec(update(Assignment).where(col(Assignment.id).in_(chunk), Assignment.status != status)
                         .values(**values))
            if status == "submitted":  # as on submitting through the link: open review comments are answered
                session.exec(update(ReviewComment).where(col(ReviewComment.assignment_id).in_(chunk),
                                                         col(ReviewComment.resolved).is_(False))
                             .values(resolved=True))
    records = []
    for result in preview.files:
        record = ImportRecord(kind="responses", filename=result.filename[:255], sha256=result.sha256,
                              username=actor.username, cycle_id=preview.cycle_id, rows=result.rows,
                              created=result.new, changed=result.changed, unchanged=result.unchanged)
        session.add(record)
        session.flush()
        partners = set(writes.loc[writes["file"] == result.filename, "partner"])
        moved = changes[changes["partner_code"].isin(partners) & (changes["status"] != changes["status_after"])]
        audit.record(session=session, actor=actor, action="import", entity="answers", entity_id=record.id,
                     summary=(f"Imported {result.filename} into '{preview.cycle_name}': {result.new} new, "
                              f"{result.changed} changed, {result.unchanged} unchanged answers"),
                     after={"file": result.filename, "sha256": result.sha256, "cycle_id": preview.cycle_id,
                            "rows": result.rows, "new": result.new, "changed": result.changed,
                            "unchanged": result.unchanged,
                            "status": {s: sorted(g["partner_code"]) for s, g in moved.groupby("status_after")}})
        records.append(record)
    return records


def _guard_unchanged(session: Session, preview: ResponsePreview, superseded: list[int]) -> None:
    """The answers and states the preview compared against must still be current."""
    still = 0
    for start in range(0, len(superseded), 5_000):
        chunk = superseded[start:start + 5_000]
        still += session.exec(select(func.count()).select_from(Answer)
                              .where(col(Answer.id).in_(chunk), Answer.is_current)).one()
    ids = preview.writes["assignment_id"].unique().tolist()
    locked = 0
    for start in range(0, len(ids), 5_000):
        chunk = [int(i) for i in ids[start:start + 5_000]]
        locked += session.exec(select(func.count()).select_from(Assignment).where(
            col(Assignment.id).in_(chunk), col(Assignment.status).in_(LOCKED_STATES))).one()
    if still != len(superseded) or locked:
        raise ValidationError("Answers or questionnaire states changed since the preview; preview again.")
