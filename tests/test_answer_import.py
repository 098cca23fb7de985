"""Answer import (Excel round-trip and bulk files): formats, rules, preview, one-transaction apply, CLI."""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

import manage
from models import Answer, Assignment, AuditEvent, Cycle, ImportRecord, Partner, ReviewComment
from services.core.permissions import PermissionDenied, ValidationError
from services.imports.answers import ANSWER_WORDS, apply_responses, criterion_text, diff, preview_responses
from services.imports.reader import problems_csv
from services.reference import criteria
from tests.conftest import ANALYST, VIEWER

HEADER = ["partner_code", "criterion_id", "answer", "comment"]


@dataclass
class Collection:
    cycle_id: int
    assignments: dict[str, int]  # partner code -> assignment id


def make_collection(session: Session, partners: list[tuple[str, str, str | None]], *, name: str = "2027 annual review",
                    status: str = "open") -> Collection:
    """Partners (code, entity type, assignment status or None for "not in the cycle") and one cycle."""
    cycle = Cycle(name=name, due_date=date(2027, 1, 31), created_by="luis", status=status)
    session.add(cycle)
    session.flush()
    assignments = {}
    for code, entity_type, state in partners:
        partner = Partner(partner_code=code, legal_name=f"{code} Ltd", normalized_name=code.lower(),
                          entity_type=entity_type, country_iso2="CN")
        session.add(partner)
        session.flush()
        if state is not None:
            assignment = Assignment(cycle_id=cycle.id, partner_id=partner.id, status=state)
            session.add(assignment)
            session.flush()
            assignments[code] = assignment.id
    session.commit()
    return Collection(cycle.id, assignments)


def store(session: Session, assignment_id: int, answers: dict[str, tuple[str, str]]) -> None:
    for criterion_id, (value, comment) in answers.items():
        session.add(Answer(assignment_id=assignment_id, criterion_id=criterion_id, value=value, comment=comment,
                           source="link", answered_by="partner"))
    session.commit()


def questionnaire_ids(session: Session, entity_type: str) -> list[str]:
    """The criteria a partner of an entity type in China is asked, in criterion-number order (4.9 before 4.10)."""
    frame = criteria.criteria_for_entity_type(session=session, entity_type=entity_type)
    frame = frame[frame["asked_by_default"] == "yes"]  # the land-border items only by road from Canada or Mexico
    return frame.sort_values("sort_key")["criterion_id"].tolist()


def csv_bytes(rows: list[list], header: list[str] = HEADER, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def current(session: Session, assignment_id: int) -> dict[str, tuple[str, str]]:
    rows = session.exec(select(Answer.criterion_id, Answer.value, Answer.comment)
                        .where(Answer.assignment_id == assignment_id, Answer.is_current)).all()
    return {c: (v, t) for c, v, t in rows}


def problems(preview, severity: str = "error") -> list[dict]:
    frame = preview.problems
    return frame[frame["severity"] == severity].to_dict("records")


def only_error(preview) -> dict:
    found = problems(preview)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def factory(session, staff):
    """Supplier SUP1 (Foreign Manufacturer) and importer IMP1 in an open cycle."""
    return make_collection(session, [("SUP1", "Foreign Manufacturer", "sent"), ("IMP1", "Importer", "not sent")])


def test_long_form_full_questionnaire_is_submitted_with_record_and_audit(session, factory):
    ids = questionnaire_ids(session, "Foreign Manufacturer")
    rows = [["sup1", cid, "yes", ""] for cid in ids]
    rows[0][2:] = ["no", "No written policy yet"]
    data = csv_bytes(rows)
    preview = preview_responses(session=session, files=[("supplier.csv", data)], cycle_id=factory.cycle_id)
    assert not preview.has_errors
    assert preview.summary.to_dict("records") == [{
        "partner_code": "SUP1", "legal_name": "SUP1 Ltd", "status": "sent", "new": len(ids), "changed": 0,
        "unchanged": 0, "status_after": "submitted"}]
    assert session.exec(select(func.count()).select_from(Answer)).one() == 0  # the preview writes nothing

    [record] = apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    answers = current(session, factory.assignments["SUP1"])
    assert len(answers) == len(ids) and answers[ids[0]] == ("no", "No written policy yet")
    stored = session.exec(select(Answer).where(Answer.criterion_id == ids[1])).one()
    assert (stored.source, stored.answered_by) == ("file", "luis")
    assignment = session.get(Assignment, factory.assignments["SUP1"])
    assert assignment.status == "submitted" and assignment.submitted_at is not None
    assert (record.kind, record.filename, record.rows, record.created, record.changed) == (
        "responses", "supplier.csv", len(ids), len(ids), 0)
    assert len(record.sha256) == 64 and record.username == "luis" and record.cycle_id == factory.cycle_id
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert event.entity == "answers" and "supplier.csv" in event.summary
    assert event.after["status"] == {"submitted": ["SUP1"]}


def test_importing_the_same_file_twice_changes_nothing(session, factory):
    data = csv_bytes([["SUP1", "1.1", "yes", "ok"], ["SUP1", "4.10", "partial", "seal log started"]])
    first = preview_responses(session=session, files=[("a.csv", data)], cycle_id=factory.cycle_id)
    apply_responses(session=session, actor=ANALYST, preview=first)
    session.commit()
    assert session.get(Assignment, factory.assignments["SUP1"]).status == "in progress"
    versions = session.exec(select(func.count()).select_from(Answer)).one()

    again = preview_responses(session=session, files=[("a.csv", data)], cycle_id=factory.cycle_id)
    assert again.totals == {"new": 0, "changed": 0, "unchanged": 2}
    assert again.summary.loc[0, "status_after"] == "in progress"
    [record] = apply_responses(session=session, actor=ANALYST, preview=again)
    session.commit()
    assert (record.created, record.changed, record.unchanged) == (0, 0, 2)
    assert session.exec(select(func.count()).select_from(Answer)).one() == versions


def test_changed_answer_keeps_the_old_version_as_history(session, factory):
    store(session, factory.assignments["SUP1"], {"1.1": ("no", "none yet"), "1.2": ("yes", "")})
    data = csv_bytes([["SUP1", "1.1", "yes", "done in March"], ["SUP1", "1.2", "Y", ""]])
    preview = preview_responses(session=session, files=[("b.csv", data)], cycle_id=factory.cycle_id)
    assert preview.totals == {"new": 0, "changed": 1, "unchanged": 1}
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    history = session.exec(select(Answer.value, Answer.is_current, Answer.source)
                           .where(Answer.criterion_id == "1.1").order_by(Answer.id)).all()
    assert history == [("no", False, "link"), ("yes", True, "file")]


def test_wide_form_with_comment_columns_in_any_order(session, factory):
    header = ["comment 4.10", "4.10", "Partner Code", "1.1", "Comment_1.1"]
    data = csv_bytes([["Seals are logged", "partial", "SUP1", "Sí", ""],
                      ["IT run by the parent company", "n/a", "IMP1", "no", "Policy being written"]], header=header,
                     delimiter=";")
    preview = preview_responses(session=session, files=[("wide.csv", data)], cycle_id=factory.cycle_id)
    assert not preview.has_errors, preview.problems
    assert preview.files[0].form == "wide"
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert current(session, factory.assignments["SUP1"]) == {"4.10": ("partial", "Seals are logged"),
                                                             "1.1": ("yes", "")}
    assert current(session, factory.assignments["IMP1"]) == {"4.10": ("na", "IT run by the parent company"),
                                                             "1.1": ("no", "Policy being written")}


def test_wide_form_row_without_partner_code_is_one_error(session, factory):
    data = csv_bytes([["", "yes", "yes"], ["SUP1", "yes", "n/a"]], header=["partner_code", "1.1", "1.2"])
    preview = preview_responses(session=session, files=[("w.csv", data)], cycle_id=factory.cycle_id)
    error = only_error(preview)
    assert (error["row"], error["column"], error["message"]) == (2, "partner_code", "The partner code is empty.")
    assert preview.totals["new"] == 2


@pytest.mark.parametrize(("spelling", "value"), [
    ("Y", "yes"), ("yes", "yes"), ("YES", "yes"), ("sí", "yes"), ("Si", "yes"), ("是", "yes"),
    ("N", "no"), ("no", "no"), ("否", "no"),
    ("partial", "partial"), ("Partially", "partial"), ("parcial", "partial"), ("parcialmente", "partial"),
    ("部分", "partial"), ("部分符合", "partial"),
    ("N/A", "na"), ("NA", "na"), ("n.a.", "na"), ("Not applicable", "na"), ("no aplica", "na"), ("不适用", "na"),
])
def test_answer_spellings(session, factory, spelling, value):
    data = csv_bytes([["SUP1", "1.1", spelling, "explained"]])
    preview = preview_responses(session=session, files=[("s.csv", data)], cycle_id=factory.cycle_id)
    assert not preview.has_errors
    assert preview.writes["value"].tolist() == [value]
    assert ANSWER_WORDS  # every accepted spelling is listed in one place


def test_wrong_answer_names_row_column_and_value(session, factory):
    data = csv_bytes([["SUP1", "1.1", "yes", ""], ["SUP1", "1.2", "Maybe", ""]], header=[
        "Partner", "Criterion", "Response", "Remarks"])
    error = only_error(preview_responses(session=session, files=[("w.csv", data)], cycle_id=factory.cycle_id))
    assert (error["file"], error["row"], error["column"], error["value"]) == ("w.csv", 3, "Response", "Maybe")
    assert "is not an answer" in error["message"]


def test_comment_required_for_partial_and_no_unless_one_is_stored(session, factory):
    store(session, factory.assignments["SUP1"], {"1.2": ("no", "stored reason")})
    data = csv_bytes([["SUP1", "1.1", "partial"], ["SUP1", "1.2", "no"]], header=HEADER[:3])
    preview = preview_responses(session=session, files=[("c.csv", data)], cycle_id=factory.cycle_id)
    error = only_error(preview)
    assert (error["row"], error["column"]) == (2, "answer")
    assert "comment is required when the answer is 'partial'" in error["message"]
    # No comment column: the stored comment of 1.2 is kept, so that row is complete and unchanged.
    assert preview.totals["unchanged"] == 1

    cleared = csv_bytes([["SUP1", "1.2", "no", ""]])
    error = only_error(preview_responses(session=session, files=[("d.csv", cleared)], cycle_id=factory.cycle_id))
    assert (error["row"], error["column"]) == (2, "comment")


def test_unknown_partner_unassigned_partner_and_criteria_that_do_not_apply(session, staff):
    collection = make_collection(session, [("BRK1", "Customs Broker", "sent"), ("HWY1", "Highway Carrier", None)])
    data = csv_bytes([["BRK1", "1.1", "yes", ""], ["BRK1", "5.1", "yes", ""], ["BRK1", "99.9", "yes", ""],
                      ["ZZ9", "1.1", "yes", ""], ["ZZ9", "1.2", "yes", ""], ["HWY1", "1.1", "yes", ""]])
    preview = preview_responses(session=session, files=[("p.csv", data)], cycle_id=collection.cycle_id)
    found = {(p["row"], p["column"]): p["message"] for p in problems(preview)}
    assert found == {
        (3, "criterion_id"): "Criterion 5.1 does not apply to Customs Broker partners (BRK1).",
        (4, "criterion_id"): "Unknown criterion id '99.9' (ids look like 4.10).",
        (5, "partner_code"): "Unknown partner code 'ZZ9' (2 rows).",
        (7, "partner_code"): "Partner HWY1 has no questionnaire in cycle '2027 annual review'.",
    }
    assert preview.summary["partner_code"].tolist() == ["BRK1"]


def test_identical_duplicates_merge_and_conflicting_ones_are_errors_across_files(session, factory):
    first = csv_bytes([["SUP1", "1.1", "yes", "ok"], ["SUP1", "1.1", "yes", "ok"], ["SUP1", "1.2", "yes", ""]])
    second = csv_bytes([["SUP1", "1.2", "no", "not yet"]])
    preview = preview_responses(session=session, files=[("one.csv", first), ("two.csv", second)],
                                cycle_id=factory.cycle_id)
    [warning] = problems(preview, "warning")
    assert (warning["file"], warning["row"]) == ("one.csv", 3) and "imported once" in warning["message"]
    error = only_error(preview)
    assert (error["file"], error["row"], error["column"], error["value"]) == ("two.csv", 2, "answer", "no")
    assert "Conflicts with row 4 of one.csv" in error["message"]
    with pytest.raises(ValidationError):
        apply_responses(session=session, actor=ANALYST, preview=preview)
    session.rollback()
    assert session.exec(select(func.count()).select_from(Answer)).one() == 0


def test_accepted_and_exempt_questionnaires_accept_only_unchanged_answers(session, staff):
    collection = make_collection(session, [("ACC1", "Importer", "accepted"), ("EXE1", "Importer", "exempt")])
    store(session, collection.assignments["ACC1"], {"1.1": ("yes", "")})
    unchanged = csv_bytes([["ACC1", "1.1", "yes", ""]])
    preview = preview_responses(session=session, files=[("u.csv", unchanged)], cycle_id=collection.cycle_id)
    assert not preview.has_errors and preview.totals == {"new": 0, "changed": 0, "unchanged": 1}

    changed = csv_bytes([["ACC1", "1.1", "no", "lapsed"], ["ACC1", "1.2", "yes", ""], ["EXE1", "1.1", "yes", ""]])
    preview = preview_responses(session=session, files=[("x.csv", changed)], cycle_id=collection.cycle_id)
    found = problems(preview)
    assert [(p["row"], p["value"]) for p in found] == [(2, "ACC1"), (4, "EXE1")]
    assert "is accepted; this file would change 2 of its answers. Reopen it first" in found[0]["message"]
    assert "is exempt" in found[1]["message"]


def test_spreadsheet_numbers_for_criterion_ids(session, factory):
    # 7.3 does not exist, 7.30 does; "4.1000001" and "4,10" are numbers a spreadsheet wrote.
    data = csv_bytes([["SUP1", "7.3", "yes", ""], ["SUP1", "4.1000001", "yes", ""], ["SUP1", "4,10", "yes", ""]])
    preview = preview_responses(session=session, files=[("n.csv", data)], cycle_id=factory.cycle_id)
    assert not preview.has_errors
    assert sorted(preview.writes["criterion_id"]) == ["4.1", "4.10", "7.30"]
    warnings = {w["row"]: w["message"] for w in problems(preview, "warning")}
    assert warnings[2].startswith("Read as criterion 7.30: a spreadsheet turns 7.30 into 7.3, and 7.3 does not exist")
    assert warnings[3] == "Read as criterion 4.1 (the id was written as a number)."
    assert warnings[4] == "Read as criterion 4.10 (the id was written as a number)."


def test_two_rows_4_1_in_questionnaire_order_are_4_1_and_4_10(session, factory):
    ids = [c for c in questionnaire_ids(session, "Foreign Manufacturer") if c.startswith("4.")]
    rows = [["SUP1", "4.1" if cid == "4.10" else cid, "yes", ""] for cid in ids]
    rows[ids.index("4.10")][2:] = ["no", "seals not logged"]  # different answers: only the order can tell
    preview = preview_responses(session=session, files=[("o.csv", csv_bytes(rows))], cycle_id=factory.cycle_id)
    assert not preview.has_errors
    written = dict(zip(preview.writes["criterion_id"], preview.writes["value"], strict=True))
    assert written["4.1"] == "yes" and written["4.10"] == "no"
    [warning] = problems(preview, "warning")
    assert warning["row"] == ids.index("4.10") + 2 and "4.1 appears twice for SUP1" in warning["message"]


def test_two_rows_4_1_in_no_recognisable_order_are_reported(session, factory):
    data = csv_bytes([["SUP1", "4.1", "no", "none"], ["SUP1", "4.3", "yes", ""], ["SUP1", "4.1", "yes", ""],
                      ["SUP1", "4.2", "yes", ""]])
    preview = preview_responses(session=session, files=[("a.csv", data)], cycle_id=factory.cycle_id)
    found = problems(preview)
    assert [p["row"] for p in found] == [2, 4]
    assert all("appears twice for partner SUP1 (rows 2 and 4) and 4.10 is missing" in p["message"] for p in found)
    # The same answer twice needs no order: either way round gives the same result.
    same = csv_bytes([["SUP1", "4.1", "yes", ""], ["SUP1", "4.3", "yes", ""], ["SUP1", "4.1", "yes", ""]])
    preview = preview_responses(session=session, files=[("b.csv", same)], cycle_id=factory.cycle_id)
    assert not preview.has_errors and sorted(preview.writes["criterion_id"]) == ["4.1", "4.10", "4.3"]


def test_wide_form_two_columns_4_1(session, factory):
    ordered = csv_bytes([["SUP1", "yes", "yes", "no", "fix due"]], header=["partner_code", "4.1", "4.9", "4.1",
                                                                            "comment 4.10"])
    preview = preview_responses(session=session, files=[("w.csv", ordered)], cycle_id=factory.cycle_id)
    assert not preview.has_errors, preview.problems
    written = dict(zip(preview.writes["criterion_id"], preview.writes["value"], strict=True))
    assert written == {"4.1": "yes", "4.9": "yes", "4.10": "no"}

    unordered = csv_bytes([["SUP1", "yes", "yes", "no", "no", "fix due"]],
                          header=["partner_code", "4.1", "4.3", "4.1", "4.2", "comment 4.2"])
    preview = preview_responses(session=session, files=[("v.csv", unordered)], cycle_id=factory.cycle_id)
    found = problems(preview)
    assert [(p["row"], p["column"]) for p in found] == [(1, "4.1"), (1, "4.1")]
    assert "Two columns are headed 4.1 and none 4.10" in found[0]["message"]


def test_dates_iso_and_excel_serial(session, factory):
    future = (date.today() + timedelta(days=3)).isoformat()
    data = csv_bytes([["SUP1", "1.1", "yes", "", "2026-01-31"], ["SUP1", "1.2", "yes", "", "46023"],
                      ["SUP1", "1.3", "yes", "", "31/01/2026"], ["SUP1", "1.4", "yes", "", future]],
                     header=[*HEADER, "answered_on"])
    preview = preview_responses(session=session, files=[("d.csv", data)], cycle_id=factory.cycle_id)
    found = {p["row"]: p for p in problems(preview)}
    assert set(found) == {4, 5} and found[4]["column"] == "answered_on"
    assert "'31/01/2026' is not a date" in found[4]["message"] and "is in the future" in found[5]["message"]
    dates = dict(zip(preview.writes["criterion_id"], preview.writes["answered_on"], strict=True))
    assert dates["1.1"] == date(2026, 1, 31) and dates["1.2"] == date(2026, 1, 1)


def test_html_in_comments_is_stored_as_plain_text(session, factory):
    comment = '<script>alert("x")</script><b>bold</b> & <img src=x onerror=alert(1)>'
    preview = preview_responses(session=session, files=[("h.csv", csv_bytes([["SUP1", "1.1", "no", comment]]))],
                                cycle_id=factory.cycle_id)
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert current(session, factory.assignments["SUP1"])["1.1"] == ("no", comment)


def test_excel_round_trip_layout(session, factory):
    book = Workbook()
    book.active.title = "Instructions"
    book.active.append(["Answer every question; ids are text."])
    sheet = book.create_sheet("Answers")
    sheet.append(["partner_code", "criterion_id", "category", "requirement", "question", "answer", "comment",
                  "answered_on"])
    sheet.append(["SUP1", "4.10", "Physical Access", "must", "Are seals logged?", "yes", "", None])
    sheet.append(["SUP1", "4.1", "Physical Access", "must", "Is there a policy?", None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    preview = preview_responses(session=session, files=[("export.xlsx", buffer.getvalue())],
                                cycle_id=factory.cycle_id)
    assert preview.problems.empty  # the export's reading columns are known; unanswered rows are skipped
    assert preview.files[0].sheet == "Answers" and preview.writes["criterion_id"].tolist() == ["4.10"]


def test_the_apps_own_excel_export_imports_back_unchanged(session, factory):
    from services.exports import workbook

    store(session, factory.assignments["SUP1"], {"4.10": ("no", "=SUM(A1) is not a formula here"),
                                                 "1.1": ("yes", "")})
    data = workbook.questionnaire_workbook(session=session, assignment_ids=[factory.assignments["SUP1"]])
    preview = preview_responses(session=session, files=[("SUP1.xlsx", data)], cycle_id=factory.cycle_id)
    assert preview.problems.empty, preview.problems
    assert preview.totals == {"new": 0, "changed": 0, "unchanged": 2}


def test_unknown_columns_are_reported_as_warnings(session, factory):
    data = csv_bytes([["SUP1", "1.1", "yes", "", "x"]], header=[*HEADER, "internal score"])
    preview = preview_responses(session=session, files=[("u.csv", data)], cycle_id=factory.cycle_id)
    [warning] = problems(preview, "warning")
    assert (warning["row"], warning["column"]) == (1, "internal score") and "not imported" in warning["message"]


def test_one_bad_file_blocks_all_files(session, factory):
    good = csv_bytes([["SUP1", "1.1", "yes", ""]])
    bad = csv_bytes([["IMP1", "1.1", "perhaps", ""]])
    preview = preview_responses(session=session, files=[("good.csv", good), ("bad.csv", bad)],
                                cycle_id=factory.cycle_id)
    assert [(f.file, f.errors) for f in preview.files_frame.itertuples()] == [("good.csv", 0), ("bad.csv", 1)]
    with pytest.raises(ValidationError, match="nothing was imported"):
        apply_responses(session=session, actor=ANALYST, preview=preview)
    assert session.exec(select(func.count()).select_from(ImportRecord)).one() == 0


def test_viewer_cannot_import_and_closed_cycle_is_refused(session, staff):
    collection = make_collection(session, [("SUP1", "Foreign Manufacturer", "sent")])
    preview = preview_responses(session=session, files=[("a.csv", csv_bytes([["SUP1", "1.1", "yes", ""]]))],
                                cycle_id=collection.cycle_id)
    with pytest.raises(PermissionDenied):
        apply_responses(session=session, actor=VIEWER, preview=preview)
    closed = make_collection(session, [("SUP2", "Foreign Manufacturer", "sent")], name="2026", status="closed")
    with pytest.raises(ValidationError, match="closed"):
        preview_responses(session=session, files=[("a.csv", b"x")], cycle_id=closed.cycle_id)


def test_stale_preview_is_refused(session, factory):
    store(session, factory.assignments["SUP1"], {"1.1": ("no", "old")})
    preview = preview_responses(session=session, files=[("a.csv", csv_bytes([["SUP1", "1.1", "yes", ""]]))],
                                cycle_id=factory.cycle_id)
    session.exec(select(Answer)).one().is_current = False  # someone answered through the link meanwhile
    session.commit()
    with pytest.raises(ValidationError, match="preview again"):
        apply_responses(session=session, actor=ANALYST, preview=preview)


def test_submitting_by_file_resolves_open_review_comments(session, staff):
    collection = make_collection(session, [("IMP1", "Importer", "returned")])
    assignment_id = collection.assignments["IMP1"]
    session.add(ReviewComment(assignment_id=assignment_id, criterion_id="1.1", comment="photo please",
                              author="luis"))
    session.commit()
    rows = [["IMP1", cid, "yes", ""] for cid in questionnaire_ids(session, "Importer")]
    preview = preview_responses(session=session, files=[("all.csv", csv_bytes(rows))],
                                cycle_id=collection.cycle_id)
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert session.get(Assignment, assignment_id).status == "submitted"
    assert session.exec(select(ReviewComment.resolved)).one() is True


def test_problem_report_download(session, factory):
    data = csv_bytes([["SUP1", "1.1", '=HYPERLINK("http://x")', ""]])
    preview = preview_responses(session=session, files=[("f.csv", data)], cycle_id=factory.cycle_id)
    report = pd.read_csv(io.BytesIO(problems_csv(preview.problems)), encoding="utf-8-sig", dtype=str)
    assert report.columns.tolist() == ["file", "row", "column", "value", "message", "severity"]
    assert report["value"].str.startswith("'=").all() and (report["row"] == "2").all()


@pytest.mark.parametrize(("text", "expected"), [("4.10", ("4.10", False)), ("'4.10", ("4.10", False)),
                                                ("4,1", ("4.1", True)), ("4.0999999", ("4.1", True)),
                                                ("12.10", ("12.10", False)), ("abc", ("abc", False))])
def test_criterion_text(text, expected):
    assert criterion_text(text) == expected


def test_cli_import_responses(session, factory, database_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CTPAT_DATABASE_URL", database_url)
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([["SUP1", "1.1", "yes", ""]]))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["SUP1", "1.2", "hmm", ""]]))

    def run(*argv: str) -> int:
        return manage.main(list(argv))

    assert run("import-responses", str(good), str(bad), "--cycle", "2027 annual review",
               "--problems-csv", str(tmp_path / "p.csv")) == 2
    out = capsys.readouterr()
    assert "bad.csv, row 2, column answer [hmm]: 'hmm' is not an answer" in out.out
    assert "nothing was imported" in out.err
    assert (tmp_path / "p.csv").read_text(encoding="utf-8-sig").count("\n") == 2
    assert run("import-responses", str(good), "--dry-run") == 0
    assert "Dry run" in capsys.readouterr().out
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Answer)).one() == 0
    assert run("import-responses", str(good)) == 0
    assert "1 new and 0 changed answers" in capsys.readouterr().out
    assert session.exec(select(func.count()).select_from(Answer)).one() == 1
    assert run("import-responses", str(good), "--cycle", "nope") == 2
    assert "No cycle named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("in_list", [5_000, 0])
def test_stored_answers_read_per_questionnaire_or_for_the_whole_cycle(session, factory, monkeypatch, in_list):
    monkeypatch.setattr(diff, "_IN_LIST", in_list)  # 0: every answer of the cycle is read, the file's kept
    ids = questionnaire_ids(session, "Foreign Manufacturer")[:4]
    store(session, factory.assignments["SUP1"], {ids[0]: ("no", "none yet"), ids[1]: ("yes", ""),
                                                 ids[2]: ("partial", "half done")})
    store(session, factory.assignments["IMP1"], {"1.1": ("no", "other partner")})
    data = csv_bytes([["SUP1", ids[0], "yes", "done in March"], ["SUP1", ids[1], "Y", ""],
                      ["SUP1", ids[2], "partial", "half done"], ["SUP1", ids[3], "no", "not yet"]])
    preview = preview_responses(session=session, files=[("s.csv", data)], cycle_id=factory.cycle_id)
    assert not preview.has_errors and preview.totals == {"new": 1, "changed": 1, "unchanged": 2}
    stored = dict(session.exec(select(Answer.criterion_id, Answer.id).where(
        Answer.assignment_id == factory.assignments["SUP1"])).all())
    written = dict(zip(preview.writes["criterion_id"], preview.writes["current_id"], strict=True))
    assert written[ids[0]] == stored[ids[0]] and pd.isna(written[ids[3]]) and len(written) == 2
    apply_responses(session=session, actor=ANALYST, preview=preview)
    session.commit()
    assert current(session, factory.assignments["SUP1"])[ids[0]] == ("yes", "done in March")
    assert current(session, factory.assignments["IMP1"]) == {"1.1": ("no", "other partner")}
