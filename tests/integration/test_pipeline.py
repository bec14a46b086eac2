"""The whole pipeline in-process: receiver → SQS → processor with the tests'
handlers (tests/fixtures/handlers), over moto (README, "What it guarantees")."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe

from functions.processor import app as processor_app
from tests.integration.conftest import Stack
from tests.support import template_resources
from tests.support.apigw import rest_event
from tests.support.lambda_context import lambda_context
from tests.support.processors import processor_on
from tests.support.signers import STRIPE_SECRET
from tests.support.sqs import QueuePoller
from webhook_core.ledger import DynamoDBLedger

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("LEDGER_TABLE_NAME", stack.resources.ledger_table)
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
    # Verified and accepted, but its payload lacks the session id the fixture handler's model requires.
    assert deliver_stripe(pipeline, checkout("evt_e2e_2", {"payment_status": "paid"})) == 202
    rounds = QueuePoller(pipeline.sqs, pipeline.resources.queue_url).drain(
        processor_app.lambda_handler, lambda_context()
    )
    assert len(rounds) == template_resources.parameter_default("MaxReceiveCount")

    (dead,) = pipeline.messages(pipeline.resources.dead_letter_queue_url)
    assert json.loads(dead["Body"])["id"] == "stripe/evt_e2e_2"
    failure = DynamoDBLedger(pipeline.resources.ledger_table, retention_seconds=60).get("stripe/evt_e2e_2")
    assert failure is not None
    assert (failure.status, failure.error_type) == ("dead", "ValidationError")
    assert "data.object.id" in (failure.last_error or "")


def test_the_handlers_apply_only_the_newest_invoice_failure(pipeline: Stack, receiver_logs: io.StringIO) -> None:
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
    # Not a new event: refused while the first may still be sending (and a duplicate once taken, below).
    assert stack.invoke(rest_event("twilio", reordered.encode(), replay)).status == 409

    registry = HandlerRegistry()
    seen: list[tuple[IncomingSms, bytes]] = []

    @registry.on("twilio", "received", payload=IncomingSms)
    def on_sms(event: Event[IncomingSms]) -> None:
        seen.append((event.payload, event.envelope.raw_body()))

    processor = processor_on(
        stack.resources,
        registry=registry,
    )
    rounds = QueuePoller(stack.sqs, stack.resources.queue_url).drain(
        lambda event, context: dict(processor.process_batch(event, context)), lambda_context()
    )
    assert all(not failed for _, failed in rounds)
    assert seen == [(IncomingSms(MessageSid="SM123", From="+15017122661", Body="Hi & bye"), body.encode())]
    assert stack.invoke(rest_event("twilio", reordered.encode(), replay)).status == 200


def test_a_delivery_runs_the_handler_of_its_source_then_its_preset_then_its_kind(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the receiver: a Linear delivery (preset linear, kind hmac) runs the linear
    handler, not the hmac one; acme's handler runs for acme only; another hmac source
    without a handler of its own gets the kind's."""
    from functions.receiver import app as receiver_app
    from webhook_core.registry import Event, Handler, HandlerRegistry
    from webhook_core.sources import load_sources
    from webhooks_cli import signing

    acme = {"kind": "hmac", "header": "X-Acme-Signature", "id_header": "X-Acme-Delivery", "type_path": "event"}
    sources_file = tmp_path / "sources.json"
    sources_file.write_text(
        json.dumps(
            {
                "sources": [
                    {"name": "linear", "preset": "linear"},
                    {"name": "acme", **acme},
                    {"name": "globex", **{**acme, "header": "X-Globex-Signature"}},
                ]
            }
        )
    )
    monkeypatch.setenv("SOURCES_FILE", str(sources_file))
    receiver_app.get_receiver.cache_clear()
    secrets = {"linear": ["linear-secret"], "acme": ["acme-secret"], "globex": ["globex-secret"]}
    stack.set_secrets(secrets)
    sources = load_sources(sources_file)
    sent: dict[str, str] = {}
    for name, event_type, body in [
        ("linear", "Issue", b'{"action": "create", "type": "Issue"}'),
        ("acme", "Issue", b'{"event": "Issue"}'),
        ("globex", "Issue", b'{"event": "Issue"}'),
    ]:
        delivery = signing.sign(sources[name], secrets[name][0], event_type=event_type, body=body)
        response = stack.invoke(rest_event(name, delivery.body, delivery.headers))
        assert response.status == 202, response.body
        sent[name] = response.body["id"]

    registry = HandlerRegistry()
    ran: list[tuple[str, str]] = []

    def recorder(name: str) -> Handler:
        def record(event: Event[Any]) -> None:
            ran.append((name, event.envelope.id))

        return record

    for name in ("linear", "acme", "hmac"):
        registry.on(name, "Issue")(recorder(name))
    processor = processor_on(
        stack.resources,
        registry=registry,
    )
    rounds = QueuePoller(stack.sqs, stack.resources.queue_url).drain(
        lambda event, context: dict(processor.process_batch(event, context)), lambda_context()
    )
    assert all(not failed for _, failed in rounds)
    assert sorted(ran) == sorted([("linear", sent["linear"]), ("acme", sent["acme"]), ("hmac", sent["globex"])])
    receiver_app.get_receiver.cache_clear()
