"""The fault matrix (tests/support/faults.py): a failure injected at each AWS call
the receiver and the processor make. For each: the status the provider sees, what
is left of the dedupe record, that the provider's retry is then accepted, and that
the event's handler runs exactly once in the end. Nothing verified is lost."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from tests.integration.conftest import Stack
from tests.support.apigw import rest_event
from tests.support.faults import PROCESSOR_FAULTS, RECEIVER_FAULTS, Fault, FaultInjector
from tests.support.lambda_context import lambda_context
from tests.support.payloads import padded_json
from tests.support.processors import processor_on
from tests.support.signers import SECRETS, TWILIO_URL, Signed, sample_body, sign
from tests.support.sqs import QueuePoller
from webhook_core.body_store import S3BodyStore
from webhook_core.registry import Event, HandlerRegistry

pytestmark = pytest.mark.integration
# How long a faulted invocation had left: its in-progress record expires after this.
# What an invocation has left: the receiver's in-progress records expire with it, and the
# processor's too (less its 2 s reserve, it bounds the handler's run).
REMAINING_MILLIS = 2_600


@pytest.fixture
def injector(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:
    faults = FaultInjector()
    faults.install(monkeypatch)
    yield faults
    faults.disarm()


def handled(stack: Stack, remaining_millis: int = 30_000, pause: float = 0.0, failures: int = 0) -> Counter[str]:
    """Run the processor over everything queued, as the SQS event source mapping does
    (each invocation with `remaining_millis` left), retrying failures (after `pause`
    seconds, the visibility timeout); how many times each envelope's handler ran to the
    end. The first `failures` calls raise."""
    registry, calls, attempts = HandlerRegistry(), Counter[str](), Counter[str]()

    @registry.on("stripe", "checkout.session.completed")
    @registry.on("github", "push")
    @registry.on("twilio", "received")
    def count(event: Event[Any]) -> None:
        if event.envelope.kind == "twilio":  # a form post reaches its handler as its parameters
            assert isinstance(event.payload, dict)
            assert event.payload["SmsStatus"] == "received"
        attempts[event.envelope.id] += 1
        if sum(attempts.values()) <= failures:
            raise RuntimeError("the handler failed this time")
        calls[event.envelope.id] += 1

    processor = processor_on(
        stack.resources,
        registry=registry,
        handler_timeout_seconds=0.5,
        bodies=S3BodyStore(stack.resources.body_bucket),
    )
    poller = QueuePoller(stack.sqs, stack.resources.queue_url)

    def invoke(event: dict[str, Any], _: Any) -> dict[str, Any]:
        response = dict(processor.process_batch(event, lambda_context(remaining_millis)))
        if response.get("batchItemFailures"):
            time.sleep(pause)
        return response

    poller.drain(invoke, None)
    return calls


def delivery(fault: Fault) -> Signed:
    """The fault's delivery: Twilio's SMS form post, or a Stripe event padded to
    `body_bytes` when the fault needs a claim-checked body."""
    if fault.form_post:
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": "+15017122661", "Body": "hi", "SmsStatus": "received"}
        signature = RequestValidator(SECRETS["twilio"][0]).compute_signature(TWILIO_URL, params)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        return Signed(urlencode(params).encode(), headers, params["MessageSid"], "received")
    body_bytes = fault.body_bytes
    if not body_bytes:
        return sign("stripe")
    event_id = f"evt_{uuid.uuid4().hex[:24]}"
    document = json.loads(sample_body("stripe", event_id, "checkout.session.completed"))
    return sign("stripe", padded_json(document, body_bytes), event_id=event_id)


def queued_id(stack: Stack, fault: Fault, signed: Signed) -> str:
    """The envelope id the receiver gave the delivery (Twilio's: the body's digest, as
    this form post carries no idempotency token)."""
    queued = [json.loads(message["Body"]) for message in stack.messages()]
    (envelope_id,) = {envelope["id"] for envelope in queued if envelope["source"] == fault.source}
    return str(envelope_id)


def statuses(stack: Stack) -> Counter[str]:
    return Counter(record["status"]["S"] for record in stack.ledger_records())


def deliver_faulted(stack: Stack, signed: Signed, fault: Fault) -> None:
    event = rest_event(fault.source, signed.body, signed.headers)
    context = lambda_context(remaining_millis=REMAINING_MILLIS)
    if fault.status is None:  # the function died: API Gateway answers 502 for it
        with pytest.raises(SystemExit):
            stack.invoke(event, context)
        return
    response = stack.invoke(event, context)
    assert response.status == fault.status, response.body
    if fault.status >= 400:
        assert set(response.body) == {"error"}
        assert "injected" not in json.dumps(response.body)


@pytest.mark.parametrize("fault", RECEIVER_FAULTS, ids=lambda fault: fault.name)
def test_a_receiver_fault_answers_as_the_matrix_says_and_the_retry_is_accepted_once(
    stack: Stack, injector: FaultInjector, fault: Fault
) -> None:
    warm = sign("github")
    if fault.stage == "warm":  # clients built and the secret read: a sandbox that has served before
        served = stack.deliver("github", warm)
        assert served.status == 202
    before = statuses(stack)
    signed = delivery(fault)

    injector.arm(*fault.arms)
    deliver_faulted(stack, signed, fault)
    injector.disarm()
    assert len(injector.fired) == len(fault.arms), injector.fired

    left = statuses(stack) - before
    if fault.status == 202:  # served despite the fault
        assert left == Counter({"received": 1})
        envelope_id = queued_id(stack, fault, signed)
        assert handled(stack)[envelope_id] == fault.handler_runs
        assert stack.deliver(fault.source, signed).status == 200
        return
    if fault.record_left == "in_flight":
        assert left == Counter({"received": 1})
        early = stack.deliver(fault.source, signed)
        assert (early.status, early.headers.get("retry-after")) == (409, "10")
        time.sleep(REMAINING_MILLIS / 1000 + 0.2)
    else:
        assert left == Counter()

    assert stack.deliver(fault.source, signed).status == 202
    envelope_id = queued_id(stack, fault, signed)
    calls = handled(stack)
    assert calls[envelope_id] == fault.handler_runs
    # Once the processor took it, the provider's next retry is a duplicate.
    assert stack.deliver(fault.source, signed).status == 200
    if fault.body_bytes:  # the retry stored the body once; the duplicate stored nothing
        assert [key for key in stack.body_objects() if key.startswith("bodies/")] == [
            f"bodies/{hashlib.sha256(signed.body).hexdigest()}"
        ]
    if fault.stage == "warm":
        assert calls[served.body["id"]] == 1


@pytest.mark.parametrize("fault", PROCESSOR_FAULTS, ids=lambda fault: fault.name)
def test_a_processor_fault_is_retried_by_sqs_and_the_handler_runs_once(
    stack: Stack, injector: FaultInjector, fault: Fault
) -> None:
    signed = delivery(fault)
    assert stack.deliver("stripe", signed).status == 202
    injector.arm(*fault.arms)
    # The deployed visibility timeout (180 s) outlasts the processor's 30 s: a redelivery
    # comes after the failed invocation's in-progress record has expired.
    # The lock on the ledger record holds as long as the failed invocation had left.
    calls = handled(stack, REMAINING_MILLIS, pause=REMAINING_MILLIS / 1000 + 0.2)
    assert injector.fired, "the fault never struck"
    assert calls == Counter({f"stripe/{signed.event_id}": fault.handler_runs})
