"""The latest saved risk assessment snapshot (services.risk.assessment) with every score of every partner and lane,
and in the PDF the risk bands and the highest-risk partners and lanes.

Only a saved snapshot's scores go into the workbook: it is the dated record the team stands behind. Without one the
sheet says so and shows no score; the PDF then ranks the current assessment and says that it is not a snapshot.
"""

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
from sqlmodel import col, select

from models import RiskAssessment
from models.risk import Band, SubjectKind
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked
from services.risk import assessment
from services.risk.scoring import CODE

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport

BANDS = [Band.high.value, Band.medium.value, Band.low.value, Band.unknown.value]
_COLOURS = ["#c62828", "#f9a825", "#2e7d32", "#9e9e9e"]
TOP_PARTNERS, TOP_LANES = 15, 10


def latest(ctx: PackContext) -> tuple[RiskAssessment | None, pd.DataFrame]:
    """The newest snapshot as of the pack's day (latest as-of day, then latest run) and its scores, riskiest
    first; (None, empty) when there is none."""
    def load():
        snapshot = ctx.session.exec(
            select(RiskAssessment).where(RiskAssessment.as_of <= ctx.today)
            .order_by(col(RiskAssessment.as_of).desc(), col(RiskAssessment.run_at).desc(),
                      col(RiskAssessment.id).desc())).first()
        if snapshot is None:
            return None, pd.DataFrame(columns=assessment.SCORE_COLUMNS)
        return snapshot, _ranked(assessment.snapshot_scores(session=ctx.session, assessment_id=snapshot.id))
    return ctx.shared("risk_snapshot", load)


def _ranked(scores: pd.DataFrame) -> pd.DataFrame:
    """Partners then lanes, each riskiest first: risk, threat, vulnerability, share of criteria not met, code."""
    order = pd.DataFrame({c: -scores[c].map(CODE).fillna(0) for c in ("risk", "threat", "vulnerability")})
    order["score"] = -pd.to_numeric(scores["vulnerability_score"], errors="coerce").fillna(101)  # as scoring ranks
    order["kind"] = (scores["kind"] != SubjectKind.partner.value).astype(int)
    order["code"] = scores["code"]
    index = order.sort_values(["kind", "risk", "threat", "vulnerability", "score", "code"], kind="stable").index
    return scores.loc[index].reset_index(drop=True)


def _title(snapshot: RiskAssessment) -> str:
    return f"{snapshot.name} (as of {snapshot.as_of.isoformat()})"


def rows(ctx: PackContext):
    snapshot, scores = latest(ctx)
    if snapshot is None:
        yield pd.DataFrame([{"snapshot": f"No saved risk assessment snapshot as of {ctx.today.isoformat()}: no "
                                         "scores are shown here. Save one on the Risk assessment page."}],
                           columns=[c.name for c in SECTION.columns])
        return
    frame = scores.copy()
    frame["snapshot"] = _title(snapshot)
    frame["kind"] = frame["kind"].map({SubjectKind.partner.value: "partner", SubjectKind.lane.value: "lane"})
    yield from chunked(frame)


def _counts(frame: pd.DataFrame, kind: str) -> dict[str, int]:
    found = frame.loc[frame["kind"] == kind, "risk"].value_counts()
    return {b: int(found.get(b, 0)) for b in BANDS}


def _band_words(frame: pd.DataFrame) -> str:
    found = frame["risk"].value_counts()
    return ", ".join(f"{band} {int(found[band]):,}" for band in BANDS if found.get(band, 0))


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    snapshot, scores = latest(ctx)
    if snapshot is None:
        return [("Saved risk assessment snapshot", "None yet")]
    partners = _counts(scores, SubjectKind.partner.value)
    lanes = _counts(scores, SubjectKind.lane.value)
    return [(f"Partners at High risk (snapshot {snapshot.as_of.isoformat()})",
             f"{partners[Band.high.value]:,} of {sum(partners.values()):,}"),
            (f"Lanes at High risk (snapshot {snapshot.as_of.isoformat()})",
             f"{lanes[Band.high.value]:,} of {sum(lanes.values()):,}")]


def _current(ctx: PackContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The current assessment's ranking in the snapshot's column names (no explanation words: only a snapshot
    stores them)."""
    partners, lanes = assessment.ranking(assessment.current(session=ctx.session, today=ctx.today))
    partners = partners.rename(columns={"partner_code": "code", "legal_name": "name", "country_iso2": "country"})
    partners = partners.assign(kind=SubjectKind.partner.value, threat_detail="", vulnerability_detail="")
    lanes = lanes.assign(kind=SubjectKind.lane.value, country="", vulnerability_score=None, threat_detail="",
                         vulnerability_detail="")
    columns = ["kind", "code", "name", "country", "risk", "threat", "vulnerability", "vulnerability_score",
               "threat_detail", "vulnerability_detail"]
    return partners[columns], lanes[columns]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    snapshot, scores = latest(ctx)
    if snapshot is not None:
        partners = scores[scores["kind"] == SubjectKind.partner.value]
        lanes = scores[scores["kind"] == SubjectKind.lane.value]
        source = f"the latest saved snapshot '{snapshot.name}'"
        intro = (f"Scores of {source}, as of {snapshot.as_of.isoformat()}, run by {snapshot.run_by} under "
                 f"configuration {snapshot.configuration_version or 'defaults (not saved)'}. Every score with its "
                 "explanation is on the Risk scores sheet of the workbook.")
    else:
        partners, lanes = _current(ctx)
        if partners.empty and lanes.empty:
            return
        source = "the current assessment (current, not a saved snapshot)"
        intro = (f"No risk assessment snapshot has been saved as of {ctx.today.isoformat()}. The ranking below is "
                 f"the current assessment on {ctx.today.isoformat()} under the active configuration: current, not "
                 "a saved snapshot, and not in the workbook.")
    report.heading("Risk assessment")
    report.paragraph(intro)
    bands = pd.DataFrame([{"kind": kind, "band": band, "count": n}
                          for kind, frame in (("partners", partners), ("lanes", lanes))
                          for band, n in frame["risk"].value_counts().items() if n])
    if not bands.empty:
        report.chart(alt.Chart(bands).mark_bar().encode(
            y=alt.Y("kind:N", title=None, sort=["partners", "lanes"]),
            x=alt.X("count:Q", title="partners / lanes", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("band:N", title="Risk", scale=alt.Scale(domain=BANDS, range=_COLOURS)),
            order=alt.Order("order:Q"))
            .transform_calculate(order=f"indexof({BANDS!r}, datum.band)")
            .properties(width=420, height=90, title=f"Risk bands ({source})").to_dict(), width_mm=150)
        report.paragraph("; ".join(f"{label}: {_band_words(frame)}" for label, frame in
                                   (("Partners", partners), ("Lanes", lanes)) if len(frame)), size=9)
    if len(partners):
        report.heading(f"Highest-risk partners ({source})", level=2)
        report.table(["Code", "Partner", "Country", "Risk", "Threat", "Vulnerability", "Why"],
                     [(r.code, r.name, r.country, r.risk, r.threat, r.vulnerability,
                       "; ".join(t for t in (r.threat_detail, r.vulnerability_detail) if t))
                      for r in partners.head(TOP_PARTNERS).itertuples()],
                     widths=[12, 30, 9, 8, 8, 14, 46])
    if len(lanes):
        report.heading(f"Highest-risk lanes ({source})", level=2)
        report.table(["Lane", "Name", "Risk", "Threat", "Vulnerability", "Why"],
                     [(r.code, r.name, r.risk, r.threat, r.vulnerability,
                       "; ".join(t for t in (r.threat_detail, r.vulnerability_detail) if t))
                      for r in lanes.head(TOP_LANES).itertuples()],
                     widths=[10, 30, 8, 8, 14, 56])


SECTION = Section(
    key="risk_scores", order=75, sheet="Risk scores", title="Risk assessment snapshot",
    description="Every score of the latest saved risk assessment snapshot as of the pack's day (partners, then "
                "lanes, riskiest first): risk band, the matrix cell before the impact step, threat and vulnerability "
                "with the words that explain them, certificate credit, open incidents, whether high impact raised "
                "it and whether the questionnaire was overdue. Without a snapshot the sheet says so and shows no "
                "score.",
    columns=(Column("snapshot", "Snapshot", 30, Kind.wrap), Column("kind", "Partner / lane", 9),
             Column("code", "Code", 14), Column("name", "Name", 32, Kind.wrap), Column("country", "Country", 8),
             Column("risk", "Risk", 9), Column("matrix_risk", "Matrix cell", 9), Column("threat", "Threat", 9),
             Column("threat_detail", "Threat: why", 36, Kind.wrap), Column("vulnerability", "Vulnerability", 11),
             Column("vulnerability_score", "Not met %", 9, Kind.number),
             Column("vulnerability_detail", "Vulnerability: why", 40, Kind.wrap),
             Column("certificate_credit", "Certificate credit", 10, Kind.flag),
             Column("incidents", "Open incidents", 9, Kind.integer),
             Column("impact_raised", "Raised by impact", 9, Kind.flag),
             Column("questionnaire_overdue", "Questionnaire overdue", 11, Kind.flag)),
    rows=rows, figures=figures, pdf=pdf,
)
