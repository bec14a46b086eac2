"""Contentful webhook request verification: HMAC-SHA256 over the canonical request (method,
path, the signed headers, body), as @contentful/node-apps-toolkit computes it
(https://www.contentful.com/developers/docs/webhooks/request-verification/). The signatures
below were made by the toolkit's own signRequest (3.16.1, Node.js), not by this project."""

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

NOW = 1_795_600_000
SECRET = "0123456789abcdef" * 4  # a made-up signing secret of Contentful's 64 characters
BODY = json.dumps(
    {"sys": {"type": "Entry", "id": "5KsDBWseXY6QegucYAoacS"}, "fields": {"title": {"en-US": "héllo"}}},
    ensure_ascii=False,
    separators=(",", ":"),
).encode()
LISTED = "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic,x-contentful-webhook-name"
# signRequest(SECRET, {method: "POST", path, headers, body}, NOW * 1000) with the headers
# below (the webhook name with the spaces the toolkit trims), by path.
TOOLKIT_SIGNED = {
    "/webhooks/contentful": "6e65388a632f38ceface088368b68fd5e20cfb89e404e4d9a8882ac4ef7bc8b3",
    # The query string is escaped by querystring.escape, then again by encodeURI.
    "/webhooks/contentful?space=main&env=a%20b": "c57e845c4998aea9c6176199972c06eade828db6ae52b8c5a8c2c1d651167718",
    # A non-ASCII path is UTF-8 percent-encoded; only the query up to a second ? is signed.
    "/hooks/café%20x?q=1?2": "4d460e75652a778f16db63c1f8f0671c0abe0fcd10c61bc0f3baea2ff6dea638",
}


def contentful(path: str = "/webhooks/contentful", **options: object) -> Source:
    url = "https://hooks.example.com" + path
    return parse_sources({"sources": [{"name": "contentful", "preset": "contentful", "url": url, **options}]})[
        "contentful"
    ]


def receiver(source: Source) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"contentful": source},
        secrets=StaticSecrets({"contentful": [SECRET]}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=Clock(NOW),
    )
    return built, queue


def delivery(signature: str, body: bytes = BODY, changed: dict[str, str] | None = None) -> Delivery:
    headers = {
        "content-type": "application/vnd.contentful.management.v1+json",
        "x-contentful-topic": "ContentManagement.Entry.publish",
        "x-contentful-webhook-name": " Publish hook ",
        "x-contentful-signed-headers": LISTED,
        "x-contentful-timestamp": str(NOW * 1000),
        "x-contentful-signature": signature,
        **(changed or {}),
    }
    return Delivery(source="contentful", headers=headers, body=body)


def refusal(accepting: Receiver, sent: Delivery) -> str:
    with pytest.raises(SignatureError) as refused:
        accepting.accept(sent)
    assert refused.value.status == 401
    return refused.value.reason


@pytest.mark.parametrize("path", list(TOOLKIT_SIGNED))
def test_requests_signed_by_the_toolkit_are_accepted_with_their_topic(path: str) -> None:
    accepting, queue = receiver(contentful(path))
    assert isinstance(accepting.accept(delivery(TOOLKIT_SIGNED[path])), Outcome)
    (envelope,) = queue.envelopes
    assert (envelope.type, envelope.resource_id) == ("ContentManagement.Entry.publish", "5KsDBWseXY6QegucYAoacS")


def test_a_tampered_body_header_path_or_timestamp_is_refused() -> None:
    signature = TOOLKIT_SIGNED["/webhooks/contentful"]
    accepting, _ = receiver(contentful())
    assert refusal(accepting, delivery(signature, BODY.replace(b"h\xc3\xa9llo", b"hello"))) == "signature_mismatch"
    unpublished = delivery(signature, changed={"x-contentful-topic": "ContentManagement.Entry.unpublish"})
    assert refusal(accepting, unpublished) == "signature_mismatch"
    later = delivery(signature, changed={"x-contentful-timestamp": str(NOW * 1000 + 1)})
    assert refusal(accepting, later) == "signature_mismatch"
    # The topic left out of the list: the toolkit signs the list it rebuilds, so it no longer matches.
    fewer = delivery(signature, changed={"x-contentful-signed-headers": LISTED.rsplit(",", 2)[0]})
    assert refusal(accepting, fewer) == "signature_mismatch"
    elsewhere, _ = receiver(contentful("/webhooks/contentful/"))
    assert refusal(elsewhere, delivery(signature)) == "signature_mismatch"


def test_a_stale_timestamp_is_refused_past_the_toolkits_30_seconds() -> None:
    accepting, _ = receiver(contentful())
    stale = delivery(TOOLKIT_SIGNED["/webhooks/contentful"], changed={"x-contentful-timestamp": str((NOW - 31) * 1000)})
    assert refusal(accepting, stale) == "timestamp_out_of_tolerance"


def test_a_secret_contentful_could_not_have_made_is_no_key() -> None:
    source = contentful()
    assert source.spec.scheme.derive_keys(["short", SECRET, "é" * 64]) == (None, SECRET.encode(), None)


def test_webhooks_send_signs_as_the_toolkit_does() -> None:
    source = contentful()
    sent = signing.sign(source, SECRET, event_type="ContentManagement.Entry.publish", now=NOW)
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert headers["x-contentful-signed-headers"] == "x-contentful-signed-headers,x-contentful-timestamp"
    accepting, queue = receiver(source)
    assert isinstance(accepting.accept(Delivery(source="contentful", headers=headers, body=sent.body)), Outcome)
    assert queue.envelopes[0].type == "ContentManagement.Entry.publish"
