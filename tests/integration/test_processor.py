"""The processor over moto SQS and DynamoDB: partial failures, DLQ redrive,
idempotency, the out-of-order guard, poison records, unregistered types."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import template_resources
from tests.support.envelopes import envelope, stripe_body
from tests.support.lambda_context import lambda_context
from tests.support.logs import written_logs
from tests.support.processors import processor_on
from tests.support.sqs import QueuePoller, lambda_event
from webhook_core.envelope import BodyRef, Envelope
from webhook_core.observability import logger, metrics
from webhook_core.ordering import OrderingMarks
from webhook_core.payloads.stripe import Invoice, StripeEvent
from webhook_core.processing import Processor
from webhook_core.registry import Event, HandlerRegistry
from webhook_core.settings import ProcessorSettings
from webhook_core.testing import InMemoryBodyStore
from webhooks_cli.local.function_logs import take_over
from webhooks_cli.local.runtime import LocalFunction

pytestmark = pytest.mark.integration


class HandlerFailedError(RuntimeError):
    pass


@dataclass
class Harness:
    resources: template_resources.Resources
    sqs: Any
    dynamodb: Any
    registry: HandlerRegistry
    processor: Processor
    calls: list[str] = field(default_factory=list)

    def send(self, *envelopes: Envelope | str) -> None:
        for item in envelopes:
            body = item if isinstance(item, str) else item.to_message(250_000)
            self.sqs.send_message(QueueUrl=self.resources.queue_url, MessageBody=body)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return dict(self.processor.process_batch(event, context))

    def poller(self) -> QueuePoller:
        return QueuePoller(self.sqs, self.resources.queue_url)

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.sqs.receive_message(  # type: ignore[no-any-return]
            QueueUrl=self.resources.dead_letter_queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])


@pytest.fixture
def harness() -> Iterator[Harness]:
    with mock_aws():
        resources = template_resources.create()
        registry = HandlerRegistry()
        processor = processor_on(
            resources,
            registry=registry,
        )
        harness = Harness(resources, boto3.client("sqs"), boto3.client("dynamodb"), registry, processor)

        @registry.on("stripe", "checkout.session.completed")
        def ok(event: Event[Any]) -> None:
            harness.calls.append(event.envelope.id)

        @registry.on("stripe", "invoice.payment_failed")
        def always_fails(event: Event[Any]) -> None:
            harness.calls.append(event.envelope.id)
            raise HandlerFailedError("the billing system said no")

        yield harness


def test_a_mixed_batch_reports_exactly_the_failing_messages(harness: Harness) -> None:
    good, bad, good_too = envelope(), envelope(event_type="invoice.payment_failed"), envelope()
    harness.send(good, bad, good_too)
    (succeeded, failed) = harness.poller().poll_once(harness.handle, lambda_context()) or ([], [])
    bad_message_ids = list(failed)
    assert len(succeeded) == 2
    assert len(bad_message_ids) == 1
    assert sorted(harness.calls) == sorted([good.id, bad.id, good_too.id])


def test_a_record_that_always_fails_reaches_the_dlq_after_max_receive_count_with_its_reason(harness: Harness) -> None:
    max_receives = template_resources.parameter_default("MaxReceiveCount")
    doomed = envelope(event_type="invoice.payment_failed")
    harness.send(doomed)
    rounds = harness.poller().drain(harness.handle, lambda_context())

    assert len(rounds) == max_receives
    assert all(failed and not succeeded for succeeded, failed in rounds)
    assert harness.calls == [doomed.id] * max_receives  # a failed attempt releases its idempotency record
    (dead,) = harness.dead_letters()
    assert json.loads(dead["Body"])["id"] == doomed.id
    record = harness.processor.ledger.get(doomed.id)
    assert record is not None
    assert (record.status, record.error_type, record.last_error, record.attempts) == (
        "dead",
        "HandlerFailedError",
        "the billing system said no",
        max_receives,
    )
    assert [step.status for step in record.history].count("failed") == max_receives - 1


def test_the_same_envelope_delivered_twice_runs_its_handler_once(harness: Harness) -> None:
    once = envelope()
    harness.send(once, once)  # SQS's at-least-once delivery, or the receiver re-accepting after a lost ack
    rounds = harness.poller().drain(harness.handle, lambda_context())
    assert sum(len(succeeded) for succeeded, _ in rounds) == 2
    assert harness.calls == [once.id]
    record = harness.processor.ledger.get(once.id)
    assert record is not None
    assert (record.status, record.attempts) == ("processed", 1)


def test_a_second_batch_with_an_already_processed_envelope_is_acknowledged_without_running(harness: Harness) -> None:
    first = envelope()
    context = lambda_context()
    harness.handle(lambda_event([_message(first)], "arn:aws:sqs:us-east-1:123456789012:q"), context)
    response = harness.handle(lambda_event([_message(first, "m2")], "arn:aws:sqs:us-east-1:123456789012:q"), context)
    assert response["batchItemFailures"] == []
    assert harness.calls == [first.id]


@pytest.mark.parametrize("order", ["newest last", "newest first"])
def test_a_stale_event_is_skipped_and_a_newer_one_applied_in_either_order(harness: Harness, order: str) -> None:
    applied: list[str] = []

    @harness.registry.on("stripe", "invoice.updated", payload=StripeEvent[Invoice])
    def apply_invoice(event: Event[StripeEvent[Invoice]]) -> None:
        if event.is_newest():
            applied.append(event.envelope.event_id)

    start = datetime(2026, 11, 1, tzinfo=UTC)
    older = envelope(
        event_type="invoice.updated",
        event_id="evt_old",
        resource_id="in_1",
        occurred_at=start,
        body=stripe_body("evt_old", "invoice.updated", {"id": "in_1", "status": "open"}),
    )
    newer = envelope(
        event_type="invoice.updated",
        event_id="evt_new",
        resource_id="in_1",
        occurred_at=start + timedelta(seconds=5),
        body=stripe_body("evt_new", "invoice.updated", {"id": "in_1", "status": "paid"}),
    )
    first, second = (older, newer) if order == "newest last" else (newer, older)
    context = lambda_context()
    for item in (first, second):
        assert (
            harness.handle(lambda_event([_message(item)], "arn:aws:sqs:us-east-1:1:q"), context)["batchItemFailures"]
            == []
        )
    assert applied == (["evt_old", "evt_new"] if order == "newest last" else ["evt_new"])


def test_the_ordering_guard_is_per_resource_and_ties_are_applied(harness: Harness) -> None:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    state = OrderingMarks(harness.resources.ledger_table, ttl_seconds=3_600)
    assert state.apply_if_newer("stripe", "in_1", when, "stripe/a")
    assert state.apply_if_newer("stripe", "in_2", when - timedelta(days=1), "stripe/b")  # another resource
    assert state.apply_if_newer("stripe", "in_1", when, "stripe/c")  # same time: order unknowable, applied
    assert not state.apply_if_newer("stripe", "in_1", when - timedelta(milliseconds=1), "stripe/d")
    assert state.apply_if_newer("other-stripe", "in_1", when - timedelta(days=1), "x/e")  # another source


def test_a_poison_record_fails_alone_with_a_recorded_reason(harness: Harness) -> None:
    good = envelope()
    event = lambda_event(
        [
            _message(good, "m1"),
            {"MessageId": "m-poison", "ReceiptHandle": "r", "Body": "{not an envelope"},
            _message(envelope(), "m3"),
        ],
        "arn:aws:sqs:us-east-1:1:q",
    )
    response = harness.handle(event, lambda_context())
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-poison"}]
    assert len(harness.calls) == 2
    failure = harness.processor.ledger.get("message/m-poison")
    assert failure is not None
    assert (failure.status, failure.error_type) == ("failed", "PoisonRecordError")


def test_an_unregistered_type_is_acknowledged_and_counted(harness: Harness) -> None:
    metrics.clear_metrics()
    stray = envelope(event_type="customer.created")
    response = harness.handle(lambda_event([_message(stray)], "arn:aws:sqs:us-east-1:1:q"), lambda_context())
    assert response["batchItemFailures"] == []
    assert harness.calls == []
    assert metrics.metric_set["UnhandledType"]["Value"] == [1.0]
    metrics.clear_metrics()


def test_a_payload_that_does_not_match_its_model_fails_the_record(harness: Harness) -> None:
    @harness.registry.on("stripe", "invoice.paid", payload=StripeEvent[Invoice])
    def needs_an_invoice(event: Event[StripeEvent[Invoice]]) -> None:
        harness.calls.append(event.envelope.id)

    broken = envelope(event_type="invoice.paid", body={"id": "evt_x", "type": "invoice.paid"})  # no data.object
    response = harness.handle(lambda_event([_message(broken)], "arn:aws:sqs:us-east-1:1:q"), lambda_context())
    assert len(response["batchItemFailures"]) == 1
    assert harness.calls == []
    failure = harness.processor.ledger.get(broken.id)
    assert failure is not None
    assert (failure.status, failure.error_type) == ("failed", "ValidationError")


def test_a_success_after_failures_clears_the_failure_record(harness: Harness) -> None:
    attempts: list[int] = []

    @harness.registry.on("github", "push")
    def flaky(event: Event[Any]) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise HandlerFailedError(f"attempt {len(attempts)} failed")

    item = envelope(kind="github", event_type="push")
    harness.send(item)
    rounds = harness.poller().drain(harness.handle, lambda_context())
    assert [bool(failed) for _, failed in rounds] == [True, True, False]
    record = harness.processor.ledger.get(item.id)
    assert record is not None
    assert (record.status, record.attempts) == ("processed", 3)
    assert [step.status for step in record.history] == [
        "processing",
        "failed",
        "processing",
        "failed",
        "processing",
        "processed",
    ]
    assert harness.dead_letters() == []


def _message(item: Envelope, message_id: str | None = None) -> dict[str, Any]:
    return {"MessageId": message_id or f"m-{item.event_id}", "ReceiptHandle": "r", "Body": item.to_message(250_000)}


def test_a_crashed_attempt_is_retried_once_its_in_progress_record_expires(harness: Harness) -> None:
    attempts: list[str] = []

    @harness.registry.on("github", "pull_request")
    def dies_once(event: Event[Any]) -> None:
        attempts.append(event.envelope.id)
        if len(attempts) == 1:
            raise SystemExit("the sandbox died mid-handler")  # nothing can release the record

    item = envelope(kind="github", event_type="pull_request")
    event = lambda_event([_message(item)], "arn:aws:sqs:us-east-1:1:q")
    # The crashed invocation had 3.5 s left: its in-progress record expires with them.
    # (1.5 s past the batch's 2 s reserve: on a loaded machine a tighter margin was used up
    # before the handler started, and the record was deferred untouched instead.)
    with pytest.raises(SystemExit):
        harness.handle(event, lambda_context(remaining_millis=3_500))
    time.sleep(4.2)  # past its deadline, with room for a loaded machine
    assert harness.handle(event, lambda_context())["batchItemFailures"] == []
    assert attempts == [item.id, item.id]


def test_stale_skips_are_counted(harness: Harness) -> None:
    @harness.registry.on("stripe", "invoice.updated")
    def apply(event: Event[Any]) -> None:
        event.is_newest()

    when = datetime(2026, 11, 1, tzinfo=UTC)
    newer = envelope(event_type="invoice.updated", resource_id="in_9", occurred_at=when)
    older = envelope(event_type="invoice.updated", resource_id="in_9", occurred_at=when - timedelta(hours=1))
    metrics.clear_metrics()
    harness.handle(lambda_event([_message(newer), _message(older)], "arn:aws:sqs:us-east-1:1:q"), lambda_context())
    assert metrics.metric_set["StaleSkipped"]["Value"] == [1.0]
    assert metrics.metric_set["Processed"]["Value"] == [1.0, 1.0]
    metrics.clear_metrics()


def test_a_verified_body_that_does_not_parse_fails_even_without_a_handler(harness: Harness) -> None:
    garbled = envelope(event_type="unknown", body=b"<xml>not json</xml>")
    response = harness.handle(lambda_event([_message(garbled)], "arn:aws:sqs:us-east-1:1:q"), lambda_context())
    assert len(response["batchItemFailures"]) == 1
    failure = harness.processor.ledger.get(garbled.id)
    assert failure is not None
    assert failure.error_type == "UnparseableBodyError"


def test_the_same_envelope_in_two_invocations_at_once_runs_its_handler_once(harness: Harness) -> None:
    """Two pollers holding the same message (an SQS at-least-once redelivery while the
    first is still running): the second sees the first in progress and fails its record,
    which SQS redelivers and which is then acknowledged without running again."""
    import threading

    once = envelope()
    harness.send(once)
    (message,) = harness.sqs.receive_message(QueueUrl=harness.resources.queue_url, AttributeNames=["All"])["Messages"]
    event = lambda_event([message], harness.poller().queue_arn)
    started, release = threading.Event(), threading.Event()
    original = harness.registry.find("checkout.session.completed", source="stripe", kind="stripe")
    assert original is not None

    def slow(event: Event[Any]) -> None:
        started.set()
        release.wait(10)  # hold the first invocation inside the handler
        original.function(event)

    harness.registry.clear()
    harness.registry.on("stripe", "checkout.session.completed")(slow)
    results: list[dict[str, Any]] = []
    first = threading.Thread(target=lambda: results.append(harness.handle(event, lambda_context())))
    first.start()
    assert started.wait(10)
    second = harness.handle(event, lambda_context())  # meanwhile, the same message again
    release.set()
    first.join(10)
    assert results == [{"batchItemFailures": []}]
    assert second == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert harness.calls == [once.id]
    redelivered = harness.handle(event, lambda_context())  # SQS gives the failed copy back
    assert redelivered == {"batchItemFailures": []}
    assert harness.calls == [once.id]


def _bounded_processor(harness: Harness, registry: HandlerRegistry, handler_timeout: float) -> Processor:
    return processor_on(
        harness.resources,
        registry=registry,
        handler_timeout_seconds=handler_timeout,
    )


def test_a_hanging_handler_fails_only_its_own_record(harness: Harness) -> None:
    import threading

    registry, ran, release = HandlerRegistry(), list[str](), threading.Event()

    @registry.on("stripe", "*")
    def handle(event: Event[Any]) -> None:
        if event.envelope.type == "hangs":
            release.wait(30)  # a call to a system that never answers
        ran.append(event.envelope.id)

    processor = _bounded_processor(harness, registry, handler_timeout=0.5)
    first, hanging, last = envelope(), envelope(event_type="hangs"), envelope()
    batch = lambda_event([_message(first), _message(hanging), _message(last)], "arn:aws:sqs:us-east-1:1:q")
    try:
        response = processor.process_batch(batch, lambda_context(30_000))
        assert response["batchItemFailures"] == [{"itemIdentifier": f"m-{hanging.event_id}"}]
        assert ran == [first.id, last.id]
        failure = processor.ledger.get(hanging.id)
        assert failure is not None
        assert failure.error_type in {"HandlerTimeoutError", "HandlerAbandonedError"}
    finally:
        release.set()


def test_records_the_invocation_cannot_see_through_are_handed_back_untouched(harness: Harness) -> None:
    """No partial response survives a Lambda timeout: records that ran would come back
    beside records that never did. So the batch stops starting handlers in time."""
    registry, ran = HandlerRegistry(), list[str]()

    @registry.on("stripe", "*")
    def slow(event: Event[Any]) -> None:
        time.sleep(1.0)
        ran.append(event.envelope.id)

    processor = _bounded_processor(harness, registry, handler_timeout=2.0)
    records = [envelope() for _ in range(3)]
    batch = lambda_event([_message(item) for item in records], "arn:aws:sqs:us-east-1:1:q")
    # 2 s the batch keeps for itself, 2 s for a handler, and a little: one record fits (with
    # a second of slack for its 1 s run on a loaded machine; it failed on a 0.2 s slack).
    response = processor.process_batch(batch, lambda_context(4_500))

    assert ran == [records[0].id]
    assert response["batchItemFailures"] == [{"itemIdentifier": f"m-{item.event_id}"} for item in records[1:]]
    # untouched: not even locked
    assert [processor.ledger.get(item.id) is None for item in records] == [False, True, True]

    retry = lambda_event([_message(item) for item in records[1:]], "arn:aws:sqs:us-east-1:1:q")
    assert processor.process_batch(retry, lambda_context(30_000))["batchItemFailures"] == []
    assert ran == [item.id for item in records]


def test_the_first_record_of_a_batch_always_runs_within_what_is_left(harness: Harness) -> None:
    registry, ran = HandlerRegistry(), list[str]()

    @registry.on("stripe", "*")
    def quick(event: Event[Any]) -> None:
        ran.append(event.envelope.id)

    processor = _bounded_processor(harness, registry, handler_timeout=25.0)
    only = envelope()
    response = processor.process_batch(
        lambda_event([_message(only)], "arn:aws:sqs:us-east-1:1:q"), lambda_context(5_000)
    )
    assert (response["batchItemFailures"], ran) == ([], [only.id])


def test_a_handler_stopped_at_its_bound_does_not_run_on_beside_its_redelivery(harness: Harness) -> None:
    """Claim 5 vs 'once in effect': a handler past its bound is abandoned, its once-lock
    expires with the invocation, and the redelivery runs the handler again while the first
    run is still alive (on Lambda: frozen with the sandbox, resumed on its next invoke).
    Both complete: the side effect happens twice."""
    registry, effects, release = HandlerRegistry(), list[str](), threading.Event()
    calls = 0

    @registry.on("stripe", "*")
    def charge(event: Event[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            release.wait(30)  # a call that answers late (or a sandbox frozen mid-call)
        effects.append(event.envelope.id)

    processor = processor_on(
        harness.resources,
        registry=registry,
        handler_timeout_seconds=0.5,
    )
    item = envelope()
    batch = lambda_event([_message(item)], "arn:aws:sqs:us-east-1:1:q")
    # 3 s left after the batch's 2 s reserve: the handler starts (and is stopped at its
    # 0.5 s bound) even when a loaded machine is slow to reach it (with 1.5 s, one such run
    # handed the record back untouched); the lock expires in ~5 s.
    first = processor.process_batch(batch, lambda_context(5_000))
    assert first["batchItemFailures"]
    time.sleep(5.3)  # SQS redelivers after the visibility timeout, past the lock's expiry
    processor.process_batch(batch, lambda_context(30_000))
    release.set()  # the first run finishes after all
    deadline = time.monotonic() + 10  # its thread may wait for a loaded machine's core
    while not effects and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # room for a second effect, were there one
    assert effects == [item.id], f"the handler's side effect ran {len(effects)} times"


class SlowBodies(InMemoryBodyStore):
    def get(self, key: str) -> bytes:
        time.sleep(1.0)  # S3 under throttling; CLIENT_CONFIG allows up to ~2 x (2 s + 3 s)
        return super().get(key)


def test_the_batch_does_not_keep_reading_claim_checked_bodies_past_the_invocations_time(harness: Harness) -> None:
    """Claim 5: 'the batch stops starting records before the invocation's time runs out'.
    The S3 read of a claim-checked body happens before the time check, for every record,
    including those then deferred: with slow reads the batch runs past its deadline (on
    Lambda: a timeout, the whole batch back, every receive counted)."""
    bodies = SlowBodies()
    registry = HandlerRegistry()
    registry.on("stripe", "*")(lambda event: None)
    processor = processor_on(
        harness.resources,
        registry=registry,
        handler_timeout_seconds=1.0,
        bodies=bodies,
    )
    messages = []
    for index in range(3):
        raw = json.dumps({"id": f"evt_{index}", "pad": "x" * 2_000_000}).encode()
        reference = BodyRef.of(raw)
        bodies.objects[reference.key] = raw
        messages.append(_message(envelope(body=raw).by_reference(reference)))
    started = time.monotonic()
    processor.process_batch(lambda_event(messages, "arn:aws:sqs:us-east-1:1:q"), lambda_context(2_500))
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"the batch ran {elapsed:.1f} s of a 2.5 s invocation ({bodies.gets} S3 reads)"


def test_off_the_main_thread_a_hanging_handler_is_abandoned_and_fails_alone(harness: Harness) -> None:
    """The local stack's poller runs the processor on a thread, where no signal reaches a
    handler: it is left on a thread of its own, and its record fails alone."""
    registry, ran, release = HandlerRegistry(), list[str](), threading.Event()

    @registry.on("stripe", "*")
    def handle(event: Event[Any]) -> None:
        if event.envelope.type == "hangs":
            release.wait(30)
        ran.append(event.envelope.id)

    processor = _bounded_processor(
        harness, registry, handler_timeout=3.0
    )  # off the main thread it bounds the once-lock writes too
    first, hanging, last = envelope(), envelope(event_type="hangs"), envelope()
    batch = lambda_event([_message(first), _message(hanging), _message(last)], "arn:aws:sqs:us-east-1:1:q")
    responses: list[Any] = []
    poller = threading.Thread(target=lambda: responses.append(processor.process_batch(batch, lambda_context())))
    try:
        poller.start()
        poller.join(20)
        assert responses[0]["batchItemFailures"] == [{"itemIdentifier": f"m-{hanging.event_id}"}]
        assert ran == [first.id, last.id]
    finally:
        release.set()


def test_handlers_are_found_by_source_then_preset_then_kind(harness: Harness) -> None:
    """A handler for the linear source (preset linear) runs for a linear delivery; one for
    source acme runs only for acme; the hmac kind's handler takes only the hmac sources
    that have no handler of their own."""
    ran: list[tuple[str, str]] = []

    def recorder(name: str) -> Any:
        def record(event: Event[Any]) -> None:
            ran.append((name, event.envelope.id))

        return record

    harness.registry.on("linear", "Issue")(recorder("linear"))
    harness.registry.on("acme", "Issue")(recorder("acme"))
    harness.registry.on("hmac", "Issue")(recorder("hmac"))
    linear = envelope("hmac", "Issue", source="linear", preset="linear")
    linear_staging = envelope("hmac", "Issue", source="linear-staging", preset="linear")
    acme = envelope("hmac", "Issue", source="acme")
    other = envelope("hmac", "Issue", source="other")
    harness.send(linear, linear_staging, acme, other)
    rounds = harness.poller().drain(harness.handle, lambda_context())

    assert all(not failed for _, failed in rounds)
    assert sorted(ran) == sorted(
        [("linear", linear.id), ("linear", linear_staging.id), ("acme", acme.id), ("hmac", other.id)]
    )


def test_at_cold_start_a_handler_no_configured_source_can_reach_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver_logs: io.StringIO
) -> None:
    sources = tmp_path / "sources.json"
    sources.write_text(
        json.dumps({"sources": [{"name": "tracker", "preset": "linear"}, {"name": "billing", "kind": "stripe"}]})
    )
    registry = HandlerRegistry()

    def sync_issue(event: Event[Any]) -> None: ...

    def misspelt(event: Event[Any]) -> None: ...

    for name, event_type, function in [
        ("tracker", "Issue", sync_issue),  # the source
        ("linear", "Comment", sync_issue),  # its preset
        ("hmac", "*", sync_issue),  # its kind
        ("billing", "*", sync_issue),
        ("*", "ping", sync_issue),
        ("lineer", "Issue", misspelt),  # none of them
    ]:
        registry.on(name, event_type)(function)
    monkeypatch.setenv("LEDGER_TABLE_NAME", "state")
    monkeypatch.setenv("BODY_BUCKET_NAME", "bodies")
    monkeypatch.setenv("SOURCES_FILE", str(sources))

    with mock_aws():
        Processor.from_settings(ProcessorSettings.from_environment(os.environ, tmp_path / "unused.json"), registry)

    warnings = [json.loads(line) for line in receiver_logs.getvalue().splitlines() if '"WARNING"' in line]
    assert [(entry["handler"], entry["registered_for"]) for entry in warnings] == [
        (f"{__name__}.misspelt", "lineer"),
    ]
    assert "misspelt" in warnings[0]["message"]


def test_a_handlers_own_log_lines_carry_its_invocations_keys_off_the_main_thread(harness: Harness) -> None:
    """`webhooks dev` runs the processor on its poller's thread, where each handler runs on
    a thread of its own: its lines carry the function and event as they do on Lambda, and
    belong to the invocation (what the readable lines are made from)."""

    @harness.registry.on("stripe", "customer.created")
    def says_hello(event: Event[Any]) -> None:
        logger.info("handler says hello", extra={"customer": "cus_1"})

    item = envelope(event_type="customer.created")
    harness.send(item)
    messages = harness.sqs.receive_message(
        QueueUrl=harness.resources.queue_url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    handler = logger.inject_lambda_context(clear_state=True, log_event=False)(harness.handle)
    function = LocalFunction("processor", handler, 30, 128, service="processor")
    called: list[tuple[Any, Any]] = []
    with written_logs() as written:
        give_back = take_over(logger, verbose=True)
        try:
            poller_thread = threading.Thread(
                target=lambda: called.append(function.call(lambda_event(messages, harness.poller().queue_arn)))
            )
            poller_thread.start()
            poller_thread.join(20)
        finally:
            give_back()
    ((response, invocation),) = called
    assert response["batchItemFailures"] == []
    (hello,) = [json.loads(line) for line in written.getvalue().splitlines() if "handler says hello" in line]
    assert (hello["function_name"], hello["service"], hello["envelope_id"], hello["customer"]) == (
        "processor",
        "processor",
        item.id,
        "cus_1",
    )
    assert [line.fields["envelope_id"] for line in invocation.logged if line.message == "handler says hello"] == [
        item.id
    ]
