"""Sanity's GROQ-powered webhooks: `sanity-webhook-signature: t=<ms>,v1=<sig>`, the HMAC-SHA256
of `{t}.{body}` with the webhook's secret in URL-safe base64 without padding, as the
official toolkit @sanity/webhook makes and checks it
(https://github.com/sanity-io/webhook-toolkit/blob/main/src/signature.ts). Its own test
vectors (test/signature.test.ts) are replayed here at the time they were signed."""

from __future__ import annotations

import json

import pytest

from tests.support.clock import Clock
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing

# The toolkit's vectors: isValidSignature's, and encodeSignatureHeader's.
RESUME = (
    "test",
    json.dumps({"_id": "resume"}, separators=(",", ":")).encode(),
    "t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0",
)
GROQ_HOOKS = (
    "try-me",
    json.dumps({"title": "GROQ-Hooks are neat"}, separators=(",", ":")).encode(),
    "t=1633518820676,v1=e7C9h2sfbFfc4V7TEz7PSOp4IoNzl0UdVsBV-1wgdeA",
)


def sanity() -> Source:
    return parse_sources({"sources": [{"name": "sanity", "preset": "sanity"}]})["sanity"]


def receiver(secret: str, now: float) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"sanity": sanity()},
        secrets=StaticSecrets({"sanity": [secret]}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=Clock(now),
    )
    return built, queue


def signed_at(header: str) -> float:
    return int(header.split(",", maxsplit=1)[0].removeprefix("t=")) / 1000


def delivery(header: str, body: bytes) -> Delivery:
    return Delivery(source="sanity", headers={"sanity-webhook-signature": header}, body=body)


@pytest.mark.parametrize(("secret", "body", "header"), [RESUME, GROQ_HOOKS])
def test_the_toolkits_signed_examples_are_accepted(secret: str, body: bytes, header: str) -> None:
    accepting, queue = receiver(secret, signed_at(header) + 2)
    assert isinstance(accepting.accept(delivery(header, body)), Outcome)
    assert len(queue.envelopes) == 1


@pytest.mark.parametrize(
    ("header", "body"),
    [
        # The toolkit's own refusals: another timestamp, another last character, another body.
        ("t=1633519811128,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0", RESUME[1]),
        ("t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N1", RESUME[1]),
        (RESUME[2], b'{"_id":"structure"}'),
    ],
)
def test_a_tampered_delivery_is_refused(header: str, body: bytes) -> None:
    accepting, queue = receiver(RESUME[0], signed_at(RESUME[2]))
    with pytest.raises(SignatureError) as refused:
        accepting.accept(delivery(header, body))
    assert refused.value.status == 401
    assert refused.value.reason in {"signature_mismatch", "malformed_signature"}
    assert not queue.envelopes


def test_a_signature_under_another_version_key_is_no_signature() -> None:
    accepting, _ = receiver(RESUME[0], signed_at(RESUME[2]))
    with pytest.raises(SignatureError, match="malformed_signature"):
        accepting.accept(delivery(RESUME[2].replace("v1=", "v5="), RESUME[1]))


def test_padded_or_standard_base64_is_not_sanitys_encoding() -> None:
    """Only the toolkit's exact text verifies (it compares the whole header as a string):
    the same bytes padded, or in standard base64, are another signature."""
    accepting, _ = receiver(GROQ_HOOKS[0], signed_at(GROQ_HOOKS[2]))
    for changed in (GROQ_HOOKS[2] + "=", GROQ_HOOKS[2].replace("-", "+")):
        with pytest.raises(SignatureError, match="malformed_signature"):
            accepting.accept(delivery(changed, GROQ_HOOKS[1]))


def test_a_signature_older_than_the_tolerance_is_refused() -> None:
    accepting, _ = receiver(RESUME[0], signed_at(RESUME[2]) + 301)
    with pytest.raises(SignatureError, match="timestamp_out_of_tolerance"):
        accepting.accept(delivery(RESUME[2], RESUME[1]))


def test_webhooks_send_signs_a_sanity_sample_as_the_toolkit_does() -> None:
    now = 1_795_600_000
    sent = signing.sign(sanity(), "try-me", event_type="document.published", now=now)
    header = sent.headers["sanity-webhook-signature"]
    assert header.startswith(f"t={now * 1000},v1=")
    assert "=" not in header.split("v1=")[1]
    accepting, queue = receiver("try-me", now)
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert isinstance(accepting.accept(Delivery(source="sanity", headers=headers, body=sent.body)), Outcome)
    assert len(queue.envelopes) == 1
