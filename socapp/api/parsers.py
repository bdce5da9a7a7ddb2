"""Request body parsers that refuse NUL characters, naming the field, and JSON nested
deeper than any API body needs (the standard library's decoder recurses: 100,000 `[`
would end in a RecursionError, a 500).

DRF's CharField already refuses NUL, but JSON fields, list and dict children and values a
view reads itself do not; checking the parsed body once, here, covers every field of
every endpoint (socapp/text.py says why). Query strings and paths are checked by
``socapp.middleware.RejectNulMiddleware``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.datastructures import MultiValueDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import DataAndFiles

if TYPE_CHECKING:  # the stubs' name for a QueryDict Django made immutable
    from django.http.request import _ImmutableQueryDict

from ..text import NUL_MESSAGE, nul_paths, printable

# No API body nests this deep (a rule test's event is the deepest, a log record's
# document); the ingest readers keep the same bound for records.
MAX_JSON_DEPTH = 64


def refuse_nul_in_body(*documents: Any) -> None:
    for document in documents:
        where = next(nul_paths(document), None)
        if where is not None:
            raise ValidationError({printable(where) or "non_field_errors": [NUL_MESSAGE]})


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds containers more than ``limit`` levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in _children(node))
    return False


def _children(node: dict | list) -> Any:
    return node.values() if isinstance(node, dict) else node


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        too_deep = f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if nested_deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(too_deep)
        refuse_nul_in_body(data)
        return data


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> _ImmutableQueryDict:
        data = super().parse(stream, media_type, parser_context)
        refuse_nul_in_body(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> DataAndFiles[_ImmutableQueryDict, MultiValueDict[str, UploadedFile]]:
        result = super().parse(stream, media_type, parser_context)
        refuse_nul_in_body(result.data, result.files)
        return result
