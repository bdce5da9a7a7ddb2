from django.db import models


class SeverityName(models.TextChoices):
    """Sigma's ``level`` values, which are also the severities of alerts (the
    incidents app reads them from here: detection defines what it raises)."""

    INFORMATIONAL = "informational", "Informational"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class RuleType(models.TextChoices):
    """What a rule does. Sigma's types, with the seed's names in the labels."""

    DETECTION = "detection", "Detection (single event)"
    EVENT_COUNT = "event_count", "Event count (threshold)"
    VALUE_COUNT = "value_count", "Value count (distinct count)"
    TEMPORAL = "temporal", "Temporal (all within window)"
    TEMPORAL_ORDERED = "temporal_ordered", "Temporal ordered (sequence)"
    VALUE_SUM = "value_sum", "Value sum"
    VALUE_AVG = "value_avg", "Value average"
    VALUE_PERCENTILE = "value_percentile", "Value percentile"
    IOC_MATCH = "ioc_match", "IOC match"
    ANOMALY = "anomaly", "Behaviour anomaly"


class RuleStatus(models.TextChoices):
    """Sigma ``status``."""

    STABLE = "stable", "Stable"
    TEST = "test", "Test"
    EXPERIMENTAL = "experimental", "Experimental"
    DEPRECATED = "deprecated", "Deprecated"
    UNSUPPORTED = "unsupported", "Unsupported"


class SuppressionMode(models.TextChoices):
    """How further hits of a rule fold into an alert already raised for the same key."""

    NONE = "none", "None: every hit is its own alert"
    WINDOW = "window", "Per time window (from the first hit)"
    UNTIL_CLOSED = "until_closed", "Until the alert is closed"
    RISES = "rises", "Re-alert only when the count or severity rises"
