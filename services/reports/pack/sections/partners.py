"""Business partners with entity type, country, CTPAT / mutual recognition status (services.certificates.rule)
and their last assessment."""

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
from sqlmodel import col, select

from models import Assignment, Country, Cycle, Partner
from models.collection import AssignmentStatus
from services.certificates import rule
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked

if TYPE_CHECKING:
    from services.reports.pack.pdf import PdfReport

COVERAGE = "coverage"


def coverage(ctx: PackContext) -> pd.DataFrame:
    """Per partner holding a certificate: covered on the pack's day, recognition and the basis (the rule)."""
    return ctx.shared(COVERAGE, lambda: rule.partner_coverage(session=ctx.session, day=ctx.today))


def partners(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        found = ctx.session.exec(
            select(Partner.id, Partner.partner_code, Partner.legal_name, Partner.entity_type, Partner.country_iso2,
                   Country.name, Partner.city, Partner.status, Partner.criticality, Partner.import_share)
            .join(Country, col(Country.iso2) == Partner.country_iso2, isouter=True).order_by(Partner.partner_code)
        ).all()
        frame = pd.DataFrame([tuple(r) for r in found],
                             columns=["partner_id", "partner_code", "legal_name", "entity_type", "iso2", "country",
                                      "city", "status", "criticality", "import_share"])
        cover = coverage(ctx).set_index("partner_id")
        covered = frame["partner_id"].map(cover["covered"])
        recognition = frame["partner_id"].map(cover["recognition"]).astype(object).fillna("")
        frame["certificate_status"] = pd.Series([
            "No certificate on file" if pd.isna(c) else
            (f"Covered ({r})" if c else "Certificate on file, does not cover the partner")
            for c, r in zip(covered, recognition, strict=True)], index=frame.index, dtype=object)
        frame["certificate_basis"] = frame["partner_id"].map(cover["reason"]).astype(object).fillna("")
        last = _last_assessment(ctx)
        return frame.merge(last, on="partner_id", how="left")
    return ctx.shared("partners", load)


def _last_assessment(ctx: PackContext) -> pd.DataFrame:
    """Per partner, its latest finished questionnaire: accepted (reviewed on) or exempt (the cycle's start)."""
    found = ctx.session.exec(
        select(Assignment.partner_id, Assignment.status, Assignment.reviewed_at, Cycle.name, Cycle.created_at)
        .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
        .where(col(Assignment.status).in_([AssignmentStatus.accepted, AssignmentStatus.exempt]))
    ).all()
    frame = pd.DataFrame([tuple(r) for r in found],
                         columns=["partner_id", "status", "reviewed_at", "cycle", "cycle_created"])
    if frame.empty:
        return pd.DataFrame(columns=["partner_id", "last_assessment", "last_assessed_on", "last_cycle"])
    when = pd.to_datetime(frame["reviewed_at"], utc=True).where(frame["status"] == AssignmentStatus.accepted,
                                                                 pd.to_datetime(frame["cycle_created"], utc=True))
    frame["last_assessed_on"] = when.dt.date
    frame["_when"] = when
    frame = frame.sort_values(["partner_id", "_when"], kind="stable").drop_duplicates("partner_id", keep="last")
    frame["last_assessment"] = frame["status"].map(
        {AssignmentStatus.accepted: "questionnaire accepted", AssignmentStatus.exempt: "exempt (certificate)"})
    return frame.rename(columns={"cycle": "last_cycle"})[["partner_id", "last_assessment", "last_assessed_on",
                                                           "last_cycle"]]


def rows(ctx: PackContext):
    frame = partners(ctx).copy()
    frame["last_assessment"] = frame["last_assessment"].fillna("none on record")
    yield from chunked(frame)


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = partners(ctx)
    active = frame[frame["status"] == "active"]
    if active.empty:
        return [("Active business partners", "0")]
    covered = active["certificate_status"].astype(str).str.startswith("Covered").sum()
    assessed = active["last_assessment"].notna().sum()
    return [("Active business partners", f"{len(active):,}"),
            ("Countries of active partners", f"{active['iso2'].nunique():,}"),
            ("Active partners covered by CTPAT or a mutually recognized program", f"{covered:,}"),
            ("Active partners with an accepted questionnaire or exemption on record", f"{assessed:,}")]


def pdf(ctx: PackContext, report: "PdfReport") -> None:
    frame = partners(ctx)
    active = frame[frame["status"] == "active"]
    if active.empty:
        return
    report.heading("Business partners")
    report.paragraph(f"{len(active):,} active partners in {active['iso2'].nunique():,} countries. CTPAT and mutual "
                     f"recognition status as the certificate rule decides it on {ctx.today.isoformat()}.")
    by_type = active.groupby("entity_type").size().rename("partners").reset_index()
    report.chart(alt.Chart(by_type).mark_bar(color="#1f4e78").encode(
        y=alt.Y("entity_type:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("partners:Q", title="active partners"))
        .properties(width=420, height=max(60, 22 * len(by_type)), title="Active partners by entity type")
        .to_dict(), width_mm=150)
    status = active["certificate_status"].str.replace(r" \(.*\)", "", regex=True).value_counts().rename_axis(
        "status").rename("partners").reset_index()
    report.chart(alt.Chart(status).mark_bar(color="#2e7d32").encode(
        y=alt.Y("status:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("partners:Q", title="active partners"))
        .properties(width=420, height=max(60, 24 * len(status)), title="CTPAT / mutual recognition status")
        .to_dict(), width_mm=150)
    shares = active[active["import_share"].notna()].sort_values(["import_share", "partner_code"],
                                                                ascending=[False, True]).head(15)
    if not shares.empty:
        report.heading("Largest partners by share of import volume", level=2)
        report.table(["Code", "Partner", "Type", "Country", "Share", "CTPAT / MRA", "Last assessment"],
                     [(r.partner_code, r.legal_name, r.entity_type, r.iso2, f"{r.import_share:.1f}%",
                       r.certificate_status, "" if pd.isna(r.last_assessed_on) else str(r.last_assessed_on))
                      for r in shares.itertuples()], widths=[14, 40, 16, 9, 9, 26, 16])


SECTION = Section(
    key="partners", order=20, sheet="Partners", title="Business partners",
    description="Every business partner with its entity type, country, CTPAT / mutual recognition status on the "
                "pack's day (the certificate rule, with its basis) and its last assessment.",
    columns=(Column("partner_code", "Partner code", 14), Column("legal_name", "Legal name", 36, Kind.wrap),
             Column("entity_type", "Entity type", 18), Column("iso2", "Country code", 9),
             Column("country", "Country", 18), Column("city", "City", 16), Column("status", "Status", 10),
             Column("criticality", "Criticality", 11), Column("import_share", "Import share %", 10, Kind.number),
             Column("certificate_status", "CTPAT / mutual recognition", 28, Kind.wrap),
             Column("certificate_basis", "Basis (certificate rule)", 50, Kind.wrap),
             Column("last_assessment", "Last assessment", 20), Column("last_assessed_on", "Assessed on", 12, Kind.date),
             Column("last_cycle", "In cycle", 22)),
    rows=rows, figures=figures, pdf=pdf,
)
