"""Handlers that carry out response actions and notifications at a connector.

The contract (docs/RESPONSE.md): a handler is a function ``(connector, message) ->
Outcome``. It delivers ``message`` to ``connector`` once, within
``connector.timeout_seconds``, and reports what happened. It may raise: the caller
records the exception as a failure. Handlers never touch the database; the services
record everything. ``settings.RESPONSE_HANDLERS`` maps a connector kind to a handler's
dotted path, so a deployment can replace one or add a kind without changing socapp.
"""

from .contract import Message, Outcome, deliver, handler_for

__all__ = ["Message", "Outcome", "deliver", "handler_for"]
