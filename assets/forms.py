"""The console's asset form: text boxes for the lists (one value per line or separated
by spaces or commas); the services make them canonical and check them."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms

from socapp.models import Team

from .choices import Criticality
from .models import AssetType
from .services import MAX_ATTRIBUTES_BYTES

_SPLIT = re.compile(r"[\s,;]+")
LIST_TEXT_MAX = 8_000


def _list_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=LIST_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        help_text="One per line, or separated by spaces or commas.",
    )


class AssetForm(forms.Form):
    name = forms.CharField(max_length=255)
    asset_type = forms.ModelChoiceField(queryset=AssetType.objects.all(), label="Type")
    criticality = forms.ChoiceField(choices=Criticality.choices, initial=Criticality.MEDIUM)
    ip_addresses = _list_field("IP addresses")
    hostnames = _list_field("Host names")
    mac_addresses = _list_field("MAC addresses")
    operating_system = forms.CharField(max_length=255, required=False, label="OS")
    owner = forms.CharField(max_length=255, required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    tags = _list_field("Tags")
    attributes = forms.CharField(
        required=False,
        max_length=MAX_ATTRIBUTES_BYTES,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text="A JSON object, checked against the type's schema.",
    )

    def clean_attributes(self) -> dict[str, Any]:
        text = self.cleaned_data["attributes"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError("Not JSON.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("A JSON object is expected.")
        return value

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("asset_type")
        for key in ("ip_addresses", "hostnames", "mac_addresses", "tags"):
            data[key] = [v for v in _SPLIT.split(data[key]) if v]
        return data


def initial_of(asset: Any) -> dict[str, Any]:
    return {
        "name": asset.name,
        "asset_type": asset.asset_type_id,
        "criticality": asset.criticality,
        "ip_addresses": "\n".join(asset.ip_addresses),
        "hostnames": "\n".join(asset.hostnames),
        "mac_addresses": "\n".join(asset.mac_addresses),
        "operating_system": asset.operating_system,
        "owner": asset.owner,
        "team": asset.team_id,
        "tags": " ".join(asset.tags),
        "attributes": json.dumps(asset.attributes, indent=1) if asset.attributes else "",
    }


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, UTF-8, at most 5 MiB and 10,000 rows.")


class VulnImportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[
            ("nessus", "Nessus (.nessus)"),
            ("openvas", "OpenVAS / Greenbone XML"),
            ("csv", "CSV"),
        ]
    )
    file = forms.FileField(help_text="At most 32 MiB.")
