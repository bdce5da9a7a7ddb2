"""OpenAPI description of socapp's token authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "socapp.authentication.ApiTokenAuthentication"
    name = "personalApiToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`socapp_pat_…`) from "
            "`manage.py token_create USERNAME`.",
        }
