"""The detection engine, in one package:

- ``ruleset``: the compiled active rule set; ``evaluate``: single-event matching;
- ``windows`` (``runs``, ``spec``): correlation windows kept in Redis;
- ``correlate``: the entry points — a batch of events (``correlate_events``), the windows
  whose time is up (``close_windows``);
- ``recorder``: hits and firings become correlations and alerts; ``rows``: the
  correlation rows and their event links; ``suppression``: whether a hit folds into an
  alert already raised; ``stats``: each rule's statistics and quarantine.

Alerts leave the engine through ``correlation.handoff`` to case work."""
