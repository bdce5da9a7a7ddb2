"""Correlation services: rule management (``rules``, ``importing``) and running the engine
over committed batches (``batches``, with the engine package ``correlation.engine``) and
over history (``backtest``)."""

from ..engine.correlate import close_windows, correlate_events
from .backtest import BacktestError, BacktestResult, parse_moment, rule_backtest
from .batches import batch_correlate
from .health import check_correlation_lag, rule_disable_over_budget
from .importing import ImportReport, import_rules
from .rules import RuleUnsupported, rule_save, rule_set_active
from .trying import EventTooLarge, TryResult, rule_try

__all__ = [
    "BacktestError",
    "BacktestResult",
    "EventTooLarge",
    "ImportReport",
    "RuleUnsupported",
    "TryResult",
    "batch_correlate",
    "check_correlation_lag",
    "close_windows",
    "correlate_events",
    "import_rules",
    "parse_moment",
    "rule_backtest",
    "rule_disable_over_budget",
    "rule_save",
    "rule_set_active",
    "rule_try",
]
