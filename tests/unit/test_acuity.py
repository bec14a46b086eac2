"""The Acuity Scheduling preset: form posts signed over the raw body, base64 HMAC-SHA256
with the API key, in X-Acuity-Signature (https://developers.acuityscheduling.com/docs/webhooks).
Its conformance vectors were judged once by the acuityscheduling npm package's own
verifyMessageSignature (0.1.9): every accepted request valid, every refused one not."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tests.support.clock import Clock
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing

NOW = 1_795_600_000
API_KEY = "made-up-acuity-api-key-0001"
BODY = b"action=scheduled&id=1055040873&calendarID=1&appointmentTypeID=7"


def acuity() -> Source:
    return parse_sources({"sources": [{"name": "acuity", "preset": "acuity"}]})["acuity"]


def receiver() -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"acuity": acuity()},
        secrets=StaticSecrets({"acuity": [API_KEY]}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=Clock(NOW),
    )
    return built, queue


def delivery(body: bytes, signature: str, content_type: str = "application/x-www-form-urlencoded") -> Delivery:
    return Delivery(source="acuity", headers={"content-type": content_type, "x-acuity-signature": signature}, body=body)


def acuity_signature(body: bytes, key: str = API_KEY) -> str:
    """Acuity's documented recipe, as its PHP example writes it."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def test_a_form_post_signed_as_acuity_signs_it_is_accepted_with_its_action() -> None:
    accepting, queue = receiver()
    assert isinstance(accepting.accept(delivery(BODY, acuity_signature(BODY))), Outcome)
    (envelope,) = queue.envelopes
    assert (envelope.type, envelope.resource_id) == ("scheduled", "1055040873")


def test_a_tampered_form_or_another_key_is_refused() -> None:
    accepting, _ = receiver()
    for body, signature in (
        (BODY.replace(b"scheduled", b"canceled"), acuity_signature(BODY)),
        (BODY, acuity_signature(BODY, "another-account-api-key")),
    ):
        with pytest.raises(SignatureError) as refused:
            accepting.accept(delivery(body, signature))
        assert (refused.value.status, refused.value.reason) == (401, "signature_mismatch")


def test_the_body_is_read_as_a_form_whatever_content_type_is_sent() -> None:
    accepting, queue = receiver()
    assert isinstance(accepting.accept(delivery(BODY, acuity_signature(BODY), "application/json")), Outcome)
    assert queue.envelopes[0].type == "scheduled"


@pytest.mark.parametrize("sample", ["scheduled", "canceled", "order.completed"])
def test_webhooks_send_posts_a_signed_form_the_receiver_accepts(sample: str) -> None:
    sent = signing.sign(acuity(), API_KEY, event_type=sample, now=NOW)
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["x-acuity-signature"] == acuity_signature(sent.body)
    accepting, queue = receiver()
    assert isinstance(accepting.accept(Delivery(source="acuity", headers=headers, body=sent.body)), Outcome)
    assert queue.envelopes[0].type == sent.event_type == sample
