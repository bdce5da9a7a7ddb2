"""The detection engine: the compiled active rule set (``ruleset``), single-event matching
(``evaluate``), correlation windows kept in Redis (``windows``, ``correlations``)."""
