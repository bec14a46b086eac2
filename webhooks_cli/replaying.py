"""What `webhooks dlq replay` and `webhooks events replay` share: the report, the pace,
and keeping a claim-checked body alive for as long as the replayed message lives."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from webhook_core.body_store import BodyStore
from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError

# What became of one replayed event: sent (for a dead letter, moved), skipped (why is
# said), failed (why is said), or what a dry run would do.
Outcome = Literal["sent", "skipped", "failed", "would send"]
# Why an event whose handler already completed is not replayed.
ALREADY_PROCESSED = "already processed; --force runs it again"
# Told of each event as it is done: its id, the outcome and, if skipped or failed, why.
ProgressCallback = Callable[[str, Outcome, str], None]


@dataclass
class ReplayReport:
    """Each event's outcome, in the order they were replayed."""

    sent: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    on_progress: ProgressCallback | None = field(default=None, repr=False, compare=False)

    def add(self, envelope_id: str, outcome: Outcome, reason: str = "") -> Outcome:
        if outcome in ("sent", "would send"):
            self.sent.append(envelope_id)
        elif outcome == "skipped":
            self.skipped.append((envelope_id, reason))
        else:
            self.failed.append((envelope_id, reason))
        if self.on_progress is not None:
            self.on_progress(envelope_id, outcome, reason)
        return outcome

    @property
    def empty(self) -> bool:
        return not (self.sent or self.skipped or self.failed)

    def summary(self, verb: str) -> str:
        return f"{verb} {len(self.sent)}, skipped {len(self.skipped)}, failed {len(self.failed)}"

    def skip_reasons(self) -> list[tuple[str, int]]:
        """Why events were skipped, each reason with how many, the commonest first."""
        return Counter(reason for _, reason in self.skipped).most_common()


class Pace:
    """At most `rate` sends a second (0: no limit): `wait()` before each send."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


def refresh_claim_checked_body(envelope: Envelope, bodies: BodyStore | None) -> None:
    """Put a claim-checked body back where it is: the replayed message lives another 4 + 14
    days, and the put starts the bucket's expiry over. Reading it first checks it is still
    there and still the referenced bytes; a body that is gone raises BodyStoreError, which
    fails that event alone. An inline body needs nothing."""
    reference = envelope.body_ref
    if reference is None:
        return
    if bodies is None:
        raise BodyStoreError("no body store to refresh the claim-checked body in")
    bodies.put(reference.key, envelope.raw_body(bodies))
