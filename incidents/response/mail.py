"""E-mail through Django's configured mail backend (SMTP in production)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .contract import Message, Outcome


def deliver(connector: Any, message: Message) -> Outcome:
    if not connector.recipients:
        return Outcome(False, "The connector has no recipients.", {})
    email = EmailMessage(
        subject=message.subject[:250],
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(connector.recipients),
        headers={"X-Socapp-Delivery": message.delivery_id},
        connection=get_connection(timeout=connector.timeout_seconds),
    )
    sent = email.send(fail_silently=False)
    detail = {"recipients": list(connector.recipients), "sent": sent}
    return Outcome(sent == 1, f"E-mail to {', '.join(connector.recipients)}", detail)
