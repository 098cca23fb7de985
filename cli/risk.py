"""Risk assessment step 3: ``score`` prints (or saves) every partner's and lane's threat, vulnerability and risk."""

import argparse
import json
from datetime import date

from cli.base import CLI, Context, arg, command
from models.risk import Band
from services.core import db
from services.core.permissions import ValidationError
from services.risk import assessment
from services.risk.config import LEVELS
from services.risk.scoring import distribution

SHOWN = ["rank", "partner_code", "legal_name", "country_iso2", "risk", "threat", "vulnerability",
         "vulnerability_score"]
LANE_SHOWN = ["rank", "code", "name", "risk", "threat", "vulnerability", "weakest"]


def risk_band(text: str) -> str:
    """An argparse type: a risk band in any case, as the scoring spells it."""
    bands = {b.value.casefold(): b.value for b in LEVELS}
    if text.strip().casefold() not in bands:
        raise argparse.ArgumentTypeError(f"'{text}' is not a risk band; choose High, Medium or Low")
    return bands[text.strip().casefold()]


def partners_by_risk(session, bands: list[str] | None, due: bool) -> list[int] | None:
    """The partners chosen by risk (services.risk.assessment), None when no risk option is given."""
    if not bands and not due:
        return None
    done = assessment.current(session=session, today=date.today())
    chosen = set(assessment.partners_in_bands(done, bands)) if bands else None
    if due:
        found = set(assessment.reassessment_due(done)["partner_id"].astype(int))
        chosen = found if chosen is None else chosen & found
    if not chosen:
        raise ValidationError("No active partner is in the chosen risk band(s) or due for reassessment; the cycle was "
                              "not opened.")
    return sorted(chosen)


def _records(frame, columns) -> list[dict]:
    out = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in out]


def _line(values: dict) -> str:
    return "  ".join(str(v if v is not None else "–") for v in values.values())


@command("score", "Score every partner and lane with the active configuration; print the bands or JSON, or save a "
                  "snapshot.",
         arg("--json", action="store_true", help="print every score as one JSON object"),
         arg("--snapshot", metavar="NAME", help="also save the scores as a dated assessment snapshot called NAME"),
         arg("--top", type=int, default=10, metavar="N", help="partners and lanes listed in the text output "
                                                              "(default 10)"))
def cmd_score(args: argparse.Namespace, ctx: Context) -> int:
    """Score every active partner and lane as of today with the active scoring configuration (the defaults until an
    admin saves one). The text output gives the bands per risk level and the riskiest partners and lanes; --json
    prints every score. --snapshot NAME saves them as an immutable assessment snapshot (the record for CBP)."""
    today = date.today()
    snapshot = None
    with db.session_scope(ctx.engine) as session:
        if args.snapshot is not None:
            saved = assessment.take_snapshot(session=session, actor=CLI, name=args.snapshot, today=today)
            snapshot = {"id": saved.id, "name": saved.name}
        done = assessment.current(session=session, today=today)
    partners, lanes = assessment.ranking(done)
    scores = done.scores
    version = done.version
    if args.json:
        print(json.dumps({
            "as_of": today.isoformat(), "configuration_version": version,
            "configuration": scores.config.replace(threat_unknown_as=scores.threat_unknown_as).to_dict(),
            "distribution": {"partners": distribution(partners), "lanes": distribution(lanes)},
            "partners": _records(partners, list(partners.columns)),
            "lanes": _records(lanes, list(lanes.columns)), "snapshot": snapshot,
        }, indent=2, default=str))
        return 0
    print(f"Scored {len(partners):,} active partners and {len(lanes):,} lanes as of {today.isoformat()} with "
          f"{'configuration version ' + str(version) if version else 'the default configuration'}.")
    for what, frame in (("Partners", partners), ("Lanes", lanes)):
        counts = distribution(frame)
        print(f"{what}: " + ", ".join(f"{band} {n:,}" for band, n in counts.items()))
    unknown = int((partners["vulnerability"] == Band.unknown).sum())
    print(f"Partners without accepted answers within {scores.config.answer_max_age_months} months (vulnerability "
          f"Unknown): {unknown:,}")
    if args.top > 0:
        print(f"\nRiskiest partners (top {min(args.top, len(partners))}):")
        for row in _records(partners.head(args.top), SHOWN):
            print("  " + _line(row))
        print(f"\nRiskiest lanes (top {min(args.top, len(lanes))}):")
        for row in _records(lanes.head(args.top), LANE_SHOWN):
            print("  " + _line(row))
    if snapshot:
        print(f"\nSaved snapshot '{snapshot['name']}' (id {snapshot['id']}).")
    return 0
