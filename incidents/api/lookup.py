"""An incident in a URL by its id or by its number.

Analysts and tickets speak of INC-2026-0002, not of a UUID, so every API route that
names an incident (``/api/v1/incidents/{id}/`` and its actions, the incident report)
takes either. The number is looked up in the same visible queryset as the id, so an
incident of another team is a 404 by number too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

# INC-<year>-<sequence> (incidents.services.cases); the sequence grows past four digits.
NUMBER = re.compile(r"INC-[0-9]{4}-[0-9]+", re.IGNORECASE)
# What the router lets through to the view: a UUID or a number, anything else is a 404.
LOOKUP_REGEX = "[0-9a-fA-F-]{36}|[Ii][Nn][Cc]-[0-9]{4}-[0-9]+"

INCIDENT_ID_PARAMETER = OpenApiParameter(
    "id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The incident's id (a UUID) or its number (`INC-2026-0002`).",
    pattern=f"^(?:{LOOKUP_REGEX})$",
)

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    _Base = GenericAPIView[Any]
else:
    _Base = object


# Goes before the viewset in the bases; reads ``pk`` as an id or a number. The schema
# (socapp.api.autoschema) documents ``id`` with ``lookup_parameter``. (A comment, not a
# docstring: drf-spectacular would show a mixin's docstring as the API's description.)
class IncidentLookupMixin(_Base):
    lookup_url_kwarg = "pk"
    lookup_value_regex = LOOKUP_REGEX
    lookup_parameter = INCIDENT_ID_PARAMETER

    def get_object(self) -> Any:
        value = str(self.kwargs.get("pk", ""))
        if NUMBER.fullmatch(value):
            # Instance attributes: the class keeps looking up by id for the next request.
            self.lookup_field = "number"
            self.kwargs = {**self.kwargs, "pk": value.upper()}
        return super().get_object()
