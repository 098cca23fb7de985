"""An import's answers against each other (duplicates) and against the stored answers: new, changed, unchanged.

Also the outcome: the rows to write, the counts per file and partner, and each questionnaire's status after.
"""

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.collection import AnswerValue, AssignmentStatus
from models.common import Requirement
from services.collection import answers, rules, states
from services.collection.states import Action
from services.imports.answers.result import STATUS_COLUMNS, SUMMARY_COLUMNS, WRITE_COLUMNS, FileResult

if TYPE_CHECKING:
    from services.imports.answers.checks import Check

NEW, CHANGED, UNCHANGED = 0, 1, 2
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
    repeated = keys.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return good
    group = good[repeated]
    comment = [c if c is not None else "\x00" for c in check.texts("comment", group)]
    frame = pd.DataFrame({"key": keys[repeated].to_numpy(), "at": group, "value": check.value[group],
                          "comment": comment, "date": check.date_iso[group]})
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


def compare_with_current(check: "Check", good: np.ndarray) -> np.ndarray:
    """Classify answers as new, changed or unchanged; check required comments and locked questionnaires."""
    assignment_ids = np.unique(check.assignment[good]).tolist()
    current = answers.current_answers(session=check.session, assignment_ids=assignment_ids)
    current_number = current["criterion_id"].map(check.context.index).fillna(-1).astype("int64").to_numpy()
    current_keys = current["assignment_id"].astype("int64").to_numpy() * len(check.context.ids) + current_number
    check.current = current.assign(key=current_keys, number=current_number)
    found = pd.Index(current_keys).get_indexer(check.key(good))
    exists = found >= 0
    pick = np.maximum(found, 0)
    if len(current):
        stored_id = current["id"].to_numpy(dtype="float64")[pick]
        stored_value = current["value"].map(VALUE_NUMBER).fillna(-1).astype("int64").to_numpy()[pick]
        codes, uniques = pd.factorize(current["answered_on"])
        stored_date = np.array([iso_day(d) for d in uniques] + [""], dtype=object)[codes][pick]
        stored_comment = current["comment"].fillna("").astype("str").take(pick).reset_index(drop=True)
    else:
        stored_id, stored_value, stored_date = np.zeros(len(good)), np.full(len(good), -1), np.full(len(good), "")
        stored_comment = pd.Series("", index=range(len(good)), dtype="str")
    check.current_id = np.where(exists, stored_id, np.nan)
    stored_comment = stored_comment.where(exists, "")
    given = check.rows["comment"].iloc[good].reset_index(drop=True)
    comment = given.where(given.notna(), stored_comment)  # no comment column: the stored comment stays
    check.final_comment = comment
    value = check.value[good]
    must = check.context.must[check.entity[good], check.criterion[good]]
    needs = _NEEDS_COMMENT[value, must.astype(int)] & comment.eq("").to_numpy()
    at = good[needs]
    check.report(at, "comment", check.texts("answer_text", at), [
        f"A comment is required when the answer is '{rules.ANSWER_VALUES[v]}'"
        + (" on a must criterion." if v == VALUE_NUMBER[AnswerValue.na] else ".") for v in value[needs]])
    same_date = ~check.date_given[good] | (check.date_iso[good] == stored_date)
    same = exists & (value == stored_value) & comment.eq(stored_comment).to_numpy() & same_date
    check.change = np.where(~exists, NEW, np.where(same, UNCHANGED, CHANGED))
    locked = check.locked[good] & (check.change != UNCHANGED)
    if locked.any():
        status = dict(zip(check.partner_codes, check.partner_info["status"], strict=True))
        check.per_partner(np.isin(np.arange(len(check.rows)), good[locked]), lambda code, n: (
            f"The questionnaire of {code} is {status[code]}; this file would change {n} of its answers. "
            + ("Reopen it first (Review page), then import again." if status[code] == AssignmentStatus.accepted
               else "Remove the exemption first, then import again.")), role="answer")
    keep = ~needs
    check.change, check.current_id = check.change[keep], check.current_id[keep]
    check.final_comment = comment[keep].reset_index(drop=True)
    return good[keep]


def outcome(check: "Check", good: np.ndarray,
            results: list[FileResult]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Counts per file and partner, the rows to write, and each touched questionnaire's status after."""
    for order, result in enumerate(results):
        mine = check.change[check.file_order[good] == order]
        result.answers = len(mine)
        result.new, result.changed, result.unchanged = (int((mine == k).sum()) for k in (NEW, CHANGED, UNCHANGED))
    partner = check.partner[good]
    counts = pd.DataFrame({
        name: np.bincount(partner[check.change == k], minlength=len(check.partner_codes))
        for name, k in (("new", NEW), ("changed", CHANGED), ("unchanged", UNCHANGED))})
    counts.index = check.partner_codes
    counts = counts[counts.sum(axis=1) > 0]
    write = check.change != UNCHANGED
    at = good[write]
    names = np.array([f.name for f in check.files], dtype=object)
    writes = pd.DataFrame({  # object columns: the writer hands Python values to the database anyway
        "assignment_id": check.assignment[at],
        "criterion_id": pd.Series(check.context.ids[check.criterion[at]], dtype=object),
        "value": pd.Series(np.asarray(rules.ANSWER_VALUES, dtype=object)[check.value[at]], dtype=object),
        "comment": check.final_comment[write].array,
        "answered_on": pd.Series(check.date[at], dtype=object),
        "current_id": pd.array(check.current_id[write], dtype="Int64"),
        "file": pd.Series(names[check.file_order[at]], dtype=object),
        "partner": pd.Series(np.asarray(check.partner_codes, dtype=object)[check.partner[at]], dtype=object),
    }, columns=WRITE_COLUMNS)
    status_after = _status_after(check, good, at)
    info = check.partner_info.loc[counts.index]
    summary = pd.DataFrame({"partner_code": counts.index, "legal_name": info["legal_name"].to_numpy(),
                            "status": info["status"].to_numpy(), **{c: counts[c].to_numpy() for c in counts}})
    after = dict(zip(status_after["partner_code"], status_after["status_after"], strict=True))
    summary["status_after"] = [after.get(c, s) for c, s in zip(summary["partner_code"], summary["status"],
                                                                strict=True)]
    return writes, summary[SUMMARY_COLUMNS], status_after


def _status_after(check: "Check", good: np.ndarray, written: np.ndarray) -> pd.DataFrame:
    """Each touched questionnaire's status after the import, by the transition table: submitted when every
    applicable criterion has an answer (with the comments the answer rules require), else a draft in progress.

    Only stored answers count, not last cycle's pre-fill: a file is the partner's answers, nothing else.
    """
    touched = np.unique(check.assignment[written])
    if len(touched) == 0:
        return pd.DataFrame(columns=STATUS_COLUMNS)
    # Answers after the import: the files' ones plus the current ones the files do not mention. The files' rows
    # lacking a required comment were refused already.
    complete = np.ones(len(good), dtype=bool)
    mine = np.isin(check.assignment[good], touched)
    done = pd.Series(complete[mine]).groupby(check.assignment[good][mine]).sum()
    current = check.current
    kept = current[current["assignment_id"].isin(touched) & ~current["key"].isin(check.key(good))
                   & (current["number"] >= 0)]
    entity_of = dict(zip(check.assignment[good], check.entity[good], strict=True))
    entity = kept["assignment_id"].map(entity_of).to_numpy(dtype="int64")
    number = kept["number"].to_numpy()
    value = kept["value"].map(VALUE_NUMBER).fillna(0).astype("int64").to_numpy()
    ok = check.context.applies[entity, number] & ~(
        _NEEDS_COMMENT[value, check.context.must[entity, number].astype(int)]
        & kept["comment"].fillna("").eq("").to_numpy())
    done = done.add(pd.Series(ok).groupby(kept["assignment_id"].to_numpy()).sum(), fill_value=0)
    needed = check.context.applies.sum(axis=1)
    entities = np.array([entity_of[a] for a in touched])
    complete = done.reindex(touched).fillna(0).to_numpy() >= needed[entities]
    first = pd.Series(np.arange(len(good)), index=check.assignment[good]).groupby(level=0).first()
    rows_of = good[first.loc[touched].to_numpy()]
    codes = np.asarray(check.partner_codes, dtype=object)[check.partner[rows_of]]
    status = check.partner_info["status"].to_numpy()[check.partner[rows_of]]
    after = [(done and states.target(Action.submit, now)) or states.target(Action.answer, now) or now
             for done, now in zip(complete, status, strict=True)]
    return pd.DataFrame({"assignment_id": touched, "partner_code": codes, "status": status, "status_after": after},
                        columns=STATUS_COLUMNS)

