"""Criterion ids as a file gives them: as text ("4.10"), or as the number a spreadsheet made of them (4.1).

`read_criteria` applies the package's x.y -> x.y0 rules to every answer row of an import; the wide form's
headers use the same `later_or_earlier` order test (layout).
"""

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from services.imports.answers.checks import Check

ID_HEADER = re.compile(r"^'?\s*(\d{1,2}[.,]\d+)(?:\s*[-–:)]?\s+\S.*)?$")
COMMENT_HEADER = re.compile(r"^(?:comments?|comentarios?|备注)(\d{1,2}[.,]\d+)$|^(\d{1,2}[.,]\d+)(?:comments?)$")
_ID = re.compile(r"^'?\s*(\d{1,2})\.(\d{1,2})\s*$")
_ID_COMMA = re.compile(r"^'?\s*(\d{1,2}),(\d{1,2})\s*$")
_ID_NOISE = re.compile(r"^'?\s*(\d{1,2})[.,](\d{3,})\s*$")


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



def later_or_earlier(ids: list[str], at: list[int], long: str, orders: list[dict]) -> int | None:
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



def read_criteria(check: "Check") -> None:
    """Criterion ids, with the x.y -> x.y0 rules of the package docstring; sets check.criterion."""
    context = check.context
    codes, texts = pd.factorize(check.rows["cid_text"].astype("str"))
    read = [criterion_text(t) for t in texts]
    number = np.array([context.index.get(t, -1) for t, _ in read] or [0], dtype="int64")
    numeric = np.array([flag for _, flag in read] or [False])[codes]
    longer = np.array([context.index.get(context.short_to_long.get(t, ""), -1) for t, _ in read] or [0],
                      dtype="int64")[codes]
    texts_read = np.array([t for t, _ in read] + [""], dtype=object)  # each distinct id as read, for messages

    def read_as(at: np.ndarray) -> np.ndarray:
        return texts_read[codes[at]]

    criterion = number[codes]
    applies = (criterion >= 0) & context.applies[check.entity, np.maximum(criterion, 0)]
    long_applies = (longer >= 0) & context.applies[check.entity, np.maximum(longer, 0)]
    rule_a = (longer >= 0) & ~applies & long_applies
    long_form = np.array([f.form == "long" for f in check.files])[check.file_order]
    candidates = np.flatnonzero((longer >= 0) & applies & long_applies & long_form)
    rule_b, ambiguous = _rule_b(check, candidates, criterion, longer)
    at = np.flatnonzero(rule_a)
    check.report(at, "id", check.texts("cid_text", at), [
        f"Read as criterion {context.ids[long]}: a spreadsheet turns {context.ids[long]} into {short}, and {short} "
        + ("does not apply to this partner." if short in context.index else "does not exist.")
        for long, short in zip(longer[at], read_as(at), strict=True)], "warning")
    check.report(rule_b, "id", check.texts("cid_text", rule_b), [
        f"Read as criterion {context.ids[long]}: {short} appears twice for {check.partner_codes[p]}, "
        f"{context.ids[long]} is missing, and the rows show which one it is."
        for long, short, p in zip(longer[rule_b], read_as(rule_b), check.partner[rule_b], strict=True)],
        "warning")
    resolved = rule_a.copy()
    resolved[rule_b] = True
    criterion = np.where(resolved, longer, criterion)
    applies |= resolved
    at = np.flatnonzero(numeric & ~resolved & applies)
    check.report(at, "id", check.texts("cid_text", at), [f"Read as criterion {c} (the id was written as a number)."
                                      for c in context.ids[criterion[at]]], "warning")
    checked = (check.assignment >= 0) & ~applies
    checked[ambiguous] = False
    at = np.flatnonzero(checked & (criterion < 0))
    shown = check.texts("cid_text", at)
    check.report(at, "id", shown, [f"Unknown criterion id '{t}' (ids look like 4.10)." for t in shown])
    at = np.flatnonzero(checked & (criterion >= 0))
    check.report(at, "id", check.texts("cid_text", at), [
        f"Criterion {context.ids[c]} does not apply to {context.entities[e]} partners ({check.partner_codes[p]})."
        for c, e, p in zip(criterion[at], check.entity[at], check.partner[at], strict=True)])
    check.bad |= checked
    check.bad[ambiguous] = True
    check.criterion = criterion

def _rule_b(check: "Check", candidates: np.ndarray, criterion: np.ndarray,
            longer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule (b) for long-form rows: positions read as x.y0, and positions left ambiguous."""
    if len(candidates) == 0:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    context = check.context
    frame = pd.DataFrame({"at": candidates, "file": check.file_order[candidates],
                          "partner": check.partner[candidates], "criterion": criterion[candidates]})
    twice = frame[frame.groupby(["file", "partner", "criterion"])["at"].transform("size") == 2]
    if twice.empty:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    owners = check.file_order.astype("int64") * len(check.partner_codes) + check.partner
    wanted = set(twice["file"].astype("int64") * len(check.partner_codes) + twice["partner"])
    members = pd.Series(np.arange(len(owners)))[pd.Series(owners).isin(wanted).to_numpy()]
    rows_of = members.groupby(owners[members.to_numpy()]).indices
    picked, unsure = [], []
    for (file, partner, _), pair in twice.groupby(["file", "partner", "criterion"], sort=False):
        at = pair["at"].to_numpy()
        long = longer[at[0]]
        mine = members.to_numpy()[rows_of[file * len(check.partner_codes) + partner]]
        if (criterion[mine] == long).any():
            continue
        same = len({(check.value[i], c, d) for i, c, d in zip(at, check.texts("comment", at),
                                                              check.texts("date_text", at), strict=True)}) == 1
        ids = [context.ids[c] if c >= 0 else "" for c in criterion[mine]]
        positions = [int(np.flatnonzero(mine == i)[0]) for i in at]
        orders = [context.number_order, context.entity_order[check.entity[at[0]]]]
        which = 1 if same else later_or_earlier(ids, positions, context.ids[long], orders)
        if which is None:
            unsure.extend(at)
            short, code = context.ids[criterion[at[0]]], check.partner_codes[partner]
            first, second = (int(check.rows.at[i, "row"]) for i in at)
            check.report(at, "id", check.texts("cid_text", at), (
                f"Criterion {short} appears twice for partner {code} (rows {first} and {second}) and "
                f"{context.ids[long]} is missing: a spreadsheet probably turned {context.ids[long]} into {short}, "
                f"but the row order does not say which is which. Write the ids as text ('{context.ids[long]}) "
                "and import again."))
        else:
            picked.append(at[which])
    return np.array(picked, dtype="int64"), np.array(unsure, dtype="int64")
