from __future__ import annotations

from django.db import models


class Criticality(models.TextChoices):
    """How much an asset matters; raises the severity of alerts about it (docs/ASSETS.md)."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Severity levels an alert is raised by, by the criticality of the asset it concerns.
# Only machines whose loss hurts the business lift an alert; a medium or low asset
# leaves the rule's own judgement alone (most of an inventory is medium, and lifting
# everything lifts nothing).
SEVERITY_RAISE: dict[str, int] = {
    Criticality.CRITICAL: 2,
    Criticality.HIGH: 1,
    Criticality.MEDIUM: 0,
    Criticality.LOW: 0,
}

RANK = {c: i for i, c in enumerate(Criticality.values)}
