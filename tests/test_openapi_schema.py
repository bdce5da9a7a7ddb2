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


API_SERIALIZER_MODULES = [
    f"{app}.api.serializers"
    for app in ("socapp", "assets", "intel", "events", "incidents", "correlation")
]


def _model_serializers():
    from importlib import import_module

    from rest_framework import serializers

    for module_name in API_SERIALIZER_MODULES:
        for obj in vars(import_module(module_name)).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, serializers.ModelSerializer)
                and obj.__module__ == module_name
            ):
                yield obj


def test_a_field_read_from_a_nullable_column_is_nullable_in_the_schema():
    """Declared read-only fields (`SlugRelatedField(read_only=True)`) do not inherit the
    column's `null`: 25 operations answered `null` where the schema promised a string."""
    from django.core.exceptions import FieldDoesNotExist
    from django.db.models import ForeignObjectRel, ManyToManyField

    wrong = []
    for serializer_class in _model_serializers():
        model = serializer_class.Meta.model
        for name, field in serializer_class().fields.items():
            try:
                column = model._meta.get_field(field.source.split(".")[0])
            except FieldDoesNotExist:
                continue
            if isinstance(column, ManyToManyField | ForeignObjectRel):
                continue  # a list, empty rather than null
            if column.null and not field.allow_null:
                wrong.append(f"{serializer_class.__name__}.{name}")
    assert wrong == []


def test_every_operation_documents_its_refusals():
    schema = generated_schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert {"401", "403", "429", "503"} <= set(answers), (method, path)
            if "{" in path:
                assert "404" in answers, (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= set(answers), (method, path)
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]


def test_every_operation_has_a_tag_of_its_resource_and_a_summary():
    """/api/docs/ groups operations by resource and names each one: drf-spectacular's
    default put all of them under "api" with no summary."""
    schema = generated_schema()
    declared = [tag["name"] for tag in schema["tags"]]
    unlabelled = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            tags, summary = operation.get("tags", []), operation.get("summary", "").strip()
            if len(tags) != 1 or tags[0] not in declared or tags[0] == "api" or not summary:
                unlabelled.append(f"{method.upper()} {path}: {tags} {summary!r}")
    assert unlabelled == []
    assert len(declared) == len(set(declared)) >= 10
    tag_of = {
        path: item["get"]["tags"][0] for path, item in schema["paths"].items() if "get" in item
    }
    assert tag_of["/api/v1/alerts/"] == "Alerts"
    assert tag_of["/api/v1/incidents/{id}/timeline/"] == "Incidents"
    assert tag_of["/api/v1/quarantine/"] == "Ingest"
    assert schema["paths"]["/api/v1/alerts/"]["get"]["summary"] == "List alerts"


def test_the_schema_says_an_incident_is_named_by_id_or_number_and_a_rule_by_name():
    schema = generated_schema()
    for path in ("/api/v1/incidents/{id}/", "/api/v1/incidents/{id}/comments/",
                 "/api/v1/reports/incident/{id}/"):  # fmt: skip
        (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "path"]
        assert parameter["schema"]["type"] == "string" and "format" not in parameter["schema"]
        assert "number" in parameter["description"], path
    alerts = schema["paths"]["/api/v1/alerts/"]["get"]["parameters"]
    (rule,) = [p for p in alerts if p["name"] == "rule"]
    assert rule["schema"] == {"type": "string"} and "Sigma name" in rule["description"]
