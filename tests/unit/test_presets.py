"""Presets that take an event's facts and signatures from where their providers document
them: the dedupe headers providers name, alternative signature headers (Shopify's Events
deliveries, DocuSign's one header per Connect key, Box's primary and secondary keys),
and the setup notes a preset needs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tests.support.clock import Clock
from tests.support.ledger import processed
from webhook_core.errors import ConfigurationError, SignatureError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources, presets
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets

NOW = 1_795_600_000


def source_of(item: dict[str, object], name: str = "s") -> Source:
    return parse_sources({"sources": [{"name": name, **item}]})[name]


def receiver(source: Source, secrets: list[str], clock: Clock | None = None) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={source.name: source},
        secrets=StaticSecrets({source.name: secrets}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=clock or Clock(NOW),
    )
    return built, queue


def b64_hmac(secret: str, content: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()


# --- GitLab: Idempotency-Key, not the UUID recursive webhooks share ----------------------------


def gitlab_delivery(body: bytes, idempotency_key: str, event_uuid: str) -> Delivery:
    headers = {
        "x-gitlab-token": "gl-token",
        "x-gitlab-event": "Issue Hook",
        "idempotency-key": idempotency_key,
        "x-gitlab-event-uuid": event_uuid,
    }
    return Delivery(source="gitlab", headers=headers, body=body)


def test_gitlab_events_that_share_a_recursive_event_uuid_are_two_events_and_a_retry_is_one() -> None:
    """GitLab: X-Gitlab-Event-UUID is shared by recursive webhooks; Idempotency-Key stays the
    same across retries of one event and differs between events."""
    gitlab = source_of({"preset": "gitlab"}, "gitlab")
    clock = Clock(NOW)
    accepting, queue = receiver(gitlab, ["gl-token"], clock)
    first = accepting.accept(gitlab_delivery(b'{"object_kind":"issue","n":1}', "idem-1", "shared-uuid"))
    second = accepting.accept(gitlab_delivery(b'{"object_kind":"issue","n":2}', "idem-2", "shared-uuid"))
    assert isinstance(first, Outcome)
    assert isinstance(second, Outcome)
    processed(accepting.ledger, first.envelope_id, clock.now)
    clock.past_the_claim()
    retry = accepting.accept(gitlab_delivery(b'{"object_kind":"issue","n":1}', "idem-1", "shared-uuid"))
    assert retry == Outcome(envelope_id=first.envelope_id, duplicate=True)
    # Two events (GitLab's token signs nothing, so each is keyed on its content), each under its own key.
    assert [envelope.event_id for envelope in queue.envelopes] == ["idem-1", "idem-2"]
    assert first.envelope_id != second.envelope_id
    assert queue.envelopes[0].headers["x-gitlab-event-uuid"] == "shared-uuid"  # kept, for tracing


# --- Shopify: X-Shopify-Event-Id, and either signature header -----------------------------------


@pytest.mark.parametrize("signature_header", ["X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"])
def test_shopify_verifies_under_either_signature_header_and_keys_on_the_event_id(signature_header: str) -> None:
    shopify = source_of({"kind": "shopify"}, "shopify")
    body = b'{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508"}'
    headers = {
        signature_header.lower(): b64_hmac("shpss_secret", body),
        "x-shopify-topic": "orders/create",
        "x-shopify-event-id": "evt-98880550-7158-44d4-b7cd-2c97c8a091b5",
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    }
    accepting, queue = receiver(shopify, ["shpss_secret"])
    outcome = accepting.accept(Delivery(source="shopify", headers=headers, body=body))
    # The event id header is not signed: the ledger keys the event on what the signature binds.
    assert outcome == Outcome(envelope_id=f"shopify/sha256-{hashlib.sha256(body).hexdigest()}", duplicate=False)
    (envelope,) = queue.envelopes
    assert envelope.event_id == "evt-98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert envelope.headers["x-shopify-webhook-id"] == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert envelope.type == "orders/create"


def test_shopify_without_either_signature_header_is_missing_its_signature() -> None:
    scheme = source_of({"kind": "shopify"}).spec.scheme
    keys = scheme.derive_keys(["shpss_secret"])
    with pytest.raises(SignatureError, match="missing_signature"):
        scheme.verify({"x-shopify-topic": "orders/create"}, b"{}", keys, NOW)
    wrong = {"shopify-hmac-sha256": b64_hmac("another", b"{}")}
    with pytest.raises(SignatureError, match="signature_mismatch"):
        scheme.verify(wrong, b"{}", keys, NOW)


# --- DocuSign: one signature header per Connect key, all tried ----------------------------------


@pytest.mark.parametrize("header", ["x-docusign-signature-2", "x-docusign-signature-16"])
def test_docusign_tries_every_connect_key_header(header: str) -> None:
    docusign = source_of({"preset": "docusign"})
    body = b'{"event":"envelope-completed","data":{"envelopeId":"93be49ab"}}'
    headers = {"x-docusign-signature-1": b64_hmac("another-connect-key", body), header: b64_hmac("ours", body)}
    keys = docusign.spec.scheme.derive_keys(["ours"])
    assert docusign.spec.scheme.verify(headers, body, keys, NOW).secret_index == 0
    with pytest.raises(SignatureError, match="signature_mismatch"):
        docusign.spec.scheme.verify({"x-docusign-signature-1": headers["x-docusign-signature-1"]}, body, keys, NOW)


def test_an_alternative_signature_header_is_a_credential_and_never_an_id() -> None:
    with pytest.raises(ConfigurationError, match="credential"):
        source_of({"preset": "docusign", "id_header": "X-DocuSign-Signature-2"})
    with pytest.raises(ConfigurationError, match="alternative_headers must differ"):
        source_of({"kind": "hmac", "header": "X-Sig", "alternative_headers": ["x-sig"]})


# --- Replicate: the type is the prediction's status ---------------------------------------------


def test_replicate_takes_the_type_from_the_predictions_status() -> None:
    replicate = source_of({"preset": "replicate"})
    body = json.dumps({"id": "ufawqhfynnddngldkgtslldrkq", "status": "succeeded"}).encode()
    facts = replicate.spec.fields.extract({"webhook-id": "msg_1"}, body)
    assert (facts.event_id, facts.type) == ("msg_1", "succeeded")


# --- setup notes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gitea", "forgejo", "gogs"])
def test_gitea_forgejo_and_gogs_say_to_choose_the_json_content_type(name: str) -> None:
    preset = presets()[name]
    assert "JSON content type" in preset.title
    assert "payload=" in preset.notes


# --- Box: the primary and the secondary key, one header each ------------------------------------


def box_headers(body: bytes, primary: str | None, secondary: str | None) -> dict[str, str]:
    timestamp = "2026-11-25T09:46:40+00:00"
    headers = {"box-delivery-timestamp": timestamp}
    for name, key in (("box-signature-primary", primary), ("box-signature-secondary", secondary)):
        if key:
            headers[name] = b64_hmac(key, body + timestamp.encode())
    return headers


@pytest.mark.parametrize(
    ("primary", "secondary", "index"),
    [("primary-key", "secondary-key", 0), ("retired", "secondary-key", 1), ("primary-key", None, 0)],
)
def test_box_verifies_with_either_of_its_two_signature_keys(primary: str, secondary: str | None, index: int) -> None:
    """Box signs the body then the BOX-DELIVERY-TIMESTAMP with each of the app's two keys."""
    box = source_of({"preset": "box"})
    body = b'{"type":"webhook_event","id":"1234","trigger":"FILE.UPLOADED"}'
    keys = box.spec.scheme.derive_keys(["primary-key", "secondary-key"])
    verified = box.spec.scheme.verify(box_headers(body, primary, secondary), body, keys, NOW)
    assert verified.secret_index == index
    with pytest.raises(SignatureError, match="signature_mismatch"):
        box.spec.scheme.verify(box_headers(body, "retired", "also-retired"), body, keys, NOW)
