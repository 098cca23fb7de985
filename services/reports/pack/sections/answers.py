"""Every current answer of the cycles in the pack, streamed from the database in chunks."""

from sqlalchemy import String, func, type_coerce
from sqlmodel import col, select

from models import Answer, Assignment, Criterion, Cycle, Evidence, Partner
from services.reports.pack.base import CHUNK_ROWS, Column, Kind, PackContext, Section, records
from services.reports.pack.sections.questionnaires import cycles

_COLUMNS = ["cycle", "partner_code", "criterion_id", "category", "requirement", "value", "comment", "answered_on",
            "source", "answered_by", "recorded_at", "assignment_id"]


def rows(ctx: PackContext):
    ids = cycles(ctx)["cycle_id"].tolist()
    if not ids:
        return
    evidence = _evidence_counts(ctx, ids)
    # Words and times as the driver gives them (times are read by pandas): turning 500,000 of them into enum
    # members and aware datetimes one by one costs seconds.
    stmt = (select(Cycle.name, Partner.partner_code, Answer.criterion_id, Criterion.category, Criterion.requirement,
                   type_coerce(Answer.value, String), Answer.comment, Answer.answered_on,
                   type_coerce(Answer.source, String), Answer.answered_by,
                   type_coerce(Answer.recorded_at, String), Answer.assignment_id)
            .join(Assignment, col(Assignment.id) == Answer.assignment_id)
            .join(Cycle, col(Cycle.id) == Assignment.cycle_id)
            .join(Partner, col(Partner.id) == Assignment.partner_id)
            .join(Criterion, col(Criterion.criterion_id) == Answer.criterion_id)
            .where(col(Answer.is_current), col(Assignment.cycle_id).in_(ids))
            .order_by(Cycle.created_at, Cycle.id, Partner.partner_code, Criterion.sort_key)
            .execution_options(yield_per=CHUNK_ROWS))
    result = ctx.session.connection().execute(stmt)
    for part in result.partitions():
        frame = records(part, _COLUMNS)
        if evidence:
            keys = zip(frame["assignment_id"].tolist(), frame["criterion_id"].tolist(), strict=True)
            frame["evidence"] = [evidence.get(k, 0) for k in keys]
        else:
            frame["evidence"] = 0
        yield frame


def _evidence_counts(ctx: PackContext, cycle_ids: list[int]) -> dict[tuple[int, str], int]:
    found = ctx.session.exec(
        select(Evidence.assignment_id, Evidence.criterion_id, func.count())
        .join(Assignment, col(Assignment.id) == Evidence.assignment_id)
        .where(col(Assignment.cycle_id).in_(cycle_ids)).group_by(Evidence.assignment_id, Evidence.criterion_id)
    ).all()
    return {(a, c): n for a, c, n in found}


SECTION = Section(
    key="answers", order=40, sheet="Answers", title="Answers per cycle",
    description="Every partner's current answer per criterion, per cycle: the answer, comment, date, the path it "
                "came through, who gave it and when it was recorded, and how many evidence files back it (listed on "
                "the Evidence sheet).",
    columns=(Column("cycle", "Cycle", 20), Column("partner_code", "Partner code", 14),
             Column("criterion_id", "Criterion", 9), Column("category", "Category", 22),
             Column("requirement", "Must/should", 10), Column("value", "Answer", 9),
             Column("comment", "Comment", 50, Kind.wrap), Column("answered_on", "Answered on", 11, Kind.date),
             Column("source", "Came through", 10), Column("answered_by", "Answered by", 18),
             Column("recorded_at", "Recorded (UTC)", 17, Kind.datetime),
             Column("evidence", "Evidence files", 9, Kind.integer)),
    rows=rows,
)
