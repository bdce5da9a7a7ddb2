"""Anchors of the audit chain: signed checkpoints of its head, kept where deleting the
newest entries cannot reach them all.

The chain detects an edited or removed entry *inside* it, but deleting the newest
entries (or truncating the table) leaves a shorter chain that is perfectly intact. An
anchor records, every few minutes, the head's sequence number and MAC and the number
of entries, signed with the chain's key. Anchors are kept in three places: the
append-only ``AuditAnchor`` table (guarded like the log), a JSON line on the
``socapp.audit.anchor`` logger (the log stream leaves the machine), and whatever an
operator exports (``manage.py audit_anchor --export``). ``audit_verify`` holds the
chain against all of them: a chain shorter than an anchor saw, or whose entry at an
anchored position is not the one the anchor saw, is reported with what is missing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .audit import GENESIS_MAC, ChainProblem, ChainWalk
from .models import AuditAnchor, AuditEntry

logger = logging.getLogger("socapp.audit.anchor")

LINE_TYPE = "socapp.audit_anchor"
_SIGNING_CONTEXT = b"socapp audit anchor v1\n"


@dataclass(frozen=True)
class Anchor:
    at: datetime
    head_seq: int
    head_mac: str
    count: int
    signature: str
    origin: str  # "the anchor table" or "line N of the anchor file"

    @property
    def when(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _signed_body(at: datetime, head_seq: int, head_mac: str, count: int) -> bytes:
    body = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "head_seq": head_seq,
        "head_mac": head_mac,
        "count": count,
    }
    return _SIGNING_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def anchor_signature(at: datetime, head_seq: int, head_mac: str, count: int) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, _signed_body(at, head_seq, head_mac, count), hashlib.sha256).hexdigest()


def anchor_line(anchor: AuditAnchor) -> str:
    """The anchor as one JSON line: what is logged and exported, and what
    ``audit_verify --anchors`` reads back."""
    return json.dumps(
        {
            "type": LINE_TYPE,
            "at": anchor.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "head_seq": anchor.head_seq,
            "head_mac": anchor.head_mac,
            "count": anchor.entry_count,
            "signature": anchor.signature,
        },
        separators=(",", ":"),
    )


def audit_anchor_write() -> AuditAnchor:
    """Checkpoint the chain's head now: store the anchor and log it."""
    with transaction.atomic():
        head_seq, head_mac = AuditEntry.objects.order_by("-seq").values_list(
            "seq", "mac"
        ).first() or (0, GENESIS_MAC)
        # Entries are numbered under the chain's lock and commit in order, so every
        # entry up to a visible head is visible too: this count is of one moment.
        count = AuditEntry.objects.filter(seq__lte=head_seq).count()
        previous = AuditAnchor.objects.order_by("-at", "-id").first()
        now = timezone.now()
        anchor = AuditAnchor.objects.create(
            at=now,
            head_seq=head_seq,
            head_mac=head_mac,
            entry_count=count,
            signature=anchor_signature(now, head_seq, head_mac, count),
        )
    logger.info(anchor_line(anchor))
    if previous is not None and previous.head_seq > head_seq:
        logger.error(
            "the audit log went back from #%s (anchor at %s) to #%s: entries were removed",
            previous.head_seq,
            previous.at.isoformat(),
            head_seq,
        )
    return anchor


def anchors_export(since: datetime | None = None) -> Iterator[str]:
    """Every stored anchor (oldest first) as a JSON line."""
    anchors = AuditAnchor.objects.order_by("at", "id")
    if since is not None:
        anchors = anchors.filter(at__gte=since)
    for anchor in anchors.iterator(chunk_size=2000):
        yield anchor_line(anchor)


# ---- checking the chain against anchors ---------------------------------------------


def _from_row(row: AuditAnchor) -> Anchor:
    return Anchor(
        row.at, row.head_seq, row.head_mac, row.entry_count, row.signature, "the anchor table"
    )


def _from_line(text: str, number: int) -> Anchor | ChainProblem | None:
    """An anchor from a line of an export or of a shipped log (the JSON may follow a log
    prefix); None for lines that are not anchors."""
    if LINE_TYPE not in text:
        return None
    try:
        data = json.loads(text[text.index("{") :])
        at = parse_datetime(data["at"])
        if at is None or data.get("type") != LINE_TYPE:
            raise ValueError("not an anchor")
        return Anchor(
            at,
            int(data["head_seq"]),
            str(data["head_mac"]),
            int(data["count"]),
            str(data["signature"]),
            f"line {number} of the anchor file",
        )
    except (ValueError, KeyError, TypeError) as exc:
        reason = f"line {number} of the anchor file is not a readable anchor: {exc}"
        return ChainProblem(None, reason)


def _signed(anchor: Anchor) -> bool:
    expected = anchor_signature(anchor.at, anchor.head_seq, anchor.head_mac, anchor.count)
    return hmac.compare_digest(expected, anchor.signature)


def gather_anchors(lines: Iterable[str]) -> tuple[list[Anchor], list[ChainProblem]]:
    """The stored anchors and those of ``lines``, each checked for its signature."""
    problems: list[ChainProblem] = []
    stored = [_from_row(r) for r in AuditAnchor.objects.order_by("at", "id").iterator()]
    from_file: list[Anchor] = []
    for number, text in enumerate(lines, start=1):
        parsed = _from_line(text, number)
        if isinstance(parsed, ChainProblem):
            problems.append(parsed)
        elif parsed is not None:
            from_file.append(parsed)
    good = []
    for anchor in stored + from_file:
        if _signed(anchor):
            good.append(anchor)
        else:
            problems.append(
                ChainProblem(
                    None,
                    f"the anchor at {anchor.when} in {anchor.origin} has a bad signature "
                    "(altered, forged, or signed with another key)",
                )
            )
    known = {a.signature for a in stored}
    gone = [a for a in from_file if _signed(a) and a.signature not in known]
    if gone:
        newest = max(gone, key=lambda a: a.at)
        problems.append(
            ChainProblem(
                None,
                f"{len(gone)} anchor(s) of the anchor file are missing from the anchor "
                f"table (the newest, at {newest.when}, saw #{newest.head_seq})",
            )
        )
    return good, problems


def check_against_anchors(anchors: list[Anchor], seen: ChainWalk) -> list[ChainProblem]:
    """What the chain lacks compared with what its anchors saw."""
    problems: list[ChainProblem] = []
    if not anchors:
        return problems
    furthest = max(anchors, key=lambda a: (a.head_seq, a.at))
    if seen.count == 0 and furthest.count > 0:
        return [
            ChainProblem(
                None,
                f"the table is empty but anchors saw {furthest.count} entries (the anchor "
                f"at {furthest.when} saw #{furthest.head_seq})",
            )
        ]
    if furthest.head_seq > seen.head_seq:
        problems.append(
            ChainProblem(
                None,
                f"entries {seen.head_seq + 1}-{furthest.head_seq} missing: the chain ends at "
                f"#{seen.head_seq} but an anchor at {furthest.when} saw #{furthest.head_seq}",
            )
        )
    reported: set[int] = set()
    for anchor in sorted(anchors, key=lambda a: a.at):
        seq = anchor.head_seq
        if seq == 0 or seq > seen.head_seq or seq in reported:
            continue
        reason = _anchored_entry_problem(anchor, seen)
        if reason:
            reported.add(seq)
            problems.append(ChainProblem(seq, reason))
    return problems


def _anchored_entry_problem(anchor: Anchor, seen: ChainWalk) -> str:
    seq = anchor.head_seq
    if seq not in seen.macs_at:
        return f"missing, though an anchor at {anchor.when} saw it as the newest entry"
    if not hmac.compare_digest(seen.macs_at[seq], anchor.head_mac):
        return f"not the entry an anchor at {anchor.when} saw (its MAC differs)"
    if seen.counts_at[seq] != anchor.count:
        return (
            f"{seen.counts_at[seq]} entries up to here, but an anchor at {anchor.when} "
            f"counted {anchor.count}"
        )
    return ""
