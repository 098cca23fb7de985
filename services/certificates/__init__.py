"""Partners' certificates and mutual recognition.

- ``rule``: the one rule that decides whether a certificate counts on a day (exemption and scoring credit alike),
  vectorised over many certificates, with a single certificate's explanation in words;
- ``records``: recording certificates, their verifications, status changes and evidence (audited);
- ``exemption``: partners that lose their exemption during an open cycle join it;
- ``monitor``: the daily check (expiries, stale verifications) that records the loss events;
- ``coverage``: who is covered, by country and entity type, and the lists to act on;
- ``imports``: certificates from CSV/XLSX files (preview, all or nothing);
- ``settings``: the rule's settings (re-check interval, notice for a late join).
"""
