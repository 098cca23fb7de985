"""An import's answers against each other (duplicates) and against the stored answers: new, changed, unchanged.

Also the outcome: the rows to write, the counts per file and partner, and each questionnaire's status after.
"""

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import String, select, type_coerce

from models import Answer, Assignment
from models.collection import AnswerValue, AssignmentStatus
from models.common import Requirement
from services.collection import rules, states
from services.collection.states import Action
from services.imports.answers.result import STATUS_COLUMNS, SUMMARY_COLUMNS, WRITE_COLUMNS, FileResult

if TYPE_CHECKING:
    from services.imports.answers.checks import Check

NEW, CHANGED, UNCHANGED = 0, 1, 2
_COUNTED_KEYS = 10_000_000  # duplicates found by counting up to this many (partner, criterion) pairs
_IN_LIST = 5_000  # questionnaires read with an IN list; more: the whole cycle's answers, filtered here
VALUE_NUMBER = {value: number for number, value in enumerate(rules.ANSWER_VALUES)}  # answers as integer codes


def iso_day(value: object) -> str:
    """A date as ISO text, "" where there is none (NaN never equals NaN, "" does)."""
    return value.isoformat() if isinstance(value, date) else ""


def _needs_comment() -> np.ndarray:
    """[answer code, is must] -> whether a comment is required (services.collection.rules), as a lookup table."""
    return np.array([[rules.comment_required(value, requirement) for requirement in (Requirement.should,
                                                                                     Requirement.must)]
                     for value in rules.ANSWER_VALUES])


_NEEDS_COMMENT = _needs_comment()


def merge_duplicates(check: "Check", good: np.ndarray) -> np.ndarray:
    """Same partner and criterion more than once: identical -> imported once (warning); different -> error."""
    keys = pd.Series(check.key(good))
    width = len(check.context.ids)
    if len(check.partner_codes) * width <= _COUNTED_KEYS:  # count (partner code, criterion) pairs, no hashing
        local = check.partner[good].astype("int64") * width + check.criterion[good]
        repeated = np.bincount(local, minlength=1)[local] > 1
    else:
        repeated = keys.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return good
    group = good[repeated]
    comment = [c if c is not None else "\x00" for c in check.texts("comment", group)]
    frame = pd.DataFrame({"key": keys[repeated].to_numpy(), "at": group, "value": check.value[group],
                          "comment": comment, "date": check.date_iso(group)})
    first = frame.groupby("key", sort=False)[["at", "value", "comment", "date"]].transform("first")
    later = frame.index[frame["key"].duplicated(keep="first")]
    same = ((frame.loc[later, ["value", "comment", "date"]] == first.loc[later, ["value", "comment", "date"]])
            .all(axis=1).to_numpy())
    at, before = frame.loc[later, "at"].to_numpy(), first.loc[later, "at"].to_numpy()
    names = [f.name for f in check.files]
    where = [f"row {check.rows.at[b, 'row']}" + ("" if check.file_order[a] == check.file_order[b]
                                               else f" of {names[check.file_order[b]]}") for a, b in zip(at, before,
                                                                                                       strict=True)]
    label = [f"{check.partner_codes[check.partner[a]]} {check.context.ids[check.criterion[a]]}" for a in at]
    echo = np.flatnonzero(same)
    check.report(at[echo], "id", check.texts("cid_text", at[echo]),
                [f"Same answer as {where[i]} for {label[i]}; imported once." for i in echo], "warning")
    clash = np.flatnonzero(~same)
    earlier, later_value = check.value[before], check.value[at]
    check.report(at[clash], "answer", check.texts("answer_text", at[clash]), [
        f"Conflicts with {where[i]}: {label[i]} is answered twice differently ('{rules.ANSWER_VALUES[earlier[i]]}' and "
        f"'{rules.ANSWER_VALUES[later_value[i]]}'"
        + (", with a different comment or date" if earlier[i] == later_value[i] else "") + ")."
        for i in clash])
    return np.setdiff1d(good, at, assume_unique=True)


def current_rows(check: "Check", assignment_ids: np.ndarray) -> pd.DataFrame:
    """The stored current answers of the given assignments, as numbers: id, assignment_id, number (criterion
    position, -1 for an id not in the catalogue), key, value (answer code), comment (text), date (ISO text).

    One SELECT of only these columns, through the driver (no ORM rows, no enum objects): the whole cycle's answers
    when the files touch many questionnaires (then filtered here), else those of the touched ones.
    """
    columns = ["id", "assignment_id", "criterion_id", "value", "comment", "answered_on"]
    wanted = [int(a) for a in assignment_ids if a >= 0]
    empty = pd.DataFrame({"id": np.zeros(0, "int64"), "assignment_id": np.zeros(0, "int64"),
                          "number": np.zeros(0, "int64"), "key": np.zeros(0, "int64"), "value": np.zeros(0, "int64"),
                          "comment": np.zeros(0, object), "date": np.zeros(0, object)})
    if not wanted:
        return empty
    table = Answer.__table__
    picked = [type_coerce(table.c[c], String) if c in ("value", "answered_on") else table.c[c] for c in columns]
    stmt = select(*picked).where(table.c.is_current)
    if len(wanted) <= _IN_LIST:
        stmt = stmt.where(table.c.assignment_id.in_(wanted))
    else:
        stmt = stmt.join(Assignment.__table__, Assignment.__table__.c.id == table.c.assignment_id).where(
            Assignment.__table__.c.cycle_id == check.context.cycle.id)
    rows = check.session.connection().execute(stmt).all()
    if not rows:
        return empty
    ids, assignment, criterion, value, comment, answered_on = (np.array(c, dtype=object) for c in zip(*rows,
                                                                                                     strict=True))
    assignment = assignment.astype("int64")
    mine = np.isin(assignment, wanted)
    if not mine.all():
        ids, assignment, criterion, value, comment, answered_on = (
            a[mine] for a in (ids, assignment, criterion, value, comment, answered_on))
    index = check.context.index
    codes, uniques = pd.factorize(criterion)
    number = np.array([index.get(c, -1) for c in uniques] + [-1], dtype="int64")[codes]
    codes, uniques = pd.factorize(value)
    value_number = np.array([VALUE_NUMBER.get(v, -1) for v in uniques] + [-1], dtype="int64")[codes]
    codes, uniques = pd.factorize(answered_on)  # date objects (PostgreSQL) or ISO text (SQLite)
    day = np.array([iso_day(d) if isinstance(d, date) else str(d)[:10] for d in uniques] + [""],
                   dtype=object)[codes]
    comment[pd.isna(comment)] = ""
    return pd.DataFrame({"id": ids.astype("int64"), "assignment_id": assignment, "number": number,
                         "key": assignment * len(check.context.ids) + number, "value": value_number,
                         "comment": comment, "date": day})


def compare_with_current(check: "Check", good: np.ndarray) -> np.ndarray:
    """Classify answers as new, changed or unchanged; check required comments and locked questionnaires."""
    current = current_rows(check, np.unique(check.code_assignment[np.unique(check.partner[good])]))
    check.current = current
    known = current[current["number"] >= 0]
    found = pd.Index(known["key"].to_numpy()).get_indexer(check.key(good))
    exists = found >= 0
    stored = np.flatnonzero(exists)
    pick = found[stored]
    comments = check.rows["comment"]
    every = len(good) == len(comments)  # (good is sorted: then it is every row, and needs no copy)
    given = comments.reset_index(drop=True) if every else comments.iloc[good].reset_index(drop=True)
    comment = given
    absent = given.isna().to_numpy()
    if absent.any():  # no comment column: the stored comment stays
        kept = np.full(len(good), "", dtype=object)
        kept[stored] = known["comment"].to_numpy()[pick]
        comment = given.where(~absent, pd.Series(kept, dtype="str"))
    empty_comment = comment.eq("").to_numpy()
    value = check.value[good]
    must = check.context.must[check.entity[good], check.criterion[good]]
    needs = _NEEDS_COMMENT[value, must.astype(int)] & empty_comment
    at = good[needs]
    check.report(at, "comment", check.texts("answer_text", at), [
        f"A comment is required when the answer is '{rules.ANSWER_VALUES[v]}'"
        + (" on a must criterion." if v == VALUE_NUMBER[AnswerValue.na] else ".") for v in value[needs]])
    same = np.zeros(len(good), dtype=bool)
    if len(stored):
        rows = good[stored]
        same_date = ~check.date_given[rows] | (check.date_iso(rows) == known["date"].to_numpy()[pick])
        same[stored] = ((value[stored] == known["value"].to_numpy()[pick]) & same_date
                        & (comment.iloc[stored].to_numpy(dtype=object) == known["comment"].to_numpy()[pick]))
    check.change = np.where(~exists, NEW, np.where(same, UNCHANGED, CHANGED))
    check.current_id = np.full(len(good), np.nan)
    check.current_id[stored] = known["id"].to_numpy()[pick]
    locked = check.locked[good] & (check.change != UNCHANGED)
    if locked.any():
        status = dict(zip(check.partner_codes, check.partner_info["status"], strict=True))
        mask = np.zeros(len(check.rows), dtype=bool)
        mask[good[locked]] = True
        check.per_partner(mask, lambda code, n: (
            f"The questionnaire of {code} is {status[code]}; this file would change {n} of its answers. "
            + ("Reopen it first (Review page), then import again." if status[code] == AssignmentStatus.accepted
               else "Remove the exemption first, then import again.")), role="answer")
    if needs.any():
        keep = ~needs
        check.change, check.current_id = check.change[keep], check.current_id[keep]
        comment = comment[keep]
        good = good[keep]
    check.final_comment = comment.reset_index(drop=True)
    return good


def outcome(check: "Check", good: np.ndarray,
            results: list[FileResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Counts per file and partner, the rows to write, and each touched questionnaire's status after."""
    files = check.file_order[good]
    for order, result in enumerate(results):
        mine = check.change[files == order] if len(results) > 1 else check.change
        result.answers = len(mine)
        result.new, result.changed, result.unchanged = (int((mine == k).sum()) for k in (NEW, CHANGED, UNCHANGED))
    partner = check.partner[good]
    counts = pd.DataFrame({
        name: np.bincount(partner[check.change == k], minlength=len(check.partner_codes))
        for name, k in (("new", NEW), ("changed", CHANGED), ("unchanged", UNCHANGED))})
    counts.index = check.partner_codes
    counts = counts[counts.sum(axis=1) > 0]
    write = check.change != UNCHANGED
    every = bool(write.all())  # a first import: every row is written, no mask to apply
    at = good if every else good[write]
    names = list(dict.fromkeys(f.name for f in check.files))
    file_code = np.array([names.index(f.name) for f in check.files], dtype="int64")
    writes = pd.DataFrame({  # categories on the codes the checks worked with: no column of a million objects
        "assignment_id": check.assignment[at],
        "criterion_id": _categories(check.criterion[at], check.context.ids),
        "value": _categories(check.value[at], rules.ANSWER_VALUES),
        "comment": (check.final_comment if every else check.final_comment[write]).array,
        "answered_on": _categories(check.date_code[check.day[at]], check.dates),
        "current_id": pd.array(check.current_id if every else check.current_id[write], dtype="Int64"),
        "file": _categories(file_code[check.file_order[at]], names),
        "partner": _categories(check.partner[at], check.partner_codes),
    }, columns=WRITE_COLUMNS, copy=False)
    status_after = _status_after(check, good, at)
    info = check.partner_info.loc[counts.index]
    summary = pd.DataFrame({"partner_code": counts.index, "legal_name": info["legal_name"].to_numpy(),
                            "status": info["status"].to_numpy(), **{c: counts[c].to_numpy() for c in counts}})
    after = dict(zip(status_after["partner_code"], status_after["status_after"], strict=True))
    summary["status_after"] = [after.get(c, s) for c, s in zip(summary["partner_code"].tolist(),
                                                                summary["status"].tolist(), strict=True)]
    return writes, summary[SUMMARY_COLUMNS], status_after


def _status_after(check: "Check", good: np.ndarray, written: np.ndarray) -> pd.DataFrame:
    """Each touched questionnaire's status after the import, by the transition table: submitted when every
    applicable criterion has an answer (with the comments the answer rules require), else a draft in progress.

    Only stored answers count, not last cycle's pre-fill: a file is the partner's answers, nothing else.
    Counted per partner code (one code, one questionnaire of the cycle), in questionnaire id order.
    """
    touched_codes = np.unique(check.partner[written])
    if len(touched_codes) == 0:
        return pd.DataFrame(columns=STATUS_COLUMNS)
    touched_codes = touched_codes[np.argsort(check.code_assignment[touched_codes], kind="stable")]
    touched = check.code_assignment[touched_codes]
    # Answers after the import: the files' ones (one per partner and criterion, each applicable; rows lacking a
    # required comment were refused already) plus the current ones the files do not mention.
    done = np.bincount(check.partner[good], minlength=len(check.partner_codes)).astype("int64")
    current = check.current
    if len(current):
        code_of = pd.Index(check.code_assignment).get_indexer(current["assignment_id"].to_numpy())
        kept = current[(code_of >= 0) & np.isin(code_of, touched_codes) & (current["number"] >= 0).to_numpy()
                       & ~np.isin(current["key"].to_numpy(), check.key(good))]
        code = pd.Index(check.code_assignment).get_indexer(kept["assignment_id"].to_numpy())
        entity = check.code_entity[code]
        number = kept["number"].to_numpy()
        value = np.maximum(kept["value"].to_numpy(), 0)
        ok = check.context.applies[entity, number] & ~(
            _NEEDS_COMMENT[value, check.context.must[entity, number].astype(int)]
            & (kept["comment"].to_numpy() == ""))
        done += np.bincount(code[ok], minlength=len(check.partner_codes))
    needed = check.context.applies.sum(axis=1)
    complete = done[touched_codes] >= needed[check.code_entity[touched_codes]]
    codes = np.asarray(check.partner_codes, dtype=object)[touched_codes]
    status = check.partner_info["status"].to_numpy()[touched_codes]
    moves: dict[tuple, object] = {}
    after = [moves[key] if key in moves else moves.setdefault(key, (
        (key[0] and states.target(Action.submit, key[1])) or states.target(Action.answer, key[1]) or key[1]))
             for key in zip(complete.tolist(), status, strict=True)]
    return pd.DataFrame({"assignment_id": touched, "partner_code": codes, "status": status, "status_after": after},
                        columns=STATUS_COLUMNS)


def _categories(codes: np.ndarray, values) -> pd.Categorical:
    """A column of `values` by their codes (-1: missing), kept as the Python objects given."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(values), dtype=object), validate=False)
