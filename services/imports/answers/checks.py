"""The checks of every answer row of an import: partners, answer words, comments and dates.

The criterion ids are read in `ids`, the rows are compared with the stored answers in `diff`; `Check` holds the
rows and what each step found, as integer codes (per distinct value, never per row).
"""

import re
import unicodedata
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session

from models.collection import AnswerValue
from services import texts
from services.collection import rules, states
from services.imports.answers import diff
from services.imports.answers.context import CycleContext
from services.imports.answers.diff import VALUE_NUMBER, iso_day
from services.imports.answers.ids import read_criteria
from services.imports.answers.layout import FileLayout
from services.imports.answers.result import FileResult, ProblemLog

EXCEL_EPOCH = date(1899, 12, 30)  # Excel serial day 0 (its 1900 leap-year bug folded in)
# Spellings of the answers in every language of the supplier page and the workbooks (services.texts).
ANSWER_WORDS: dict[str, AnswerValue] = {
    **{value.value: value for value in AnswerValue},
    **{word: AnswerValue(value) for word, value in texts.answer_spellings().items()},
}
_ALLOWED = "yes, partial, no or n/a"
_ANSWER_NOISE = re.compile(r"[\s.]+")
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?$")
_SERIAL_DATE = re.compile(r"^\d{4,5}(?:\.\d+)?$")


def answer_value(text: object) -> AnswerValue | None:
    """The answer value of an accepted spelling (any case, spaces and dots ignored), else None."""
    key = unicodedata.normalize("NFKC", str(text or "")).casefold().strip()
    if key in ANSWER_WORDS:
        return ANSWER_WORDS[key]
    return ANSWER_WORDS.get(_ANSWER_NOISE.sub(" ", key).strip()) or ANSWER_WORDS.get(_ANSWER_NOISE.sub("", key))



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



class Check:
    """The checks over all answer rows of all files, on integer codes: per distinct value, never per row.

    Partner codes, answers, criterion ids and dates are factorised; each distinct value is looked up once and
    the result spread to the rows with numpy. Only rows with problems are turned into messages.
    """

    def __init__(self, session: Session, context: CycleContext, rows: pd.DataFrame, files: list[FileLayout],
                 problems: ProblemLog):
        self.session, self.context, self.files, self.problems = session, context, files, problems
        answer, self.answer_words = _codes(rows["answer_text"], lambda words: words.str.strip())
        comment = _cleaned(rows["comment"], lambda text: text.str.replace("\r\n", "\n", regex=False).str.strip())
        blank = np.append(np.asarray(self.answer_words == ""), False)[answer]
        self.rows = rows  # the rows as read, for messages about blank answers
        orphan = np.flatnonzero(blank & comment.fillna("").ne("").to_numpy())
        self.report(orphan, "answer", "", "The answer is empty but a comment is given: choose an answer or clear "
                                          "the comment.")
        if blank.any():
            keep = ~blank
            self.rows = rows.loc[keep].reset_index(drop=True)
            answer, comment = answer[keep], comment[keep]
        else:  # no row to drop (a full file): no copy of its cells
            self.rows = rows.reset_index(drop=True)
        self.answer = answer  # code of each row's answer text (stripped) in answer_words
        self.rows["comment"] = comment.array
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
        """The cells of one column at the given row positions, as Python strings (None where empty); answers
        without their surrounding spaces."""
        if len(at) == 0:  # (most checks find nothing; even an empty selection of a million-row column costs)
            return np.empty(0, dtype=object)
        if column == "answer_text":
            return np.append(np.asarray(self.answer_words, dtype=object), None)[self.answer[at]]
        return self.rows[column].iloc[at].astype(object).where(lambda s: s.notna(), None).to_numpy()

    def _label(self, order: int, position: int, role: str) -> str:
        meta = self.files[order]
        if position >= 0 and role in ("id", "answer", "comment"):
            own, comment = meta.wide[position]
            return comment if role == "comment" else own
        return meta.labels.get(role) or meta.labels.get("answer", role)

    def run(self, results: list[FileResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Every check, then the comparison with the stored answers: (writes, summary, status changes)."""
        self._partners()
        self._answers()
        read_criteria(self)
        self._comments_and_dates()
        good = np.flatnonzero(~self.bad)
        good = diff.merge_duplicates(self, good)
        good = diff.compare_with_current(self, good)
        return diff.outcome(self, good, results)

    def date_iso(self, at: np.ndarray) -> np.ndarray:
        """The ISO text of the rows' dates ("" where none)."""
        return self.days_iso[self.day[at]]

    def key(self, at: np.ndarray) -> np.ndarray:
        """One number per (assignment, criterion) of the rows at `at`."""
        return self.assignment[at] * len(self.context.ids) + self.criterion[at]

    def _partners(self) -> None:
        codes, self.partner_codes = _codes(self.rows["partner"], lambda code: code.str.strip().str.upper())
        self.partner = codes
        info = self.context.partners.reindex(self.partner_codes)
        self.partner_info = info
        unknown_entity = len(self.context.entities)
        # Per partner code (position in partner_codes), then spread to the rows.
        self.code_assignment = info["assignment_id"].fillna(-1).astype("int64").to_numpy()
        self.code_entity = info["entity"].fillna(unknown_entity).to_numpy(dtype="int64", copy=True)
        self.code_entity[self.code_assignment < 0] = unknown_entity
        self.entity = self.code_entity[codes]
        self.assignment = self.code_assignment[codes]
        self.locked = info["status"].isin(list(states.LOCKED)).to_numpy()[codes]
        empty = np.asarray(self.partner_codes == "")[codes]
        at = np.flatnonzero(empty)
        once = ~pd.DataFrame({"f": self.file_order[at], "r": self.rows["row"].to_numpy()[at]}).duplicated().to_numpy()
        self.report(at[once], "partner", "", "The partner code is empty.")  # once per row, not per wide-form cell
        known = info["partner_id"].notna().to_numpy()[codes]
        self.per_partner(~empty & ~known, lambda code, n: f"Unknown partner code '{code}'" + _times(n) + ".")
        cycle = self.context.cycle.name
        self.per_partner(known & (self.assignment < 0), lambda code, n: (
            f"Partner {code} has no questionnaire in cycle '{cycle}'" + _times(n) + "."))
        self.bad |= self.assignment < 0

    def per_partner(self, mask: np.ndarray, message, role: str = "partner") -> None:
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
        value = np.array([VALUE_NUMBER.get(answer_value(s), -1) for s in self.answer_words] + [-1], dtype="int64")
        self.value = value[self.answer]
        wrong = np.flatnonzero(self.value < 0)
        texts = self.texts("answer_text", wrong)
        self.report(wrong, "answer", texts, [f"'{t}' is not an answer: use {_ALLOWED}." for t in texts])
        self.bad[wrong] = True

    def _comments_and_dates(self) -> None:
        comment = self.rows["comment"]
        too_long = np.flatnonzero(comment.fillna("").str.len().to_numpy() > rules.MAX_COMMENT_CHARS)
        self.report(too_long, "comment", [t[:60] + "…" for t in self.texts("comment", too_long)],
                    f"The comment is longer than {rules.MAX_COMMENT_CHARS:,} characters.")
        self.bad[too_long] = True
        codes, texts = pd.factorize(self.rows["date_text"].fillna("").astype("str").str.strip())
        today = date.today()
        parsed = [parse_answer_date(t, today) if t else (None, "") for t in texts]
        # Per distinct date text: `days_iso` its ISO text ("" for none), `date_code` its date's position in
        # `dates` (-1 for none); `day` is each row's text code.
        self.day = codes if len(texts) else np.zeros(len(codes), dtype="int64")
        self.days_iso = np.array([iso_day(d) for d, _ in parsed] or [""], dtype=object)
        self.dates = list(dict.fromkeys(d for d, _ in parsed if d is not None))
        position = {d: i for i, d in enumerate(self.dates)}
        self.date_code = np.array([position.get(d, -1) for d, _ in parsed] or [-1], dtype="int64")
        self.date_given = np.array([bool(t) for t in texts] or [False])[codes]
        errors = np.array([e for _, e in parsed] or [""], dtype=object)[codes]
        wrong = np.flatnonzero(errors != "")
        self.report(wrong, "date", np.asarray(texts, dtype=object)[codes[wrong]],
                    ["answered_on: " + e for e in errors[wrong]])
        self.bad[wrong] = True


def _codes(values: pd.Series, clean) -> tuple[np.ndarray, pd.Index]:
    """Each value's code among the distinct values after `clean` (text operations on a Series), which only the
    distinct values go through: a million rows hold a few thousand partner codes and a handful of answers.
    Missing values get code -1."""
    codes, uniques = pd.factorize(values)
    again, distinct = pd.factorize(clean(pd.Series(uniques, dtype="str")))
    return np.append(again, -1)[codes], distinct


def _cleaned(values: pd.Series, clean) -> pd.Series:
    """Text cells after `clean` (text operations on a Series), which only the distinct values go through: a million
    answers hold few distinct comments. Missing cells stay missing."""
    codes, uniques = pd.factorize(values)
    done = clean(pd.Series(uniques, dtype="str")).array
    return pd.Series(done.take(codes, allow_fill=True), index=values.index, dtype="str")


def _values(values) -> object:
    return values if isinstance(values, str) else np.asarray(values, dtype=object)


def _times(count: int) -> str:
    return f" ({count} rows)" if count > 1 else ""

