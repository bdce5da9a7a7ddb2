"""``cloudtrail``: AWS CloudTrail records (one per object; ``{"Records": [...]}`` files are
opened up by events/readers.py). CloudTrail's own names stay at the top level
(``eventName``, ``userIdentity.type``, ``requestParameters``, ...) as Sigma's AWS rules
use them; ECS fields go beside them. ``eventID`` makes re-sent records duplicates.
"""

from __future__ import annotations

from typing import Any

from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    ip_or_none,
    json_raw,
    keep_originals,
    per_record,
    put,
)
from .jsonlog import as_object, read_time

AUTH_EVENTS = {
    "ConsoleLogin",
    "GetSessionToken",
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetFederationToken",
}
IAM_PREFIXES = ("Create", "Delete", "Attach", "Detach", "Put", "Update", "Add", "Remove")


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    trail = as_object(record)
    name = trail.get("eventName")
    if not isinstance(name, str) or "eventTime" not in trail:
        raise RecordError("not a CloudTrail record: no eventName/eventTime")
    doc: dict[str, Any] = {"event": {"kind": "event", "dataset": "aws.cloudtrail"}}
    put(doc, "event.action", name)
    put(doc, "event.provider", trail.get("eventSource"))
    put(doc, "event.id", trail.get("eventID"))
    put(doc, "cloud.provider", "aws")
    put(doc, "cloud.region", trail.get("awsRegion"))
    identity = found if isinstance(found := trail.get("userIdentity"), dict) else {}
    put(doc, "cloud.account.id", trail.get("recipientAccountId") or identity.get("accountId"))
    source = trail.get("sourceIPAddress")
    address = ip_or_none(source)
    put(doc, "source.ip", address)
    put(doc, "source.address", source)
    add_related(doc, "ip", address)
    put(doc, "user_agent.original", trail.get("userAgent"))
    user = identity.get("userName") or _session_issuer(identity)
    if not user and isinstance(arn := identity.get("arn"), str):
        user = arn.rsplit("/", 1)[-1]
    put(doc, "user.name", user)
    put(doc, "user.id", identity.get("principalId"))
    add_related(doc, "user", user)
    failed = bool(trail.get("errorCode")) or (
        isinstance(trail.get("responseElements"), dict)
        and trail["responseElements"].get("ConsoleLogin") == "Failure"
    )
    put(doc, "event.outcome", "failure" if failed else "success")
    if name in AUTH_EVENTS:
        put(doc, "event.category", ["authentication"])
    elif trail.get("eventSource") == "iam.amazonaws.com" and name.startswith(IAM_PREFIXES):
        put(doc, "event.category", ["iam"])
    put(doc, "error.code", trail.get("errorCode"))
    put(doc, "error.message", trail.get("errorMessage"))
    keep_originals(doc, trail, "aws_cloudtrail")
    raw = record.data if isinstance(record.data, str) else json_raw(trail)
    dedupe = f"cloudtrail:{trail['eventID']}" if trail.get("eventID") else None
    timestamp, claimed = read_time(trail["eventTime"], context)
    return ParsedEvent(
        timestamp=timestamp,
        claimed_time=claimed,
        event_type=f"cloudtrail_{name}"[:100],
        fields=doc,
        raw=raw,
        dedupe_key=dedupe,
    )


def _session_issuer(identity: dict[str, Any]) -> str | None:
    """The role or user behind temporary credentials (AssumedRole identities)."""
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
    return issuer.get("userName") if isinstance(issuer, dict) else None


parse = per_record(_parse, "cloudtrail")
