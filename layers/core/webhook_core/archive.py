"""The archive: every envelope the processor receives, kept for the retention period so
any event, not only a dead letter, can be replayed by id (`webhooks events replay`).

One object per processor batch, not per event: an S3 PUT costs $5 per million, more than
the rest of the stack spends on an event, and a batch of 10 brings it to $0.50 (README,
"The event ledger"). Each object is JSON lines, one envelope (the queue message as
received) per line; an event's ledger record names its line: `<key>#<line>`. Objects
live under `archive/` in the body bucket, whose lifecycle rule expires them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from webhook_core.body_store import BodyStore
from webhook_core.errors import BodyStoreError

PREFIX = "archive/"


class Archive:
    def __init__(self, bodies: BodyStore) -> None:
        self._bodies = bodies

    def put_batch(self, messages: Sequence[str], now: float) -> list[str]:
        """Keep the batch's messages in one object: the reference of each, in order."""
        moment = datetime.fromtimestamp(now, tz=UTC)
        key = f"{PREFIX}{moment:%Y/%m/%d/%H}/{moment:%M%S}-{uuid.uuid4().hex}.jsonl"
        self._bodies.put(key, "".join(message.replace("\n", " ") + "\n" for message in messages).encode("utf-8"))
        return [f"{key}#{line}" for line in range(len(messages))]

    def read(self, reference: str) -> str:
        """The message a reference names."""
        key, _, line = reference.rpartition("#")
        if not key.startswith(PREFIX) or not line.isdigit():
            raise BodyStoreError(f"not an archive reference: {reference[:200]!r}")
        lines = self._bodies.get(key).decode("utf-8").split("\n")
        if int(line) >= len(lines) - 1:
            raise BodyStoreError(f"{key} has no line {line}")
        return lines[int(line)]
