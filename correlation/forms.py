"""Forms of the rule pages (the editor, its Test panel, the backtest form)."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from socapp.models import Team

RULE_TEMPLATE = """title: A short, specific title
id: {id}
status: experimental
description: What this rule finds, and why it matters.
logsource:
  product: linux
  service: sshd
detection:
  selection:
    event.action: ssh_login
    event.outcome: failure
  condition: selection
level: medium
"""


class RuleForm(forms.Form):
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
        help_text="One Sigma rule (detection or correlation), in YAML.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        help_text="The team its alerts belong to (empty: the team of the event's source).",
    )


class TryForm(forms.Form):
    event = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text="One normalized event as JSON (copy it from an event's details).",
    )
    raw = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_event(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["event"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("An event is a JSON object.")
        return value


class BacktestForm(forms.Form):
    since = forms.CharField(initial="7d", help_text="ISO 8601, or relative: 30m, 24h, 7d.")
    until = forms.CharField(initial="0s", required=False, help_text="Default: now.")
