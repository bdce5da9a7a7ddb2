"""Request body parsers that refuse NUL characters, naming the field.

DRF's CharField already refuses NUL, but JSON fields, list and dict children and values a
view reads itself do not; checking the parsed body once, here, covers every field of
every endpoint (socapp/text.py says why). Query strings and paths are checked by
``socapp.middleware.RejectNulMiddleware``.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ValidationError

from ..text import NUL_MESSAGE, nul_paths, printable


def refuse_nul_in_body(*documents: Any) -> None:
    for document in documents:
        where = next(nul_paths(document), None)
        if where is not None:
            raise ValidationError({printable(where) or "non_field_errors": [NUL_MESSAGE]})


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        data = super().parse(stream, media_type, parser_context)
        refuse_nul_in_body(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None) -> QueryDict:  # type: ignore[no-untyped-def]
        data = super().parse(stream, media_type, parser_context)
        refuse_nul_in_body(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        result = super().parse(stream, media_type, parser_context)
        refuse_nul_in_body(result.data, result.files)
        return result
