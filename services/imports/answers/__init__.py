"""Importing partners' answers from CSV/XLSX files (Excel round-trip and bulk files): preview, then one transaction.

Formats. Long form: one row per answer, columns `partner_code, criterion_id, answer, comment` and optionally
`answered_on`. Wide form: one row per partner, `partner_code` then one column per criterion id (`4.10`), with
optional `comment 4.10` columns and an optional `answered_on` column for the whole row. Headers are matched by
name (case, spaces, underscores and a BOM do not matter); columns the importer does not use are reported.

Rules (each broken rule is a problem naming file, row, column and value; any error means nothing is written):
- Answers: yes / partial / no / na in the usual English, Spanish and Chinese spellings (`ANSWER_WORDS`).
  A row with neither answer nor comment is skipped; a comment without an answer is an error.
- A comment is required where services.collection.rules requires one: partial and no, and na on a criterion the
  partner must meet. A file without a comment column for a criterion keeps the comment already stored; a blank
  comment cell clears it.
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
- An answer to an accepted or exempt questionnaire that would change it is an error ("reopen it first");
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
"in progress" (the moves of services.collection.states). One ImportRecord and one audit event per file.

Modules: `layout` (long or wide form, columns), `ids` (criterion ids as written or as numbers), `checks` (answers,
partners, comments, dates), `diff` (duplicates, against the current answers, the outcome), `apply` (the write),
`preview` (the whole check of a set of files).
"""

from services.imports.answers.apply import apply_responses
from services.imports.answers.checks import ANSWER_WORDS, answer_value, parse_answer_date
from services.imports.answers.ids import criterion_text
from services.imports.answers.layout import ALIASES, INFO_COLUMNS
from services.imports.answers.preview import preview_responses
from services.imports.answers.result import (
    FILE_COLUMNS,
    STATUS_COLUMNS,
    SUMMARY_COLUMNS,
    WRITE_COLUMNS,
    FileResult,
    ResponsePreview,
)

__all__ = [
    "ALIASES",
    "ANSWER_WORDS",
    "FILE_COLUMNS",
    "INFO_COLUMNS",
    "STATUS_COLUMNS",
    "SUMMARY_COLUMNS",
    "WRITE_COLUMNS",
    "FileResult",
    "ResponsePreview",
    "answer_value",
    "apply_responses",
    "criterion_text",
    "parse_answer_date",
    "preview_responses",
]
