"""What the processor does to an event's ledger record, for tests of the receiver alone."""

from __future__ import annotations

from webhook_core.ledger import Ledger


def processed(ledger: Ledger, envelope_id: str, now: float) -> None:
    """The processor took the event and ran its handler: later copies are duplicates."""
    record = ledger.get(envelope_id)
    assert record is not None, f"{envelope_id} is not in the ledger"
    lock = ledger.lock(record, attempt=1, lock_until=now + 30, now=now, archive=None)
    assert lock.run, f"{envelope_id} could not be locked: {lock.status}"
    ledger.finish(envelope_id, "processed", token=lock.token, now=now)
