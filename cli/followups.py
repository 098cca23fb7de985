"""Follow-ups on the command line: ``send-followups``, safe to run from cron every hour (README, "Follow-ups")."""

import argparse
import sys

from cli.base import CLI, Context, arg, command, day
from services.core import config
from services.core.permissions import ValidationError
from services.followups import runner


@command("send-followups", "Queue the follow-ups due today (invitations, reminders, notices, escalations, "
         "certificate and company dates) and send the outbox by SMTP; safe to run from cron every hour.",
         arg("--dry-run", action="store_true", help="show what would be queued; write and send nothing"),
         arg("--today", type=day, metavar="YYYY-MM-DD", help="the day to run as (default: today)"),
         arg("--queue-only", action="store_true", help="queue what is due but send nothing"))
def cmd_send_followups(args: argparse.Namespace, ctx: Context) -> int:
    """Run the daily certificate check, queue every follow-up due on the day once per (kind, object, step), holding
    back those in a quiet period, of a paused partner or over the weekly cap, then send the outbox over SMTP
    (settings: .streamlit/secrets.toml [smtp] or CTPAT_SMTP_*; links from CTPAT_BASE_URL). Without SMTP settings
    the messages stay queued. Two runs at the same moment queue and send each message once."""
    try:
        smtp = config.smtp_settings()
    except ValueError as error:
        raise ValidationError(str(error)) from None
    report = runner.run(engine=ctx.engine, actor=CLI, today=args.today, dry_run=args.dry_run,
                        send=not args.queue_only, smtp=smtp)
    for line in report.lines():
        print(line)
    if report.sent is not None and report.sent.errors:
        for error in report.sent.errors[:20]:
            print(f"warning: {error}", file=sys.stderr)
    return 0
