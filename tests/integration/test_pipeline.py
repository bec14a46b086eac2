"""The whole pipeline in-process: receiver → SQS → processor with the shipped
example handlers, over moto (DESIGN §1, the issues' "done when")."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import stripe

from functions.processor import app as processor_app
from tests.integration.conftest import Stack
from tests.support import template_resources
from tests.support.apigw import rest_event
from tests.support.lambda_context import lambda_context
from tests.support.signers import STRIPE_SECRET
from tests.support.sqs import QueuePoller
from webhook_core.state import ProcessorState

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("STATE_TABLE_NAME", stack.resources.state_table)
    processor_app.get_processor.cache_clear()
    yield stack
    processor_app.get_processor.cache_clear()


def deliver_stripe(stack: Stack, document: dict[str, object]) -> int:
    body = json.dumps(document).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET, int(time.time()))
    return stack.invoke(rest_event("stripe", body, {"Stripe-Signature": header})).status


def checkout(event_id: str, session: dict[str, object]) -> dict[str, object]:
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "created": 1_700_000_000,
        "data": {"object": session},
    }


def test_an_accepted_delivery_is_processed_once_even_when_sqs_delivers_it_twice(
    pipeline: Stack, receiver_logs: io.StringIO
) -> None:
    assert deliver_stripe(pipeline, checkout("evt_e2e_1", {"id": "cs_1", "payment_status": "paid"})) == 202
    (message,) = pipeline.messages()
    pipeline.sqs.send_message(QueueUrl=pipeline.resources.queue_url, MessageBody=message["Body"])  # a second copy

    rounds = QueuePoller(pipeline.sqs, pipeline.resources.queue_url).drain(
        processor_app.lambda_handler, lambda_context()
    )
    assert all(not failed for _, failed in rounds)
    assert sum(len(succeeded) for succeeded, _ in rounds) == 2
    fulfilled = [json.loads(line) for line in receiver_logs.getvalue().splitlines() if '"fulfilling checkout"' in line]
    assert [entry["session"] for entry in fulfilled] == ["cs_1"]
    assert pipeline.messages(pipeline.resources.dead_letter_queue_url) == []


def test_a_delivery_its_handler_cannot_take_lands_in_the_dlq_with_its_reason(pipeline: Stack) -> None:
    # Verified and accepted, but its payload lacks the session id the example handler's model requires.
    assert deliver_stripe(pipeline, checkout("evt_e2e_2", {"payment_status": "paid"})) == 202
    rounds = QueuePoller(pipeline.sqs, pipeline.resources.queue_url).drain(
        processor_app.lambda_handler, lambda_context()
    )
    assert len(rounds) == template_resources.parameter_default("MaxReceiveCount")

    (dead,) = pipeline.messages(pipeline.resources.dead_letter_queue_url)
    assert json.loads(dead["Body"])["id"] == "stripe/evt_e2e_2"
    failure = ProcessorState(pipeline.resources.state_table, ttl_seconds=60).last_failure("stripe/evt_e2e_2")
    assert failure is not None
    assert failure.error_type == "ValidationError"
    assert "data.object.id" in failure.message


def test_example_handlers_apply_only_the_newest_invoice_failure(pipeline: Stack, receiver_logs: io.StringIO) -> None:
    def invoice_failed(event_id: str, created: int, attempt: int) -> dict[str, object]:
        return {
            "id": event_id,
            "object": "event",
            "type": "invoice.payment_failed",
            "created": created,
            "data": {"object": {"id": "in_7", "attempt_count": attempt}},
        }

    poller = QueuePoller(pipeline.sqs, pipeline.resources.queue_url)
    assert deliver_stripe(pipeline, invoice_failed("evt_inv_2", 1_700_000_100, 2)) == 202
    poller.drain(processor_app.lambda_handler, lambda_context())
    assert deliver_stripe(pipeline, invoice_failed("evt_inv_1", 1_700_000_000, 1)) == 202  # arrives late
    poller.drain(processor_app.lambda_handler, lambda_context())

    applied = [json.loads(line) for line in receiver_logs.getvalue().splitlines() if '"payment failed"' in line]
    assert [entry["attempt_count"] for entry in applied] == [2]
    assert any('"stale event skipped' in line for line in receiver_logs.getvalue().splitlines())


def test_a_twilio_sms_form_post_reaches_its_handler_once_as_parameters(stack: Stack) -> None:
    """Twilio's default SMS webhook is a form post: the handler gets its parameters (or its
    model), routed by SmsStatus, and the exact bytes; a reordered replay is not a second event."""
    from pydantic import BaseModel
    from twilio.request_validator import RequestValidator

    from tests.support.signers import SECRETS, TWILIO_URL
    from webhook_core.processing import Processor
    from webhook_core.registry import Event, HandlerRegistry

    class IncomingSms(BaseModel):
        MessageSid: str
        From: str
        Body: str

    params = {
        "MessageSid": "SM123",
        "From": "+15017122661",
        "To": "+15558675310",
        "Body": "Hi & bye",
        "SmsStatus": "received",
    }
    body = urlencode(params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(SECRETS["twilio"][0]).compute_signature(TWILIO_URL, params),
        "I-Twilio-Idempotency-Token": "idem-sms-1",
    }
    assert stack.invoke(rest_event("twilio", body.encode(), headers)).status == 202
    reordered = urlencode(dict(reversed(params.items())))
    replay = {**headers, "I-Twilio-Idempotency-Token": "idem-sms-2", "Content-Type": "application/json"}
    assert stack.invoke(rest_event("twilio", reordered.encode(), replay)).status == 200

    registry = HandlerRegistry()
    seen: list[tuple[IncomingSms, bytes]] = []

    @registry.on("twilio", "received", payload=IncomingSms)
    def on_sms(event: Event[IncomingSms]) -> None:
        seen.append((event.payload, event.envelope.raw_body()))

    processor = Processor(
        registry=registry,
        state=ProcessorState(stack.resources.state_table, ttl_seconds=3_600),
        table_name=stack.resources.state_table,
        ttl_seconds=3_600,
    )
    rounds = QueuePoller(stack.sqs, stack.resources.queue_url).drain(
        lambda event, context: dict(processor.process_batch(event, context)), lambda_context()
    )
    assert all(not failed for _, failed in rounds)
    assert seen == [(IncomingSms(MessageSid="SM123", From="+15017122661", Body="Hi & bye"), body.encode())]
