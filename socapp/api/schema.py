"""OpenAPI description of socapp's token authentication (drf-spectacular extension)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "socapp.authentication.ApiTokenAuthentication"
    name = "personalApiToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`socapp_pat_…`) from "
            "`manage.py token_create USERNAME`, or, where JWT_ENABLED, a JWT access token "
            "from `POST /api/v1/auth/token/`.",
        }


# ---- error answers ---------------------------------------------------------------------
# Every operation may refuse a request; the schema says how, so that clients (and the
# schemathesis run in the test suite) can tell a documented refusal from a bug. Views
# document their own special answers (ingest's 413, a report's 400); this hook adds the
# common ones they leave out.

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "What went wrong."}},
    "required": ["detail"],
}
_FIELD_ERRORS = {
    "type": "object",
    "description": "Field errors: each field named maps to its messages (a nested field "
    "to its own field errors); `detail` or `non_field_errors` for the request as a whole.",
    "additionalProperties": {},
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
ERROR_RESPONSES: dict[str, dict] = {
    "BadRequest": {"description": "Bad input, with the reason per field.", "schema": _FIELD_ERRORS},
    "Unauthorized": {"description": "Missing, unknown, expired or revoked credentials."},
    "Forbidden": {"description": "No role, or no permission for this."},
    "NotFound": {"description": "No such object that you may see (or no such page)."},
    "Conflict": {"description": "The change conflicts with existing data."},
    "UnsupportedMediaType": {"description": "A body of a content type this does not read."},
    "TooManyRequests": {"description": "Throttled; retry later.", "headers": _RETRY_AFTER},
    "ServiceUnavailable": {"description": "A dependency is down.", "headers": _RETRY_AFTER},
}
_WRITES = {"post", "put", "patch", "delete"}


def _error_codes(method: str, operation: dict) -> dict[str, str]:
    params = operation.get("parameters", [])
    codes = {
        "401": "Unauthorized",
        "403": "Forbidden",
        "429": "TooManyRequests",
        "503": "ServiceUnavailable",
    }
    if params or "requestBody" in operation:
        codes["400"] = "BadRequest"
    if any(p["in"] == "path" or p["name"] in ("page", "cursor") for p in params):
        codes["404"] = "NotFound"
    if method in _WRITES:
        codes["409"] = "Conflict"
    if "requestBody" in operation:
        codes["415"] = "UnsupportedMediaType"
    return codes


def add_error_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: document the common error answers."""
    components = result.setdefault("components", {})
    responses = components.setdefault("responses", {})
    for name, spec in ERROR_RESPONSES.items():
        body = spec.get("schema", {"$ref": "#/components/schemas/Error"})
        responses[name] = {
            "description": spec["description"],
            "content": {"application/json": {"schema": body}},
            **({"headers": spec["headers"]} if "headers" in spec else {}),
        }
    components.setdefault("schemas", {})["Error"] = _DETAIL
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            answers = operation.setdefault("responses", {})
            for code, name in _error_codes(method, operation).items():
                answers.setdefault(code, {"$ref": f"#/components/responses/{name}"})
    return result
