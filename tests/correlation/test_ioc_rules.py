"""IOC-match rules beyond the default pack's: the ``ioc_match`` setting is validated like
the other engine settings, and too many active indicators is an engine-health alert once
per episode."""

from __future__ import annotations

import pytest

from correlation.services.health import check_indicator_cap
from correlation.services.rules import rule_save
from correlation.sigma.documents import RuleInvalid
from incidents.models import Alert
from intel.models import IOC
from tests.factories import ThreatIntelFactory

pytestmark = pytest.mark.django_db

RULE = """
title: High-confidence feed hits
logsource: {category: any}
detection:
  selection:
    threat.enrichments|exists: true
  condition: selection
level: high
socapp:
  ioc_match: %s
"""


def test_ioc_match_is_true_or_false(reference_data):
    rule = rule_save(actor=None, definition=RULE % "true")
    assert rule.level == "high"
    with pytest.raises(RuleInvalid, match="ioc_match must be true or false"):
        rule_save(actor=None, definition=RULE % "'yes'")


def test_more_indicators_than_the_cap_is_alerted_once_per_episode(reference_data, settings):
    from socapp.kv import kv

    kv().delete("socapp:intel:cap-episode")
    settings.INTEL_MATCH_MAX_INDICATORS = 2
    feed = ThreatIntelFactory()
    IOC.objects.bulk_create(
        [IOC(intel=feed, ioc_type="ipv4", value=f"198.51.100.{n}") for n in range(1, 4)]
    )
    assert check_indicator_cap() is True
    assert check_indicator_cap() is False  # the same episode
    alert = Alert.objects.get()
    assert alert.details["engine_health"] and "3 indicators are active" in alert.description
    IOC.objects.filter(value="198.51.100.3").delete()
    assert check_indicator_cap() is False  # over: the next excess alerts again
    assert kv().get("socapp:intel:cap-episode") is None
