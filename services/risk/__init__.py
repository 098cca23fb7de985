"""Risk assessment step 3 and the scoring (CBP's 5-step process): vulnerability, threat as the scoring reads it, and
risk through a documented matrix, for every partner and lane at once.

- ``config``: the configuration (weights, thresholds, credit, matrix, overrides...) and its saved versions;
- ``inputs``: everything the scoring reads, loaded in one place (``inputs.load``, ``inputs.open_incidents``);
- ``scoring``: the pure, vectorised scoring (``scoring.score(inputs, config)``);
- ``explain``: why a band is what it is, in words;
- ``assessment``: the scores of the active configuration today, snapshots and their comparison, re-screening;
- ``site_visits``: site visits and their findings.
docs/RISK-METHOD.md explains the method.
"""
