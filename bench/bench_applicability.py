"""What each partner is asked (services.reference.applicability) at scale, against the old per-type query.

Run: .venv/bin/python bench/bench_applicability.py [--partners 10000] [--repeat 7]
Seeds partners of every entity type in six countries (one in seven with its own role flag), then times, medians of
--repeat runs: one partner's questions (what the questionnaire pages ask on each save and submit), the question sets
and the long form for all partners (workbook, answer import, demo). The baseline is the query the questionnaire used
before role flags (one entity type's rows that apply, no roles), measured in the same run. Prints a markdown table
and writes bench/results/applicability.json.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402

from models import Criterion, CriterionApplicability, Partner  # noqa: E402
from models.common import ENTITY_TYPES, utcnow  # noqa: E402
from services.core import db  # noqa: E402
from services.reference import applicability  # noqa: E402
from services.reference import loader as reference  # noqa: E402

COUNTRIES = ("CN", "MX", "US", "VN", "CA", "DE")


def seed(url: str, partners: int) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    now = utcnow()
    with db.session_scope(engine) as s:
        reference.load_reference_data(session=s)
        s.exec(insert(Partner), params=[{
            "partner_code": f"P{i:06d}", "legal_name": f"Partner {i}", "normalized_name": f"partner {i}",
            "entity_type": ENTITY_TYPES[i % len(ENTITY_TYPES)], "country_iso2": COUNTRIES[i % len(COUNTRIES)],
            "stuffs_containers": False if i % 7 == 0 else None, "created_at": now, "updated_at": now}
            for i in range(partners)])
    engine.dispose()


def per_type_query(session: Session, entity_type: str) -> list:
    """The questionnaire's query before role flags: an entity type's criteria that apply, in questionnaire order."""
    rows = session.exec(
        select(Criterion.criterion_id, Criterion.category_number, Criterion.category,
               func.coalesce(func.nullif(CriterionApplicability.requirement, ""), Criterion.requirement)
               .label("requirement"), Criterion.summary, Criterion.sort_key)
        .join(CriterionApplicability, col(CriterionApplicability.criterion_id) == Criterion.criterion_id)
        .where(CriterionApplicability.entity_type == entity_type, CriterionApplicability.applies == "yes")).all()
    return sorted(rows, key=lambda r: (r.category_number, r.requirement != "must", r.sort_key))


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        seed(url, args.partners)
        engine = db.make_engine(url)
        with Session(engine) as s:
            ids = s.exec(select(Partner.id).order_by(Partner.id)).all()
            one = ids[len(ids) // 2]
            single = 50 * args.repeat
            results = {
                "baseline: per-type query, one partner": median_seconds(
                    lambda: per_type_query(s, "Foreign Manufacturer"), single),
                "questions_for_partner, one partner": median_seconds(
                    lambda: applicability.questions_for_partner(session=s, partner_id=one), single),
                "applicable_criteria_for_partner (DataFrame), one partner": median_seconds(
                    lambda: applicability.applicable_criteria_for_partner(session=s, partner_id=one), single),
                f"question_sets_for_partners, {len(ids):,} partners": median_seconds(
                    lambda: applicability.question_sets_for_partners(session=s, partner_ids=ids), args.repeat),
                f"applicable_criteria_for_partners, {len(ids):,} partners": median_seconds(
                    lambda: applicability.applicable_criteria_for_partners(session=s, partner_ids=ids), args.repeat),
            }
            rows = len(applicability.applicable_criteria_for_partners(session=s, partner_ids=ids))
        engine.dispose()
    base = results["baseline: per-type query, one partner"]
    print(f"| measure ({rows:,} partner-criterion rows) | ms | ratio to baseline |\n|---|---|---|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds * 1000:.1f} | {seconds / base:.1f} |")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "applicability.json").write_text(json.dumps({"partners": args.partners, "rows": rows, **results},
                                                       indent=2))


if __name__ == "__main__":
    main()
