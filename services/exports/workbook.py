"""Excel questionnaires (.xlsx) that partners fill in offline and send back for services.answer_import.

A workbook has two sheets: "Instructions" (in the questionnaire's language) and "Answers" in the long form the
importer reads: one row per partner and question with the columns ANSWER_COLUMNS. Criterion ids are text cells
(Excel cannot turn 4.10 into 4.1), the answer column has a drop-down list, the sheet is protected except for the
answer, comment and answered_on columns, and each answer is pre-filled with the partner's current answer, else its
accepted answer of the previous cycle, so the partner only confirms or corrects it.

How it is written, for speed: openpyxl lays out the workbook once per language (instructions, styles, header
row, column widths and styles, drop-down, protection, filter); the answer rows are then streamed into the Answers
sheet as SpreadsheetML, one inline-string cell per value, with the style ids openpyxl registered. Going cell by
cell through openpyxl's write-only mode takes ten times longer (50,000 rows: 12-16 s of CPU against 1.2 s). Empty
answer, comment and date cells are not written at all: they take their column's style, which is unlocked.
"""

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from xml.etree import ElementTree

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.constants import REL_NS, SHEET_MAIN_NS
from sqlmodel import Session, col, select

from models import Assignment, Cycle, Partner
from models.collection import AnswerValue as A
from models.collection import AssignmentStatus
from models.common import LANGUAGES
from services.collection import rules
from services.collection.answers import current_answers
from services.collection.questionnaire import questionnaire
from services.company import profile as company
from services.core.permissions import ValidationError

ANSWERS_SHEET = "Answers"
INSTRUCTIONS_SHEET = "Instructions"
ANSWER_COLUMNS = ["partner_code", "criterion_id", "category", "requirement", "question", "answer", "comment",
                  "answered_on"]
# The drop-down words per language; services.imports.answers.ANSWER_WORDS reads every one of them back.
DROPDOWN_WORDS: dict[str, dict[str, str]] = {
    "en": {A.yes: "yes", A.partial: "partial", A.no: "no", A.na: "n/a"},
    "es": {A.yes: "sí", A.partial: "parcial", A.no: "no", A.na: "no aplica"},
    "zh": {A.yes: "是", A.partial: "部分", A.no: "否", A.na: "不适用"},
}
_WIDTHS = {"partner_code": 14, "criterion_id": 11, "category": 30, "requirement": 12, "question": 70, "answer": 13,
           "comment": 50, "answered_on": 13}
_EDITABLE = ("answer", "comment", "answered_on")
# Named style (without "ctpat ") of the cells of an answer row, column A on; "" = the default style.
_ROW_KINDS = ("", "id", "", "", "text", "answer", "comment")
_ROW_COLUMNS = ANSWER_COLUMNS[:len(_ROW_KINDS)]  # answered_on is left empty
_ANSWER_COLUMN = ANSWER_COLUMNS.index("answer")
_LAST_ROW = 1_048_576  # Excel's last row: a template's ranges reach it until the real last row is known
_PARTNER = b"{{partner}}"
_QUESTIONS = b"{{questions}}"
_CHUNK = 5_000
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "CTPAT security questionnaire",
        "cycle": "Review", "due": "Due date", "partner": "Partner", "partners": "Partners",
        "questions": "Questions", "many": "{n} partners (one row per partner and question)",
        "how": "How to fill it in",
        "step1": "Answer every question on the sheet “Answers”: one row per question.",
        "step2": "Column “answer”: choose one of the values of the drop-down list (see below).",
        "step3": "Column “comment”: required when the answer is “{partial}” or “{no}”: say what is missing and when "
                 "it will be in place; and for “{na}” on a “must” criterion: say why it does not apply. Optional "
                 "otherwise.",
        "step4": "Column “answered_on”: optional, the date of your answer as YYYY-MM-DD; left empty, the day we "
                 "receive the file is used.",
        "step5": "Answers already filled in are your answers of the last review (or the ones you already gave us): "
                 "check each one and change it where it is no longer true.",
        "step6": "Do not change the columns partner_code, criterion_id, category, requirement and question, and do "
                 "not rename the sheet or the column headers: they identify your answers. Those cells are protected.",
        "step7": "Keep the file as an Excel workbook (.xlsx). Do not save it as .xls or .xlsm, and do not type "
                 "formulas (cells starting with “=”).",
        "allowed": "Allowed answers (drop-down list in the column “answer”)",
        A.yes: "the criterion is fully met", A.partial: "partly met; a comment is required",
        A.no: "not met; a comment is required",
        A.na: "does not apply to your business; a comment is required on a “must” criterion",
        "send": "Sending it back",
        "send_to": "Save the file (Excel workbook, .xlsx) and send it by {due} to:",
        "nobody": "the person who sent it to you",
        "evidence": "Evidence such as procedures, photos or certificates cannot be placed in this file: send it "
                    "along with the file, or upload it through your questionnaire link if you received one.",
        "error_title": "Answer", "error": "Choose one of: {words}.",
    },
    "es": {
        "title": "Cuestionario de seguridad CTPAT",
        "cycle": "Revisión", "due": "Fecha límite", "partner": "Socio comercial", "partners": "Socios comerciales",
        "questions": "Preguntas", "many": "{n} socios comerciales (una fila por socio y pregunta)",
        "how": "Cómo llenarlo",
        "step1": "Responda cada pregunta en la hoja “Answers”: una fila por pregunta.",
        "step2": "Columna “answer”: elija uno de los valores de la lista desplegable (ver abajo).",
        "step3": "Columna “comment”: obligatoria si la respuesta es “{partial}” o “{no}”; indique qué falta y "
                 "cuándo estará implementado; y para “{na}” en un criterio “must”: indique por qué no aplica. "
                 "Opcional en los demás casos.",
        "step4": "Columna “answered_on”: opcional, la fecha de su respuesta como AAAA-MM-DD; si la deja vacía, se "
                 "usa el día en que recibimos el archivo.",
        "step5": "Las respuestas ya llenadas son sus respuestas de la revisión anterior (o las que ya nos dio): "
                 "revise cada una y cámbiela si ya no es cierta.",
        "step6": "No modifique las columnas partner_code, criterion_id, category, requirement y question, ni cambie "
                 "el nombre de la hoja o de los encabezados: identifican sus respuestas. Esas celdas están "
                 "protegidas.",
        "step7": "Conserve el archivo como libro de Excel (.xlsx). No lo guarde como .xls o .xlsm y no escriba "
                 "fórmulas (celdas que empiezan con “=”).",
        "allowed": "Respuestas permitidas (lista desplegable en la columna “answer”)",
        A.yes: "se cumple totalmente el criterio", A.partial: "se cumple en parte; comentario obligatorio",
        A.no: "no se cumple; comentario obligatorio",
        A.na: "no aplica a su negocio; comentario obligatorio en un criterio “must”",
        "send": "Cómo devolverlo",
        "send_to": "Guarde el archivo (libro de Excel, .xlsx) y envíelo a más tardar el {due} a:",
        "nobody": "la persona que se lo envió",
        "evidence": "La evidencia (procedimientos, fotos, certificados) no se puede incluir en este archivo: "
                    "envíela junto con el archivo o súbala mediante el enlace de su cuestionario si recibió uno.",
        "error_title": "Respuesta", "error": "Elija uno de: {words}.",
    },
    "zh": {
        "title": "CTPAT 安全问卷",
        "cycle": "审核周期", "due": "截止日期", "partner": "合作伙伴", "partners": "合作伙伴",
        "questions": "问题数", "many": "{n} 个合作伙伴（每个合作伙伴的每个问题占一行）",
        "how": "填写说明",
        "step1": "请在工作表“Answers”中回答每一个问题：每个问题占一行。",
        "step2": "“answer”列：从下拉列表中选择一个值（见下文）。",
        "step3": "“comment”列：回答为“{partial}”或“{no}”时必须填写，说明缺少什么以及何时落实；对“must”标准回答"
                 "“{na}”时也必须填写，说明为什么不适用；其他情况可选填。",
        "step4": "“answered_on”列：可选，填写回答日期，格式为 YYYY-MM-DD；留空则以我们收到文件的日期为准。",
        "step5": "已填好的答案是您在上一次审核中的答案（或您已提交的答案）：请逐一核对，如有变化请修改。",
        "step6": "请勿修改 partner_code、criterion_id、category、requirement 和 question 列，也不要重命名工作表或"
                 "列标题：它们用于识别您的答案。这些单元格已受保护。",
        "step7": "请将文件保存为 Excel 工作簿（.xlsx）。不要另存为 .xls 或 .xlsm，"
                 "也不要输入公式（以“=”开头的单元格）。",
        "allowed": "可选答案（“answer”列中的下拉列表）",
        A.yes: "完全符合该标准", A.partial: "部分符合，必须填写备注",
        A.no: "不符合，必须填写备注", A.na: "不适用于贵公司的业务；“must”标准须填写备注",
        "send": "如何交回",
        "send_to": "请保存文件（Excel 工作簿，.xlsx），并于 {due} 之前发送给：",
        "nobody": "向您发送此文件的人",
        "evidence": "证明文件（程序文件、照片、证书等）无法放入本文件：请随文件一并发送，或通过您收到的问卷链接上传。",
        "error_title": "答案", "error": "请选择：{words}。",
    },
}


@dataclass
class _Export:
    """What the workbooks of a set of questionnaires show, loaded in a few bulk queries."""

    cycle: Cycle
    assignments: pd.DataFrame  # assignment_id, partner_code, legal_name, language (of the questions), by code
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
    template = _template(export.cycle, export.contact, sheet_language, many)
    partner = (_TEXTS[sheet_language]["many"].format(n=len(chosen)) if many
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
    templates = {language: _template(export.cycle, export.contact, language, many=False)
                 for language in export.assignments["language"].unique()}
    rows_of: dict[int, list[tuple[str, ...]]] = {}
    for assignment_id, row in zip(export.rows["assignment_id"].tolist(), _row_values(export.rows), strict=True):
        rows_of.setdefault(assignment_id, []).append(row)
    files: dict[str, bytes] = {}
    taken: set[str] = set()
    for one in export.assignments.itertuples(index=False):
        name = _file_name(one.partner_code, one.assignment_id, taken)
        files[name] = _render(templates[one.language], f"{one.partner_code} — {one.legal_name}",
                              rows_of[int(one.assignment_id)])
    return files


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
               "entity_type"]
    found = []
    for start in range(0, len(ids), _CHUNK):
        found += session.exec(
            select(Assignment.id, Assignment.cycle_id, Assignment.partner_id, Assignment.status, Assignment.language,
                   Partner.partner_code, Partner.legal_name, Partner.entity_type)
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
    # The language questionnaire() falls back to, so the questions match what the partner's link shows.
    chosen["language"] = language or chosen["language"].where(chosen["language"].isin(list(LANGUAGES)), "en")

    rows = chosen.merge(_questions(session, chosen), on=["entity_type", "language"])
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
        cycle=cycle, assignments=chosen[["assignment_id", "partner_code", "legal_name", "language"]],
        rows=rows[["assignment_id", *_ROW_COLUMNS]], contact=_contact(session),
    )


def _questions(session: Session, chosen: pd.DataFrame) -> pd.DataFrame:
    """The questions per (entity type, language), taken from services.questionnaire so they match the link.

    questionnaire() is asked once per group, for one of its assignments: the questions depend only on the entity
    type and language, the answers are loaded for all assignments at once elsewhere.
    """
    frames = []
    for (entity_type, language), group in chosen.groupby(["entity_type", "language"], sort=False):
        asked = questionnaire(session=session, assignment_id=int(group["assignment_id"].iloc[0]), language=language)
        frame = asked[["criterion_id", "category", "requirement", "question"]].copy()
        frames.append(frame.assign(entity_type=entity_type, language=language, order=range(len(frame))))
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


def _clean(text: str) -> str:
    """Text a cell can hold: control characters removed (XML cannot carry them, Excel cannot show them)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


@dataclass
class _Template:
    """A workbook laid out by openpyxl without its answer rows; `_render` adds them and the partner's details.

    The Answers sheet's ranges (drop-down, filter) reach the sentinel row _LAST_ROW until `_render` sets the
    real last row, and the instructions hold _PARTNER and _QUESTIONS until it fills them in.
    """

    parts: dict[str, bytes]  # the .xlsx package: part name -> content
    instructions: str  # part name of the Instructions sheet
    answers: str  # part name of the Answers sheet
    style_ids: tuple[int, ...]  # cell style index for each of the first len(_ROW_KINDS) answer columns
    words: dict[str, str]  # drop-down word per answer value
    cells: dict[tuple[int, str], str] = field(default_factory=dict)  # XML per (column, value), see _row_chunks


def _template(cycle: Cycle, contact: str, language: str, many: bool) -> _Template:
    texts, words = _TEXTS[language], DROPDOWN_WORDS[language]
    book = Workbook(write_only=True)
    book.properties.creator = "CTPAT Workbench"
    book.properties.title = f"{texts['title']}: {cycle.name}"
    _add_styles(book)
    _instructions(book, cycle, contact, texts, words, many)

    sheet = book.create_sheet(ANSWERS_SHEET)
    sheet.freeze_panes = "C2"  # header and the ids stay in view
    for position, name in enumerate(ANSWER_COLUMNS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(position)]
        dimension.width = _WIDTHS[name]
        if name in _EDITABLE:
            # Empty cells take their column's style: a partner types into unlocked text (or date) cells without
            # this file holding an empty cell for each of them.
            dimension.protection = Protection(locked=False)
            dimension.number_format = "yyyy-mm-dd" if name == "answered_on" else "@"
            dimension.alignment = Alignment(vertical="top", wrap_text=name == "comment")
    sheet.append([_styled(sheet, name, "ctpat header") for name in ANSWER_COLUMNS])
    # Registering each style with the workbook gives the index the answer rows refer to.
    style_ids = tuple(_styled(sheet, "", f"ctpat {kind}").style_id if kind else 0 for kind in _ROW_KINDS)

    words_listed = ", ".join(words.values())
    choice = DataValidation(type="list", formula1=f'"{",".join(words.values())}"', allow_blank=True,
                            showErrorMessage=True, errorTitle=texts["error_title"],
                            error=texts["error"].format(words=words_listed))
    choice.add(f"F2:F{_LAST_ROW}")
    sheet.data_validations.append(choice)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(ANSWER_COLUMNS))}{_LAST_ROW}"
    # No password: the protection guards against slips; the importer checks every id anyway.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.autoFilter = False

    out = io.BytesIO()
    book.save(out)
    with zipfile.ZipFile(out) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    return _Template(parts=parts, instructions=_sheet_part(parts, INSTRUCTIONS_SHEET),
                     answers=_sheet_part(parts, ANSWERS_SHEET), style_ids=style_ids, words=words)


def _sheet_part(parts: dict[str, bytes], title: str) -> str:
    """The package part holding the sheet called `title` (found through the workbook and its relationships)."""
    book = ElementTree.fromstring(parts["xl/workbook.xml"])
    rel_id = next(sheet.get(f"{{{REL_NS}}}id") for sheet in book.iter(f"{{{SHEET_MAIN_NS}}}sheet")
                  if sheet.get("name") == title)
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    target = next(rel.get("Target") for rel in rels if rel.get("Id") == rel_id)
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _render(template: _Template, partner: str, rows: list[tuple[str, ...]]) -> bytes:
    """The template with `rows` on the Answers sheet and the partner's details in the instructions."""
    last = len(rows) + 1
    if last > _LAST_ROW:
        raise ValidationError(f"{len(rows):,} questions do not fit on one Excel sheet; export one file per partner.")
    sentinel, real = str(_LAST_ROW).encode(), str(last).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in template.parts.items():
            if name == template.instructions:
                content = content.replace(_PARTNER, _xml_text(partner).encode()).replace(
                    _QUESTIONS, f"{len(rows):,}".encode())
                package.writestr(name, content)
            elif name == template.answers:
                content = content.replace(b":F" + sentinel, b":F" + real).replace(b":H" + sentinel, b":H" + real)
                head, tail = content.split(b"</sheetData>")
                with package.open(name, "w") as stream:
                    stream.write(head)
                    for chunk in _row_chunks(rows, template):
                        stream.write(chunk)
                    stream.write(b"</sheetData>" + tail)
            else:
                if name == "xl/workbook.xml":  # the filter's hidden range name
                    content = content.replace(b"$H$" + sentinel, b"$H$" + real)
                package.writestr(name, content)
    return out.getvalue()


def _row_values(rows: pd.DataFrame) -> list[tuple[str, ...]]:
    """The rows' cells of columns A to G as plain tuples of text (iterating Arrow-backed text columns is slow)."""
    columns = [rows[name].fillna("").astype(str).tolist() for name in _ROW_COLUMNS]
    return list(zip(*columns, strict=True))


def _row_chunks(rows: list[tuple[str, ...]], template: _Template) -> Iterator[bytes]:
    """The answer rows as SpreadsheetML, from sheet row 2 on, a few thousand rows per chunk.

    Written directly rather than cell by cell through openpyxl: ten times faster for 50,000 rows. Every
    value is an inline string, so ids stay text ("4.10") and nothing is ever read as a formula. Each distinct
    value is turned into XML once per template (questions repeat for every partner).
    """
    letters = [get_column_letter(i) for i in range(1, len(_ROW_KINDS) + 1)]
    known = template.cells
    chunk: list[str] = []
    for number, row in enumerate(rows, start=2):
        cells = []
        for column, value in enumerate(row):
            if value:
                tail = known.get((column, value))
                if tail is None:
                    tail = known[column, value] = _cell_tail(template, column, value)
                cells.append(f'<c r="{letters[column]}{number}"{tail}')
        chunk.append(f'<row r="{number}">{"".join(cells)}</row>')
        if len(chunk) == 5_000:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def _cell_tail(template: _Template, column: int, value: str) -> str:
    """What follows '<c r="F7"' for a value of an answer-row column (answers shown in the template's words)."""
    style_id = template.style_ids[column]
    style = f' s="{style_id}"' if style_id else ""
    shown = template.words.get(value, value) if column == _ANSWER_COLUMN else value
    return f'{style} t="inlineStr"><is>{_xml_t(shown)}</is></c>'


def _xml_text(text: str) -> str:
    return escape(_clean(str(text)), quote=False)


def _xml_t(text: str) -> str:
    """A <t> element; leading or trailing spaces and line breaks are kept only when marked so."""
    escaped = _xml_text(text)
    return f'<t xml:space="preserve">{escaped}</t>' if escaped != escaped.strip() else f"<t>{escaped}</t>"


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
        NamedStyle("ctpat heading", font=Font(bold=True, size=12)),
        NamedStyle("ctpat note", alignment=wrap),
    ):
        book.add_named_style(style)


def _styled(sheet, value: str, style: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    cell.style = style
    return cell


def _instructions(book: Workbook, cycle: Cycle, contact: str, texts: dict[str, str], words: dict[str, str],
                  many: bool) -> None:
    sheet = book.create_sheet(INSTRUCTIONS_SHEET)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 100
    due = cycle.due_date.isoformat()

    def line(label: str, text: str = "", kind: str = "note") -> None:
        sheet.append([_styled(sheet, _clean(label), f"ctpat {kind}") if label else None,
                      _styled(sheet, _clean(text), "ctpat note") if text else None])

    line(texts["title"], kind="title")
    line("")
    line(texts["cycle"], cycle.name, "heading")
    line(texts["due"], due, "heading")
    line(texts["partners" if many else "partner"], _PARTNER.decode(), "heading")
    line(texts["questions"], _QUESTIONS.decode(), "heading")
    line("")
    line(texts["how"], kind="heading")
    for number in range(1, 8):
        line(f"{number}.", texts[f"step{number}"].format(partial=words[A.partial], no=words[A.no],
                                                                na=words[A.na]))
    line("")
    line(texts["allowed"], kind="heading")
    for value, word in words.items():
        line(word, texts[value])
    line("")
    line(texts["send"], kind="heading")
    line("", texts["send_to"].format(due=due))
    line("", contact or texts["nobody"])
    line("", texts["evidence"])
