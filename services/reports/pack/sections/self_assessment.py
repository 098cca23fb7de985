"""The company's own Security Profile: its self-assessment against every MSC criterion of its entity type, in the
CBP portal's order (category, criterion), with the narrative, status, owner, last review and the evidence files
(services.selfassessment)."""

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from services.reports.pack.base import Column, Kind, PackContext, Section, chunked
from services.selfassessment import assessment
from services.selfassessment.export import NOT_ASSESSED

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport

_STATUS_ORDER = ["met", "partly met", "not met", "n/a", NOT_ASSESSED]


def entries(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        frame = assessment.rows(session=ctx.session)
        frame = frame.assign(category=frame["category_number"].astype(str) + ". " + frame["category"],
                             status=frame["status"].map(lambda s: s.value if s is not None else NOT_ASSESSED))
        return frame.reset_index(drop=True)
    return ctx.shared("self_assessment", load)


def status(ctx: PackContext) -> dict:
    return ctx.shared("self_assessment_status", lambda: assessment.self_assessment_status(session=ctx.session))


def rows(ctx: PackContext):
    frame = entries(ctx).copy()
    if frame.empty:
        return
    files = assessment.list_evidence(session=ctx.session)
    files = files[files["criterion_id"].isin(frame["criterion_id"])]
    paths = pd.Series([ctx.file(sha, name) for sha, name in zip(files["sha256"], files["filename"], strict=True)],
                      index=files.index, dtype=object)
    by_criterion = paths.groupby(files["criterion_id"]).agg("\n".join) if len(files) else pd.Series(dtype=object)
    frame["evidence_in_pack"] = frame["criterion_id"].map(lambda c: by_criterion.get(c, ""))
    frame["position"] = range(1, len(frame) + 1)
    yield from chunked(frame)


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    counts = status(ctx)
    if not counts["criteria"]:
        return []
    return [(f"Self-assessment ({counts['entity_type']}): criteria with a status",
             f"{counts['criteria'] - counts['not_assessed']:,} of {counts['criteria']:,}"),
            ("Self-assessment: must criteria with a narrative",
             f"{counts['must_with_narrative']:,} of {counts['must_total']:,}")]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    counts = status(ctx)
    if not counts["criteria"]:
        return
    report.heading("Security Profile self-assessment")
    report.paragraph(
        f"The company's own assessment against the {counts['criteria']:,} MSC criteria of its entity type "
        f"({counts['entity_type']}): met {counts['met']:,}, partly met {counts['partly_met']:,}, not met "
        f"{counts['not_met']:,}, not applicable {counts['not_applicable']:,}, not assessed yet "
        f"{counts['not_assessed']:,}. Must criteria with a narrative: {counts['must_with_narrative']:,} of "
        f"{counts['must_total']:,}; reviewed criteria: {counts['reviewed']:,}. The narratives are on the "
        "Self-assessment sheet of the workbook, in the portal's order.")
    keys = ["met", "partly_met", "not_met", "not_applicable", "not_assessed"]
    chart = pd.DataFrame({"status": _STATUS_ORDER, "criteria": [counts[k] for k in keys]})
    report.chart(alt.Chart(chart).mark_bar(color="#1f4e78").encode(
        y=alt.Y("status:N", sort=_STATUS_ORDER, title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("criteria:Q", title="criteria", axis=alt.Axis(tickMinStep=1, format="d")))
        .properties(width=420, height=130, title="Self-assessment by status").to_dict(), width_mm=150)
    flagged = entries(ctx)
    flagged = flagged[flagged["flag"] != ""]
    if not flagged.empty:
        report.heading(f"Must criteria without a narrative ({len(flagged):,})", level=2)
        report.table(["Criterion", "Category", "Criterion text", "Status", "Owner"],
                     [(r.criterion_id, r.category, r.summary, r.status, r.owner)
                      for r in flagged.head(25).itertuples()],
                     widths=[10, 24, 50, 12, 16])
        if len(flagged) > 25:
            report.paragraph(f"... and {len(flagged) - 25:,} more on the Self-assessment sheet.", size=8)


SECTION = Section(
    key="self_assessment", order=15, sheet="Self-assessment", title="Security Profile self-assessment",
    description="The company's own self-assessment against every MSC criterion of its entity type, in the CBP "
                "portal's order (category, criterion): how it is met (narrative), status (not assessed until "
                "stated), reason for n/a, owner, last review and the evidence files (their paths inside this ZIP). "
                "Must criteria without a narrative are flagged.",
    columns=(Column("position", "Portal order", 8, Kind.integer), Column("category", "Category", 24, Kind.wrap),
             Column("criterion_id", "Criterion", 10), Column("requirement", "Must / should", 10),
             Column("summary", "Criterion text", 50, Kind.wrap), Column("status", "Status", 12),
             Column("narrative", "How it is met (narrative)", 70, Kind.wrap),
             Column("na_reason", "Reason for n/a", 30, Kind.wrap), Column("owner", "Owner", 18),
             Column("reviewed_on", "Last reviewed on", 12, Kind.date), Column("reviewed_by", "Last reviewed by", 14),
             Column("evidence_in_pack", "Evidence files (in pack)", 40, Kind.wrap),
             Column("flag", "Flag", 28, Kind.wrap)),
    rows=rows, figures=figures, pdf=pdf,
)
