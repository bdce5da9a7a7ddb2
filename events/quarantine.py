"""The quarantine of one ingest batch, bounded.

A batch of a million broken lines must not become a million rows (nor a million objects in
memory): the first QUARANTINE_MAX_PER_BATCH rejected records are kept whole (raw bytes as
received, reason, line number); the rest are only counted, per reason, with their first
and last line, and written as one summary row (``QuarantinedRecord.omitted`` > 0). The
batch's and the source's counts stay exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from .models import IngestBatch, QuarantinedRecord
from .parsers.base import RawRecord, Rejected, clean_reason

MAX_ERRORS_REPORTED = 100  # entries of the API answer's ``errors``
MAX_REASONS = 20  # distinct reasons counted in a summary; the rest under OTHER_REASONS
REASON_CHARS = 300
OTHER_REASONS = "(other reasons)"


class BatchQuarantine:
    """What one batch rejects, as it is rejected (``append``)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.kept: list[Rejected] = []
        self.count = 0
        self.omitted = 0
        self.reasons: Counter[str] = Counter()
        self.first_line: int | None = None
        self.last_line: int | None = None
        self._originals: dict[int, bytes] = {}

    def __len__(self) -> int:
        return self.count

    @property
    def full(self) -> bool:
        return len(self.kept) >= self.limit

    def append(self, rejected: Rejected) -> None:
        self.count += 1
        # One line, no control or bidi characters: it is stored, shown and answered.
        rejected.reason = clean_reason(rejected.reason)
        if not self.full:
            self.kept.append(rejected)
            return
        self.omitted += 1
        reason = rejected.reason[:REASON_CHARS]
        if reason in self.reasons or len(self.reasons) < MAX_REASONS:
            self.reasons[reason] += 1
        else:
            self.reasons[OTHER_REASONS] += 1
        if rejected.number:
            self.first_line = min(self.first_line or rejected.number, rejected.number)
            self.last_line = max(self.last_line or 0, rejected.number)

    def extend(self, rejected: Iterable[Rejected]) -> None:
        for item in rejected:
            self.append(item)

    def remember(self, record: RawRecord) -> None:
        """Keep the bytes of a record that was not valid UTF-8, in case the parser refuses
        it: the quarantine stores what was received, not the repaired text. Only while
        records are still kept whole; after that, nothing of them is stored anyway."""
        if not self.full and record.original is not None:
            self._originals[record.number] = record.original

    # ---- what is stored and answered ---------------------------------------------------

    def _raw(self, rejected: Rejected) -> bytes:
        original = self._originals.get(rejected.number)
        if original is not None:
            return original
        raw = rejected.raw
        return raw if isinstance(raw, bytes) else str(raw).encode("utf-8", errors="replace")

    def rows(self, batch: IngestBatch, parser: str) -> list[QuarantinedRecord]:
        self.kept.sort(key=lambda r: r.number)
        rows = [
            QuarantinedRecord(
                source=batch.source,
                batch=batch,
                parser=parser,
                reason=r.reason[:2000],
                raw=self._raw(r),
                line_number=r.number or None,
                received_at=batch.received_at,
            )
            for r in self.kept
        ]
        if self.omitted:
            rows.append(
                QuarantinedRecord(
                    source=batch.source,
                    batch=batch,
                    parser=parser,
                    reason=self.summary_text()[:2000],
                    raw=b"",
                    line_number=self.first_line,
                    received_at=batch.received_at,
                    omitted=self.omitted,
                    summary={
                        "reasons": dict(self.reasons.most_common()),
                        "first_line": self.first_line,
                        "last_line": self.last_line,
                    },
                )
            )
        return rows

    def _lines(self) -> str:
        if self.first_line is None:
            return ""
        return f"lines {self.first_line:,}-{self.last_line:,}"

    def summary_text(self) -> str:
        reasons = "; ".join(f"{reason} x{count:,}" for reason, count in self.reasons.most_common())
        return (
            f"{self.omitted:,} more rejected records of this batch, counted but not kept "
            f"(the quarantine keeps {self.limit:,} per batch: QUARANTINE_MAX_PER_BATCH)"
            + (f", {self._lines()}" if self._lines() else "")
            + f": {reasons}"
        )

    def errors(self) -> list[dict[str, Any]]:
        """The answer's ``errors``: the first records, then one entry for all the rest."""
        shown = [{"line": r.number, "reason": r.reason} for r in self.kept[:MAX_ERRORS_REPORTED]]
        more = self.count - len(shown)
        if not more:
            return shown
        reason = f"and {more:,} more; see the quarantine"
        if self.omitted:
            top = "; ".join(f"{r} x{n:,}" for r, n in self.reasons.most_common(3))
            reason += (
                f" (it keeps {len(self.kept):,} of this batch's records whole; the other "
                f"{self.omitted:,}, {self._lines() or 'no line numbers'}, only as counts: {top})"
            )
        return [*shown, {"line": None, "reason": reason}]
