from __future__ import annotations

import pytest
from django.test import Client

from incidents.services import alert_create
from tests.factories import severity


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def raise_alert(team, title: str = "SSH brute force", level: str = "high", **entities):
    """An alert as the engine would raise it, about ``entities`` (ECS field names)."""
    fields = {k.replace("__", "."): v for k, v in entities.items()}
    return alert_create(
        title=title, severity=severity(level), team=team, details={"entities": fields}
    )


@pytest.fixture
def case_templates(reference_data):
    from socapp.roof.bootstrap import BootstrapReport, ensure_case_templates

    ensure_case_templates(BootstrapReport())
