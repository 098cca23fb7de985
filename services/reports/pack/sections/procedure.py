"""Step 5: the documented risk assessment procedure (services.procedure), as CBP reads it at a validation: the latest
signed version with who approved it, when, and the next review date; where none is signed, the latest saved version
or the live text, each labelled as what it is (never passed off as signed)."""

from typing import TYPE_CHECKING

import pandas as pd

from services import procedure
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport


def _document(ctx: PackContext) -> dict:
    def load() -> dict:
        signed = procedure.latest_signed(session=ctx.session)
        last = procedure.latest(session=ctx.session)
        chosen = signed or last
        if chosen is not None:
            sections = [(heading, list(paras)) for heading, paras in chosen.sections]
            if chosen.approved_at:
                label = (f"Version {chosen.version}, signed off by {chosen.approved_by} on "
                         f"{chosen.approved_at.date().isoformat()}; next review by "
                         f"{chosen.next_review_on.isoformat() if chosen.next_review_on else 'Unknown'}")
            else:
                label = f"Version {chosen.version}, saved by {chosen.saved_by}: NOT SIGNED OFF"
        else:
            sections = procedure.generate(session=ctx.session)
            label = "Generated from the live configuration; no version saved or signed off"
        return {"label": label, "sections": sections, "versions": procedure.list_versions(session=ctx.session)}
    return ctx.shared("procedure", load)


def rows(ctx: PackContext):
    document = _document(ctx)
    lines = [{"part": "Status", "number": 0, "text": document["label"]}]
    for heading, paragraphs in document["sections"]:
        lines += [{"part": heading, "number": i, "text": text} for i, text in enumerate(paragraphs, start=1)]
    for v in document["versions"].itertuples():
        approved = f"signed off by {v.approved_by} on {pd.Timestamp(v.approved_at).date()}" if v.approved_by \
            else "not signed off"
        lines.append({"part": "Versions", "number": int(v.version),
                      "text": f"Version {v.version}, saved by {v.saved_by} on {pd.Timestamp(v.saved_at).date()}; "
                              f"{approved}" + (f"; note: {v.note}" if v.note else "")})
    yield from chunked(pd.DataFrame(lines, columns=["part", "number", "text"]))


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    return [("Risk assessment procedure", _document(ctx)["label"])]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    document = _document(ctx)
    report.heading("Risk assessment procedure")
    report.paragraph(document["label"], bold=True)
    for heading, paragraphs in document["sections"]:
        report.heading(heading, level=2)
        for text in paragraphs:
            report.paragraph(text)


SECTION = Section(
    key="procedure", order=85, sheet="Procedure", title="Risk assessment procedure",
    description="The documented risk assessment procedure (CBP step 5, MSC 2.3): the latest signed-off version with "
                "who approved it and the next review date, else the latest saved or the live text, labelled; then "
                "every saved version.",
    columns=(Column("part", "Part", 34, Kind.wrap), Column("number", "No.", 6, Kind.integer),
             Column("text", "Text", 100, Kind.wrap)),
    rows=rows, figures=figures, pdf=pdf,
)
