"""What the alert and incident pages share: turning service refusals into messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(f"{m}" for ms in exc.message_dict.values() for m in ms)
    return " ".join(exc.messages)


def attempt(request: HttpRequest, change: Callable[[], Any], done: str) -> Any:
    """Run a service call; a refusal becomes a message on the next page, never a 500.
    PermissionDenied is left to Django (403)."""
    try:
        result = change()
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return None
    except PermissionDenied:
        raise
    if done:
        messages.success(request, done)
    return result


def form_errors(form: Any) -> str:
    return " ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())


def submit(request: HttpRequest, form_class: Any, change: Callable[[dict], Any], done: str) -> Any:
    """Validate the posted form (if the step has one), then run the service call with its
    data; either refusal becomes a message."""
    data: dict = {}
    if form_class is not None:
        form = form_class(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, form_errors(form))
            return None
        data = form.cleaned_data
    return attempt(request, lambda: change(data), done)
