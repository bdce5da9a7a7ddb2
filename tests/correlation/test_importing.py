"""``import_sigma`` reads a file as one whole: a correlation may come before the rules it
names, as in the Sigma specification's own examples."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from correlation.models import CorrelationRule

# The specification's example, in its order: the correlation that names the others first,
# then the correlation it names, then the detection rules they count.
SPEC_ORDER = """title: Multiple failed logons followed by a successful one
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: test
correlation:
  type: temporal_ordered
  rules:
    - multiple_failed_login
    - successful_login
  group-by:
    - User
  timespan: 1h
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
status: test
correlation:
  type: event_count
  rules:
    - failed_login
  group-by:
    - User
  timespan: 10m
  condition:
    gte: 10
level: medium
---
title: Single failed logon
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
status: test
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
level: low
---
title: Successful logon
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
status: test
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
  condition: selection
level: low
"""


@pytest.mark.django_db
def test_a_correlation_may_name_rules_defined_later_in_the_file(tmp_path, capsys) -> None:
    path = tmp_path / "spec_example.yml"
    path.write_text(SPEC_ORDER, encoding="utf-8")

    call_command("import_sigma", str(path))

    assert "imported 4, updated 0, unchanged 0, skipped 0, errors 0" in capsys.readouterr().out
    followed = CorrelationRule.objects.get(sigma_id="b180ead8-d58f-40b2-ae54-c8940995b9b6")
    counted = CorrelationRule.objects.get(sigma_name="multiple_failed_login")
    success = CorrelationRule.objects.get(sigma_name="successful_login")
    assert set(followed.uses.all()) == {counted, success}


@pytest.mark.django_db
def test_a_correlation_naming_a_rule_nowhere_still_fails_at_its_line(tmp_path, capsys) -> None:
    path = tmp_path / "dangling.yml"
    path.write_text(SPEC_ORDER.replace("- successful_login", "- no_such_rule"), encoding="utf-8")

    with pytest.raises(SystemExit):
        call_command("import_sigma", str(path))

    err = capsys.readouterr().err
    assert f"error {path}:6:" in err and "no_such_rule" in err
