"""Excel questionnaires (.xlsx) that partners fill in offline and send back for services.imports.answers.

A workbook has two sheets: "Instructions" and "Answers", the long form the importer reads: one row per partner and
question with the columns ANSWER_COLUMNS. Everything a partner reads is in the workbook's language (services.texts:
instructions, column headers, categories, must/should, drop-down words); the importer accepts every language's
headers and words. Criterion ids are text cells (Excel cannot turn 4.10 into 4.1), the answer column has a
drop-down list, the sheet is protected except for the answer, comment and date columns, and each answer is
pre-filled with the partner's current answer, else its accepted answer of the previous cycle, so the partner only
confirms or corrects it. Both sheets print on pages as wide as the paper, the Answers sheet in landscape with its
header row on every page.

The layout is made once per language by openpyxl and the answer rows are streamed into it (services.exports.xlsx);
every cell goes through services.exports.safe, so text from partners or staff is never a formula.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlmodel import Session, col, select

from models import Assignment, Cycle, Partner
from models.collection import AnswerValue, AssignmentStatus
from models.common import LANGUAGES, Requirement
from services.collection import rules, titles
from services.collection.answers import current_answers
from services.collection.cycles import assignment_due_date
from services.collection.questionnaire import questionnaire
from services.company import profile as company
from services.core.permissions import ValidationError
from services.exports.safe import sheet_cell
from services.exports.xlsx import LAST_ROW, Layout, TextRows, row_height, text_height, text_styles
from services.reference.applicability import question_sets_for_partners
from services.texts import text

ANSWERS_SHEET = "Answers"
INSTRUCTIONS_SHEET = "Instructions"
ANSWER_COLUMNS = ["partner_code", "criterion_id", "category", "requirement", "question", "answer", "comment",
                  "answered_on"]
# The drop-down words per language; services.imports.answers reads every one of them back.
DROPDOWN_WORDS: dict[str, dict[str, str]] = {
    language: {value: text(f"workbook.answer.{value}", language) for value in AnswerValue} for language in LANGUAGES
}
_WIDTHS = {"partner_code": 14, "criterion_id": 10, "category": 22, "requirement": 13, "question": 62, "answer": 13,
           "comment": 45, "answered_on": 13}
_NOTE_WIDTH = 90  # of the text column of the instructions
_EDITABLE = ("answer", "comment", "answered_on")
_FIXED = ("partner_code", "criterion_id", "category", "requirement", "question")
# Named style (without "ctpat ") of the cells of an answer row, column A on.
_ROW_KINDS = ("id", "id", "text", "id", "text", "answer", "comment")
_ROW_COLUMNS = ANSWER_COLUMNS[:len(_ROW_KINDS)]  # answered_on is left empty
_PARTNER = "{{partner}}"
_QUESTIONS = "{{questions}}"
_CHUNK = 5_000
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# What Windows, macOS or Linux refuse in a file name (letters of every script stay: a Chinese title is fine).
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def column_headers(language: str) -> list[str]:
    """The headers of the Answers sheet in `language`, in ANSWER_COLUMNS order."""
    return [text(f"workbook.column.{name}", language) for name in ANSWER_COLUMNS]


def column_names(headers: Sequence[object]) -> list[str]:
    """The ANSWER_COLUMNS names of the headers of an Answers sheet written in any language (others kept)."""
    names = {header: name for language in LANGUAGES
             for header, name in zip(column_headers(language), ANSWER_COLUMNS, strict=True)}
    return [names.get(str(header), str(header)) for header in headers]


@dataclass
class _Export:
    """What the workbooks of a set of questionnaires show, loaded in a few bulk queries."""

    cycle: Cycle
    assignments: pd.DataFrame  # assignment_id, partner_code, legal_name, language (of the questions), due_date
    rows: pd.DataFrame  # assignment_id + _ROW_COLUMNS (answer as yes|partial|no|na), in sheet order
    contact: str  # who gets the files back (company profile), "" when unknown


def questionnaire_workbook(*, session: Session, assignment_ids: Sequence[int], language: str | None = None) -> bytes:
    """One .xlsx with the questionnaires of the given assignments (one partner, or all partners of a cycle).

    Exempt assignments are left out. Questions are in `language` when given, else each assignment's language; the
    instructions and drop-down words are in `language`, else in the assignments' language when they share one,
    else English. Raises ValidationError for unknown ids, assignments of several cycles, or nothing to export.
    """
    if language is not None and language not in LANGUAGES:
        raise ValidationError(f"language: '{language}' must be one of {', '.join(LANGUAGES)}")
    export = _prepare(session, assignment_ids, language)
    chosen = export.assignments
    languages = set(chosen["language"])
    sheet_language = language or (languages.pop() if len(languages) == 1 else "en")
    many = len(chosen) > 1
    # Several partners that joined at different times: the earliest due date, so nobody is told a later one.
    template = _template(export.cycle, min(chosen["due_date"]), export.contact, sheet_language, many)
    partner = (text("workbook.many", sheet_language, count=len(chosen)) if many
               else f"{chosen['partner_code'].iloc[0]} — {chosen['legal_name'].iloc[0]}")
    return _render(template, partner, _row_values(export.rows))


def cycle_workbooks(*, session: Session, cycle_id: int) -> dict[str, bytes]:
    """One .xlsx per partner of the cycle that is not exempt, each in its assignment's language.

    Keys are file names made from the partner codes ("SUP-001.xlsx"; characters a file system may refuse become
    "_"), in partner-code order. Raises ValidationError for an unknown cycle or one without questionnaires.
    """
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ValidationError(f"No cycle with id {cycle_id}")
    ids = session.exec(select(Assignment.id).where(Assignment.cycle_id == cycle_id)).all()
    if not ids:
        raise ValidationError(f"Cycle '{cycle.name}' has no partners.")
    export = _prepare(session, ids, None)
    templates = {(language, due): _template(export.cycle, due, export.contact, language, many=False)
                 for language, due in set(zip(export.assignments["language"], export.assignments["due_date"],
                                              strict=True))}
    rows_of: dict[int, list[tuple[str, ...]]] = {}
    for assignment_id, row in zip(export.rows["assignment_id"].tolist(), _row_values(export.rows), strict=True):
        rows_of.setdefault(assignment_id, []).append(row)
    files: dict[str, bytes] = {}
    taken: set[str] = set()
    for one in export.assignments.itertuples(index=False):
        name = _file_name(one.partner_code, one.assignment_id, taken)
        files[name] = _render(templates[(one.language, one.due_date)], f"{one.partner_code} — {one.legal_name}",
                              rows_of[int(one.assignment_id)])
    return files


def partner_file_name(*, partner_code: str, title: str) -> str:
    """The file name of one partner's questionnaire: its code and the cycle's title for partners (never the team's
    own cycle name), e.g. "MX-0001 Supply chain security questionnaire 2027.xlsx"."""
    stem = _UNSAFE_IN_NAME.sub("_", f"{partner_code} {title}").strip(" ._")
    return f"{stem[:150] or 'questionnaire'}.xlsx"


def _file_name(partner_code: str, assignment_id: int, taken: set[str]) -> str:
    stem = _UNSAFE_NAME.sub("_", partner_code).strip("._") or f"assignment-{assignment_id}"
    if stem.upper() in _WINDOWS_RESERVED:
        stem += "_"
    if f"{stem}.xlsx".lower() in taken:  # two codes that differ only in characters a file name cannot hold
        stem = f"{stem}-{assignment_id}"
    taken.add(f"{stem}.xlsx".lower())
    return f"{stem}.xlsx"


def _prepare(session: Session, assignment_ids: Sequence[int], language: str | None) -> _Export:
    ids = sorted({int(i) for i in assignment_ids})
    if not ids:
        raise ValidationError("Choose at least one questionnaire to export.")
    columns = ["assignment_id", "cycle_id", "partner_id", "status", "language", "partner_code", "legal_name",
               "entity_type", "own_due_date"]
    found = []
    for start in range(0, len(ids), _CHUNK):
        found += session.exec(
            select(Assignment.id, Assignment.cycle_id, Assignment.partner_id, Assignment.status, Assignment.language,
                   Partner.partner_code, Partner.legal_name, Partner.entity_type, Assignment.due_date)
            .join(Partner, col(Partner.id) == Assignment.partner_id)
            .where(col(Assignment.id).in_(ids[start:start + _CHUNK]))
        ).all()
    chosen = pd.DataFrame([tuple(r) for r in found], columns=columns)
    missing = sorted(set(ids) - set(chosen["assignment_id"]))
    if missing:
        raise ValidationError(f"No assignment with id {', '.join(map(str, missing[:10]))}")
    if chosen["cycle_id"].nunique() > 1:
        raise ValidationError("The questionnaires belong to different cycles; export one cycle at a time.")
    cycle = session.get(Cycle, int(chosen["cycle_id"].iloc[0]))
    exempt = int(chosen["status"].eq(AssignmentStatus.exempt).sum())
    chosen = chosen[chosen["status"] != AssignmentStatus.exempt]
    if chosen.empty:
        raise ValidationError(f"Nothing to export from cycle '{cycle.name}': the {exempt} chosen partner(s) are "
                              "exempt.")
    chosen = chosen.sort_values("partner_code", ignore_index=True)
    chosen["due_date"] = [assignment_due_date(own if pd.notna(own) else None, cycle.due_date)
                          for own in chosen["own_due_date"]]
    # The language questionnaire() falls back to, so the questions match what the partner's link shows.
    chosen["language"] = language or chosen["language"].where(chosen["language"].isin(list(LANGUAGES)), "en")

    members, _ = question_sets_for_partners(session=session, partner_ids=chosen["partner_id"].tolist())
    # Partners of one entity type may be asked different questions: their roles differ.
    chosen["question_set"] = chosen["partner_id"].map(members.set_index("partner_id")["set_id"])
    rows = chosen.merge(_questions(session, chosen), on=["entity_type", "question_set", "language"])
    rows = rows.merge(_answers(session, chosen["assignment_id"].tolist(), "current"),
                      on=["assignment_id", "criterion_id"], how="left")
    chosen = chosen.merge(_previous_assignments(session, cycle, chosen["partner_id"].tolist()), on="partner_id",
                          how="left")
    rows = rows.merge(chosen[["assignment_id", "previous_id"]], on="assignment_id")
    previous = _answers(session, chosen["previous_id"].dropna().astype(int).tolist(), "previous")
    rows = rows.merge(previous.rename(columns={"assignment_id": "previous_id"}), on=["previous_id", "criterion_id"],
                      how="left")
    shown = rules.with_prefill(pd.DataFrame({
        "value": rows["current_value"], "comment": rows["current_comment"],
        "previous_value": rows["previous_value"], "previous_comment": rows["previous_comment"]}).fillna(""))
    rows["answer"] = shown["shown_value"].astype(str)
    rows["comment"] = shown["shown_comment"].astype(str)
    rows = rows.sort_values(["partner_code", "order"], ignore_index=True)
    # answered_on stays empty: the import then records the day it arrives, and a changed answer never keeps
    # the date of the answer it replaces.
    return _Export(
        cycle=cycle, assignments=chosen[["assignment_id", "partner_code", "legal_name", "language", "due_date"]],
        rows=rows[["assignment_id", *_ROW_COLUMNS]], contact=_contact(session),
    )


def _questions(session: Session, chosen: pd.DataFrame) -> pd.DataFrame:
    """The questions per (entity type, question set, language), taken from services.questionnaire so they match
    the link.

    questionnaire() is asked once per group, for one of its assignments: the questions depend only on the entity
    type (its wording), the set of criteria the partner is asked and the language; the answers are loaded for all
    assignments at once elsewhere.
    """
    frames = []
    for (entity_type, question_set, language), group in chosen.groupby(["entity_type", "question_set", "language"],
                                                                         sort=False):
        asked = questionnaire(session=session, assignment_id=int(group["assignment_id"].iloc[0]), language=language)
        # The category by number: the sheet shows its name in the workbook's language.
        frame = asked[["criterion_id", "category_number", "requirement", "question"]].rename(
            columns={"category_number": "category"})
        frames.append(frame.assign(entity_type=entity_type, question_set=question_set, language=language,
                                   order=range(len(frame))))
    return pd.concat(frames, ignore_index=True)


def _answers(session: Session, assignment_ids: list[int], prefix: str) -> pd.DataFrame:
    """Current answers of the assignments: assignment_id, criterion_id, <prefix>_value, <prefix>_comment."""
    frame = current_answers(session=session, assignment_ids=assignment_ids)
    frame = frame[["assignment_id", "criterion_id", "value", "comment"]].rename(
        columns={"value": f"{prefix}_value", "comment": f"{prefix}_comment"})
    return frame.astype({"assignment_id": "Int64"})


def _previous_assignments(session: Session, cycle: Cycle, partner_ids: list[int]) -> pd.DataFrame:
    """partner_id -> previous_id: where each partner's pre-fill comes from (rules.previous_accepted)."""
    found = rules.previous_accepted(session=session, partner_ids=partner_ids, cycle_id=cycle.id)
    frame = pd.DataFrame(list(found.items()), columns=["partner_id", "previous_id"])
    return frame.astype({"partner_id": "int64", "previous_id": "Int64"})


def _contact(session: Session) -> str:
    """"Name <email>, Company" from the company profile; "" when there is no profile."""
    profile = company.get_profile(session=session)
    if profile is None:
        return ""
    person = " ".join(part for part in (profile.primary_contact.strip(),
                                        f"<{profile.primary_contact_email.strip()}>"
                                        if profile.primary_contact_email.strip() else "") if part)
    return ", ".join(part for part in (person, profile.legal_name.strip()) if part) if person else ""



@dataclass
class _Template:
    """The workbook of one language laid out without its answer rows; `_render` adds them and the partner."""

    layout: Layout
    rows: TextRows  # writes the answer rows in the styles of their columns
    note: tuple[int, int]  # style ids (plain, quote-prefixed) of the partner line of the instructions
    language: str  # of the instructions, headers, categories, must/should and drop-down words


def _template(cycle: Cycle, due: date, contact: str, language: str, many: bool) -> _Template:
    words = DROPDOWN_WORDS[language]
    book = Workbook(write_only=True)
    book.properties.creator = "CTPAT Workbench"
    book.properties.title = f"{text('workbook.title', language)}: {titles.partner_title(cycle, language)}"
    _add_styles(book)
    instructions = _instructions(book, cycle, due, contact, language, many)

    sheet = book.create_sheet(ANSWERS_SHEET)
    sheet.freeze_panes = "C2"  # header and the ids stay in view
    # On paper: landscape, as wide as the page, the header row on every page (set before the first row: a
    # write-only sheet writes its properties then). One partner's own file leaves out the partner code column.
    _page_setup(sheet, language, landscape=True)
    sheet.print_title_rows = "1:1"
    sheet.print_options.gridLines = True
    for position, name in enumerate(ANSWER_COLUMNS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(position)]
        dimension.width = _WIDTHS[name]
        if name in _EDITABLE:
            # Empty cells take their column's style: a partner types into unlocked text (or date) cells without
            # this file holding an empty cell for each of them.
            dimension.protection = Protection(locked=False)
            dimension.number_format = "yyyy-mm-dd" if name == "answered_on" else "@"
            dimension.alignment = Alignment(vertical="top", wrap_text=name == "comment")
    headers = column_headers(language)
    sheet.row_dimensions[1].height = row_height(max(text_height(header, _WIDTHS[name])
                                                    for name, header in zip(ANSWER_COLUMNS, headers, strict=True)))
    sheet.append([sheet_cell(sheet, header, "ctpat header") for header in headers])
    # Registering each style with the workbook gives the ids the streamed answer rows refer to.
    styles = text_styles(sheet, [f"ctpat {kind}" for kind in _ROW_KINDS])
    note = text_styles(instructions, ["ctpat note"])[0]

    choice = DataValidation(type="list", formula1=f'"{",".join(words.values())}"', allow_blank=True,
                            showErrorMessage=True, errorTitle=text("workbook.error_title", language),
                            error=text("workbook.error", language,
                                       words=text("workbook.separator", language).join(words.values())))
    choice.add(f"F2:F{LAST_ROW}")
    sheet.data_validations.append(choice)
    last_column = get_column_letter(len(ANSWER_COLUMNS))
    sheet.auto_filter.ref = f"A1:{last_column}{LAST_ROW}"
    # No password: the protection guards against slips; the importer checks every id anyway.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.autoFilter = False
    sheet.print_area = f"{'A' if many else 'B'}1:{last_column}{LAST_ROW}"
    wrap = [_WIDTHS[name] if kind in ("text", "comment") else None for name, kind in zip(_ROW_COLUMNS, _ROW_KINDS,
                                                                                       strict=True)]
    return _Template(layout=Layout.of(book), rows=TextRows(styles, wrap), note=note, language=language)


def _page_setup(sheet, language: str, *, landscape: bool) -> None:
    """Printed as wide as the page (as many pages down as it takes), with the title and page numbers below."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.oddFooter.left.text = text("workbook.title", language)
    sheet.oddFooter.right.text = text("workbook.page", language)


def _render(template: _Template, partner: str, rows: list[tuple[str, ...]]) -> bytes:
    """The template with `rows` on the Answers sheet and the partner's details in the instructions."""
    if len(rows) + 1 >= LAST_ROW:
        raise ValidationError(f"{len(rows):,} questions do not fit on one Excel sheet; export one file per partner.")
    return template.layout.write(
        sheet=ANSWERS_SHEET, rows=template.rows.chunks(_shown(rows, template.language)), last_row=len(rows) + 1,
        cells={INSTRUCTIONS_SHEET: {_PARTNER: (partner, template.note), _QUESTIONS: (f"{len(rows):,}", template.note)}})


def _shown(rows: list[tuple[str, ...]], language: str):
    """The rows as the partner reads them: category, must/should and the answer in the workbook's language."""
    category = _ROW_COLUMNS.index("category")
    requirement = _ROW_COLUMNS.index("requirement")
    answer = _ROW_COLUMNS.index("answer")
    words = DROPDOWN_WORDS[language]
    names = {str(n): text(f"category.{n}", language) for n in range(1, 13)}
    levels = {level: text(f"requirement.{level}", language) for level in Requirement}
    for row in rows:
        shown = list(row)
        shown[category] = names.get(row[category], row[category])
        shown[requirement] = levels.get(row[requirement], row[requirement])
        shown[answer] = words.get(row[answer], row[answer])
        yield shown


def _row_values(rows: pd.DataFrame) -> list[tuple[str, ...]]:
    """The rows' cells of columns A to G as plain tuples of text (iterating Arrow-backed text columns is slow)."""
    columns = [rows[name].fillna("").astype(str).tolist() for name in _ROW_COLUMNS]
    return list(zip(*columns, strict=True))


def _add_styles(book: Workbook) -> None:
    top = Alignment(vertical="top")
    wrap = Alignment(vertical="top", wrap_text=True)
    locked, unlocked = Protection(locked=True), Protection(locked=False)
    for style in (
        NamedStyle("ctpat header", font=Font(bold=True, color="FFFFFF"), fill=PatternFill("solid", fgColor="1F4E78"),
                   alignment=Alignment(vertical="center", wrap_text=True), protection=locked),
        NamedStyle("ctpat id", number_format="@", alignment=top, protection=locked),
        NamedStyle("ctpat text", alignment=wrap, protection=locked),
        NamedStyle("ctpat answer", number_format="@", alignment=top, protection=unlocked),
        NamedStyle("ctpat comment", number_format="@", alignment=wrap, protection=unlocked),
        NamedStyle("ctpat title", font=Font(bold=True, size=14)),
        NamedStyle("ctpat heading", font=Font(bold=True, size=12), alignment=top),
        NamedStyle("ctpat note", alignment=wrap),
    ):
        book.add_named_style(style)


def _instructions(book: Workbook, cycle: Cycle, due_date: date, contact: str, language: str, many: bool):
    sheet = book.create_sheet(INSTRUCTIONS_SHEET)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = _NOTE_WIDTH
    _page_setup(sheet, language, landscape=False)
    due = due_date.isoformat()
    words = DROPDOWN_WORDS[language]
    headers = dict(zip(ANSWER_COLUMNS, column_headers(language), strict=True))
    rows = 0

    def line(label: str, value: str = "", kind: str = "note") -> None:
        nonlocal rows
        rows += 1
        sheet.row_dimensions[rows].height = row_height(text_height(value, _NOTE_WIDTH))
        sheet.append([sheet_cell(sheet, label, f"ctpat {kind}") if label else None,
                      sheet_cell(sheet, value, "ctpat note") if value else None])

    def say(key: str, **values) -> str:
        return text(f"workbook.{key}", language, **values)

    line(say("title"), kind="title")
    line("")
    line(say("cycle"), titles.partner_title(cycle, language), "heading")  # never the team's own cycle name
    line(say("due"), due, "heading")
    line(say("partners" if many else "partner"), _PARTNER, "heading")
    line(say("questions"), _QUESTIONS, "heading")
    line("")
    line(say("how"), kind="heading")
    must = text(f"requirement.{Requirement.must}", language)
    # The step texts name the answer words and "must" by their codes: {partial}, {no}, {na}, {must}.
    steps = {"sheet": ANSWERS_SHEET, **headers, **{value.value: word for value, word in words.items()},
             Requirement.must.value: must,
             "fixed": text("workbook.separator", language).join(headers[name] for name in _FIXED)}
    for number in range(1, 8):
        line(f"{number}.", say(f"step{number}", **steps))
    line("")
    line(say("allowed", answer=headers["answer"]), kind="heading")
    for value, word in words.items():
        line(word, say(f"meaning.{value}", must=must))
    line("")
    line(say("send"), kind="heading")
    line("", say("send_to", due=due))
    line("", contact or say("nobody"))
    line("", say("evidence"))
    sheet.print_area = f"A1:B{rows}"
    return sheet

