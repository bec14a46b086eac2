"""Cronofy push notifications: `Cronofy-HMAC-SHA256` is the base64 HMAC-SHA256 of the body
keyed with the OAuth client secret; while an application has several active client
secrets it lists one signature per secret, comma-separated
(https://docs.cronofy.com/developers/push-notifications/authentication/). Checked against
Cronofy's published example and against its SDK's verifier, pycronofy's Client.hmac_valid."""

from __future__ import annotations

import pytest
from pycronofy import Client

from tests.conformance.vectors import body_of, load_all
from tests.support.clock import Clock
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing

NOW = 1_795_600_000
# Cronofy's "Single secret example" on the page above.
DOCS_SECRET = "CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID"
DOCS_BODY = b'{"example":"well-known"}'
DOCS_SIGNATURE = "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0="
# pycronofy's own test of hmac_valid (tests/test_client.py): its client secret and headers.
SDK_SECRET = "opposable thumbs"
SDK_SIGNATURE = "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk="


def cronofy(name: str = "cronofy") -> Source:
    return parse_sources({"sources": [{"name": name, "preset": "cronofy"}]})[name]


def receiver(secrets: list[str]) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"cronofy": cronofy()},
        secrets=StaticSecrets({"cronofy": secrets}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=Clock(NOW),
    )
    return built, queue


def delivery(signature: str, body: bytes = DOCS_BODY) -> Delivery:
    return Delivery(source="cronofy", headers={"cronofy-hmac-sha256": signature}, body=body)


def test_cronofys_published_example_is_accepted_and_a_changed_body_is_refused() -> None:
    accepting, queue = receiver([DOCS_SECRET])
    assert isinstance(accepting.accept(delivery(DOCS_SIGNATURE)), Outcome)
    assert queue.envelopes[0].source == "cronofy"
    with pytest.raises(SignatureError, match="signature_mismatch"):
        accepting.accept(delivery(DOCS_SIGNATURE, b'{"example":"well-known!"}'))


@pytest.mark.parametrize(
    ("header", "verifies"),
    [
        (SDK_SIGNATURE, True),
        ("wrong-hmac", False),
        (f"wrong-hmac,{SDK_SIGNATURE},wrong-hmac-again", True),
        ("wrong-hmac,wrong-hmac-again", False),
    ],
)
def test_a_header_listing_several_signatures_verifies_as_cronofys_sdk_does(header: str, verifies: bool) -> None:
    """The cases of pycronofy's own hmac_valid test: one listed signature made with the
    secret verifies the notification, wherever it is in the list."""
    assert Client(client_secret=SDK_SECRET).hmac_valid(header, DOCS_BODY.decode()) is verifies
    scheme = cronofy().spec.scheme
    keys = scheme.derive_keys([SDK_SECRET])
    if verifies:
        assert scheme.verify({"cronofy-hmac-sha256": header}, DOCS_BODY, keys, NOW).secret_index == 0
    else:
        with pytest.raises(SignatureError):
            scheme.verify({"cronofy-hmac-sha256": header}, DOCS_BODY, keys, NOW)


def test_the_shipped_vectors_agree_with_cronofys_sdk() -> None:
    """The accepted requests were signed by the documented algorithm (reference_headers):
    pycronofy accepts each of them and refuses each one refused for its signature."""
    vector = load_all()["preset-cronofy"]
    client = Client(client_secret=vector["secrets"][0])
    checked = 0
    for case in vector["cases"]:
        header = case["request"]["headers"].get("Cronofy-HMAC-SHA256")
        if header is None or case["request"]["method"] != "POST":
            continue
        body = body_of(case["request"]).decode()
        if case["expect"]["verdict"] in {"accepted", "duplicate"}:
            assert client.hmac_valid(header, body), case["name"]
            checked += 1
        elif case["expect"].get("reason") == "signature_mismatch":
            assert not client.hmac_valid(header, body), case["name"]
    assert checked >= 3


def test_webhooks_send_signs_a_cronofy_sample_its_source_accepts() -> None:
    source = cronofy()
    sent = signing.sign(source, DOCS_SECRET, event_type="change", now=NOW)
    assert Client(client_secret=DOCS_SECRET).hmac_valid(sent.headers["cronofy-hmac-sha256"], sent.body.decode())
    accepting, queue = receiver([DOCS_SECRET])
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert isinstance(accepting.accept(Delivery(source="cronofy", headers=headers, body=sent.body)), Outcome)
    assert queue.envelopes[0].type == "change"
