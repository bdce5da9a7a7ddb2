"""Correlation services: rule management (``rules``, ``importing``) and running the engine
over committed batches (``engine``)."""

from .engine import batch_correlate, close_windows, correlate_events
from .importing import ImportReport, import_rules
from .rules import RuleUnsupported, rule_save, rule_set_active

__all__ = [
    "ImportReport",
    "RuleUnsupported",
    "batch_correlate",
    "close_windows",
    "correlate_events",
    "import_rules",
    "rule_save",
    "rule_set_active",
]
