"""The committed OpenAPI schema (docs/openapi.yaml) is the one the code serves."""

from __future__ import annotations

from io import StringIO

import yaml
from django.core.management import call_command

from tests.conftest import ROOT


def generated_schema() -> dict:
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_the_committed_schema_is_current():
    committed = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    assert generated_schema() == committed, "run `make schema` and commit docs/openapi.yaml"


def test_the_schema_documents_bearer_tokens_and_the_core_entities():
    schema = generated_schema()
    assert schema["components"]["securitySchemes"]["personalApiToken"]["scheme"] == "bearer"
    for path in (
        "/api/v1/alerts/",
        "/api/v1/incidents/",
        "/api/v1/events/",
        "/api/v1/incidents/{id}/assign/",
        "/api/v1/me/",
    ):
        assert path in schema["paths"]
