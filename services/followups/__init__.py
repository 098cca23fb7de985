"""Automatic follow-ups by e-mail: one engine, one small rule per kind of follow-up.

- ``rules``: the registry; each rule finds, in one query, the messages of its kind due on a day (services.followups
  .rules.RULES). Adding a kind of follow-up is one new rule there, one member of models.followups.FollowupKind and
  its texts in the catalogue.
- ``engine``: plans what is due (with what holds it back: quiet periods, a paused partner, the weekly cap, a
  missing address) and queues it, each message once per (kind, object, step).
- ``outbox``: the queued messages, claimed by one sender at a time; ``mail`` sends them over SMTP.
- ``templates``: subject, plain text and HTML per kind and language (catalogue defaults, admins' edits).
- ``quiet``, ``pauses``, ``settings``: what the rules and the engine read.

``manage.py send-followups`` (cli/followups.py) runs it all from cron; the Follow-ups page shows and steers it.
"""
