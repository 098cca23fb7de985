"""Site visits to partners (MSC 3.5) with their findings: one row per finding, the visit's details repeated, and one
row for a visit without findings (services.risk.site_visits)."""

import pandas as pd
from sqlmodel import col, select

from models import Criterion, Partner, PartnerSite, SiteVisit, SiteVisitFinding
from models.collection import AnswerValue
from services.reports.pack.base import Column, Kind, PackContext, Section, chunked, records
from services.risk.site_visits import FINDING_LABELS

_COLUMNS = ["visit_id", "partner_code", "legal_name", "site", "visited_on", "visited_by", "notes", "criterion_id",
            "requirement", "summary", "finding", "finding_note", "recorded_by", "recorded_at", "sort_key"]


def visits(ctx: PackContext) -> pd.DataFrame:
    def load() -> pd.DataFrame:
        found = ctx.session.exec(
            select(SiteVisit.id, Partner.partner_code, Partner.legal_name, PartnerSite.name, SiteVisit.visited_on,
                   SiteVisit.visited_by, SiteVisit.notes, SiteVisitFinding.criterion_id, Criterion.requirement,
                   Criterion.summary, SiteVisitFinding.finding, SiteVisitFinding.note, SiteVisit.recorded_by,
                   SiteVisit.recorded_at, Criterion.sort_key)
            .join(Partner, col(Partner.id) == SiteVisit.partner_id)
            .outerjoin(PartnerSite, col(PartnerSite.id) == SiteVisit.site_id)
            .outerjoin(SiteVisitFinding, col(SiteVisitFinding.visit_id) == SiteVisit.id)
            .outerjoin(Criterion, col(Criterion.criterion_id) == SiteVisitFinding.criterion_id)).all()
        frame = records(found, _COLUMNS)
        if frame.empty:
            return frame
        frame["finding"] = frame["finding"].map(lambda v: FINDING_LABELS.get(v, "") if v is not None else
                                                "no findings recorded")
        frame["requirement"] = frame["requirement"].map(lambda v: "" if v is None else str(v))
        frame["site"] = frame["site"].fillna("")
        frame["_day"] = pd.to_datetime(frame["visited_on"])
        frame["_order"] = frame["sort_key"].fillna(-1)
        return frame.sort_values(["_day", "visit_id", "_order"], ascending=[False, False, True],
                                 kind="stable").drop(columns=["_day", "_order"]).reset_index(drop=True)
    return ctx.shared("site_visits", load)


def rows(ctx: PackContext):
    yield from chunked(visits(ctx))


def figures(ctx: PackContext) -> list[tuple[str, str]]:
    frame = visits(ctx)
    if frame.empty:
        return [("Site visits on record", "0")]
    unmet = frame["finding"].isin([FINDING_LABELS[AnswerValue.no], FINDING_LABELS[AnswerValue.partial]])
    return [("Site visits on record (partners visited)",
             f"{frame['visit_id'].nunique():,} ({frame['partner_code'].nunique():,})"),
            ("Site-visit findings not met or partly met", f"{int(unmet.sum()):,}")]


SECTION = Section(
    key="site_visits", order=74, sheet="Site visits", title="Site visits",
    description="Every visit to a partner's site (MSC 3.5 due diligence), newest first, with one row per finding "
                "(criterion, met / partly met / not met / not applicable, note); a finding overrides what the "
                "partner reported for that criterion in the scoring.",
    columns=(Column("visit_id", "Visit", 7, Kind.integer), Column("visited_on", "Visited on", 11, Kind.date),
             Column("partner_code", "Partner code", 14), Column("legal_name", "Partner", 28, Kind.wrap),
             Column("site", "Site", 20, Kind.wrap), Column("visited_by", "Visited by", 20, Kind.wrap),
             Column("notes", "Visit notes", 36, Kind.wrap), Column("criterion_id", "Criterion", 9),
             Column("requirement", "Must / should", 9), Column("summary", "Criterion text", 40, Kind.wrap),
             Column("finding", "Finding", 14), Column("finding_note", "Finding note", 36, Kind.wrap),
             Column("recorded_by", "Recorded by", 12), Column("recorded_at", "Recorded (UTC)", 17, Kind.datetime)),
    rows=rows, figures=figures,
)
