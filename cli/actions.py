"""The action plan on the command line: ``actions generate [--dry-run]`` and ``actions due``.

Generating is idempotent and safe to run from cron (two runs at once never create an item twice); ``due`` lists the
items their owners still have to act on that are overdue or due soon. Exit code 2 and nothing written on bad input.
"""

import argparse
import json
from datetime import date

from cli.base import CLI, Context, arg, command, day
from services.actions import generate, items
from services.core import db

SHOWN = 50  # new items listed by a dry run



def _generate(args: argparse.Namespace, ctx: Context) -> int:
    with db.session_scope(ctx.engine) as session:
        report = generate.generate(session=session, actor=CLI, today=args.today, dry_run=args.dry_run,
                                   default_owner=args.owner)
        if args.dry_run:
            session.rollback()
    if args.json:
        print(json.dumps({"dry_run": report.dry_run, "created": report.created, "returned_causes": report.returned,
                          "tracked": report.tracked, "gone": report.gone, "back": report.back}))
        return 0
    print(("Dry run: " if report.dry_run else "") + report.summary())
    if report.dry_run and report.total:
        print()
        for row in report.new.head(SHOWN).itertuples():
            print(f"  {row.priority}  {row.cause_key}  {row.title}")
        if report.total > SHOWN:
            print(f"  ... and {report.total - SHOWN:,} more")
        print("Dry run: nothing was written.")
    return 0


def _due(args: argparse.Namespace, ctx: Context) -> int:
    with db.session_scope(ctx.engine) as session:
        found = items.due_and_overdue(session=session, today=args.today or date.today(), within_days=args.within)
    if args.json:
        print(found.to_json(orient="records", date_format="iso"))
        return 0
    overdue = int(found["past_due"].sum())
    print(f"{len(found):,} action item(s) overdue or due within {args.within} days ({overdue:,} overdue).")
    for row in found.itertuples():
        when = f"overdue {-row.days_left} d" if row.past_due else f"due in {row.days_left} d"
        print(f"  #{row.id}  {row.due_date}  {when:<15} {row.owner or '(unassigned)':<14} "
              f"{row.partner_code or '-':<12} {row.title}")
    return 0


@command("actions", "The action plan: 'generate' action items from gaps, lane flags, incidents and High threats; "
         "'due' lists items overdue or due soon.",
         arg("what", choices=["generate", "due"], help="generate: create the missing items; due: list due items"),
         arg("--dry-run", action="store_true", help="generate: show what would be created; write nothing"),
         arg("--owner", metavar="USERNAME", help="generate: owner of new items whose partner has no internal owner"),
         arg("--today", type=day, metavar="YYYY-MM-DD", help="the day to work as (default: today)"),
         arg("--within", type=int, default=7, metavar="DAYS", help="due: days ahead (default 7)"),
         arg("--json", action="store_true", help="print the result as JSON"))
def cmd_actions(args: argparse.Namespace, ctx: Context) -> int:
    """generate: create an action item for every cause without one (unmet must criteria first, then partial must,
    then unmet should; lane flags; open incidents; High threats without a mitigation). Running it again creates
    nothing new; a closed item stays closed, and a cause that returns after closing gets a new item
    (docs/ACTIONS.md). due: the items their owners still have to act on, overdue first."""
    return _generate(args, ctx) if args.what == "generate" else _due(args, ctx)
