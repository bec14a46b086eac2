"""Attacks on the event ledger from outside: where the claim's window, the in-memory
fake and the deployed adapter do not keep the promises README makes."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest

from tests.support.clock import Clock
from tests.support.signers import SECRETS, sign
from tests.unit.test_ledger import NOW, ledger, record  # noqa: F401 - the contract fixture, both backends
from webhook_core.errors import DeliveryInProgressError
from webhook_core.ledger import EventRecord, Ledger
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets


@dataclass
class SlowSecrets:
    """Secrets Manager answering after `seconds` (a cold start, the SDK's retries)."""

    clock: Clock
    seconds: float

    def for_source(self, source: str) -> tuple[str, ...]:
        self.clock.advance(self.seconds)
        return StaticSecrets(SECRETS).for_source(source)


@dataclass
class Invocation:
    """A Lambda context whose deadline is fixed on the test's clock."""

    clock: Clock
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - self.clock.now) * 1000)


def test_a_copy_is_refused_while_the_first_invocation_may_still_be_sending(
    fixture_sources: dict[str, Source],
) -> None:
    """The claim must hold until the claiming invocation's deadline: the time spent
    before the claim (reading secrets, verifying) must not be taken off its window."""
    clock = Clock(1_795_600_000.0)
    memory = InMemoryLedger()
    receiver = Receiver(
        sources=fixture_sources,
        secrets=SlowSecrets(clock, seconds=5),
        ledger=memory,
        queue=InMemoryQueue(),
        max_body_bytes=1_000_000,
        clock=clock,
    )
    body = json.dumps({"id": "evt_slow", "type": "invoice.paid"}).encode()
    signed = sign("stripe", body, timestamp=int(clock.now))
    headers = {key.lower(): value for key, value in signed.headers.items()}
    first = Invocation(clock, deadline=clock.now + 20)
    receiver.bind(first)  # type: ignore[arg-type]
    receiver.accept(Delivery(source="stripe", headers=headers, body=body))
    kept = memory.get("stripe/evt_slow")
    assert kept is not None
    assert (kept.in_flight_until or 0) >= first.deadline, "the claim runs out before its invocation does"

    # A copy one second before the first invocation's deadline: it may still be sending.
    copy = SlowSecrets(clock, seconds=0)
    receiver._secrets = copy  # the copy's own (warm) invocation: secrets cached, no delay
    clock.now = first.deadline - 1
    receiver.bind(Invocation(clock, deadline=clock.now + 20))  # type: ignore[arg-type]
    with pytest.raises(DeliveryInProgressError):
        receiver.accept(Delivery(source="stripe", headers=headers, body=body))


def test_the_fake_keeps_what_the_processor_learns_of_a_claimed_event_as_dynamodb_does(ledger: Ledger) -> None:  # noqa: F811
    """The receiver claims before the send, so the claim-checked body's key is not known
    then; the processor's lock adds it (DynamoDB: if_not_exists). The in-memory fake,
    which the receiver's and processor's unit tests rely on, drops it."""
    ledger.claim(record("evt_big"), in_flight_until=NOW + 8, now=NOW)
    locked = ledger.lock(
        record_with_body("evt_big"), attempt=1, lock_until=NOW + 40, now=NOW + 10, archive="archive/x#0"
    )
    assert locked.run
    ledger.finish("stripe/evt_big", "processed", token=locked.token, now=NOW + 11)
    kept = ledger.get("stripe/evt_big")
    assert kept is not None
    assert (kept.body_ref, kept.archive) == ("bodies/stripe/evt_big", "archive/x#0")
    assert kept.last_delivery_at is not None  # DynamoDB records when the claim's delivery came


def test_a_failure_recorded_on_a_claimed_record_counts_what_sqs_counted_in_both(ledger: Ledger) -> None:  # noqa: F811
    ledger.claim(record("evt_poisoned"), in_flight_until=NOW + 8, now=NOW)
    ledger.fail(record("evt_poisoned"), RuntimeError("body unreadable"), attempt=3, dead=False, now=NOW + 20)
    kept = ledger.get("stripe/evt_poisoned")
    assert kept is not None
    assert (kept.status, kept.attempts) == ("failed", 3)


def record_with_body(event_id: str) -> EventRecord:
    return replace(record(event_id), body_ref=f"bodies/stripe/{event_id}", size=0)
