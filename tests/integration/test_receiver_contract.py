"""Every row of the receiver contract (README, "The receiver contract"), through API Gateway REST events."""

from __future__ import annotations

import base64
import json
import time

import pytest
import stripe

from tests.integration.conftest import Stack
from tests.support.apigw import rest_event
from tests.support.signers import KINDS, SECRETS, STRIPE_SECRET, TIMESTAMPED, other_secret, sign

pytestmark = pytest.mark.integration


def error_code(response_body: dict[str, dict[str, str]]) -> str:
    assert set(response_body) == {"error"}
    assert set(response_body["error"]) == {"code", "message"}
    return response_body["error"]["code"]


def assert_nothing_written(stack: Stack) -> None:
    assert stack.ledger_records() == []
    assert stack.messages() == []


def test_a_stripe_event_signed_by_the_stripe_library_is_accepted_once(stack: Stack) -> None:
    body = json.dumps(
        {"id": "evt_done_when", "object": "event", "type": "invoice.paid", "created": 1_700_000_000}
    ).encode()
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET, int(time.time()))
    event = rest_event("stripe", body, {"Stripe-Signature": header})

    first = stack.invoke(event)
    assert (first.status, first.body) == (202, {"status": "accepted", "id": "stripe/evt_done_when"})
    early = stack.invoke(event)  # while the first may still be sending: in flight
    assert (early.status, early.headers["retry-after"]) == (409, "10")
    stack.taken("stripe/evt_done_when")
    again = stack.invoke(event)
    assert (again.status, again.body) == (200, {"status": "duplicate", "id": "stripe/evt_done_when"})

    messages = stack.messages()
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert envelope["id"] == "stripe/evt_done_when"
    assert envelope["type"] == "invoice.paid"
    assert (
        base64.b64decode(envelope["body"]) == body
        if envelope["body_encoding"] == "base64"
        else envelope["body"].encode() == body
    )
    assert messages[0]["MessageAttributes"]["source"]["StringValue"] == "stripe"
    assert messages[0]["MessageAttributes"]["type"]["StringValue"] == "invoice.paid"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("base64_encoded", [True, False])
def test_every_kind_is_accepted_then_deduplicated(stack: Stack, kind: str, base64_encoded: bool) -> None:
    signed = sign(kind)
    first = stack.deliver(kind, signed, base64_encoded=base64_encoded)
    assert first.status == 202, first.body
    assert first.body["status"] == "accepted"
    stack.taken(first.body["id"])
    assert stack.deliver(kind, signed, base64_encoded=base64_encoded).status == 200

    (message,) = stack.messages()
    envelope = json.loads(message["Body"])
    assert envelope["version"] == 1
    assert envelope["id"] == first.body["id"]
    assert (envelope["source"], envelope["kind"], envelope["event_id"], envelope["type"]) == (
        kind,
        kind,
        signed.event_id,
        signed.event_type if kind != "github" else "push",
    )
    assert envelope["body"].encode() == signed.body
    assert envelope["verification"] == {"secret_index": 0}
    assert envelope["received_at"]


def test_header_names_are_matched_in_any_case(stack: Stack) -> None:
    signed = sign("github")
    mixed = {name.swapcase(): value for name, value in signed.headers.items()}
    response = stack.invoke(rest_event("github", signed.body, mixed))
    assert response.status == 202
    (message,) = stack.messages()
    assert json.loads(message["Body"])["headers"]["x-github-event"] == "push"


def test_a_binary_body_is_verified_on_its_exact_bytes_and_kept_exactly(stack: Stack) -> None:
    body = bytes(range(256)) * 4
    signed = sign("hmac", body=body)
    assert stack.deliver("hmac", signed).status == 202
    envelope = json.loads(stack.messages()[0]["Body"])
    assert envelope["body_encoding"] == "base64"
    assert base64.b64decode(envelope["body"]) == body


def test_a_verified_body_that_does_not_parse_is_still_enqueued(stack: Stack) -> None:
    body = b"this is {not json"
    signed = sign("stripe", body=body)
    response = stack.deliver("stripe", signed)
    assert response.status == 202
    envelope = json.loads(stack.messages()[0]["Body"])
    assert envelope["type"] == "unknown"
    assert envelope["body"] == body.decode()


def test_an_unknown_source_is_404_and_writes_nothing(stack: Stack) -> None:
    response = stack.deliver("nobody", sign("stripe"))
    assert response.status == 404
    assert error_code(response.body) == "unknown_source"
    assert_nothing_written(stack)


def test_any_other_route_is_404_in_the_error_shape(stack: Stack) -> None:
    event = rest_event("stripe", b"{}")
    event.update(path="/elsewhere", resource="/elsewhere", pathParameters=None)
    response = stack.invoke(event)
    assert response.status == 404
    assert error_code(response.body) == "not_found"


@pytest.mark.parametrize("kind", KINDS)
def test_a_forged_signature_is_401_and_writes_nothing(stack: Stack, kind: str) -> None:
    forged = sign(kind, secret=other_secret(kind, "forged"))
    response = stack.deliver(kind, forged)
    assert response.status == 401
    assert error_code(response.body) == "invalid_signature"
    assert response.body["error"]["message"] == "The webhook signature could not be verified."
    assert_nothing_written(stack)


@pytest.mark.parametrize("kind", TIMESTAMPED)
def test_a_stale_delivery_is_401_and_writes_nothing(stack: Stack, kind: str) -> None:
    response = stack.deliver(kind, sign(kind, timestamp=int(time.time()) - 600))
    assert response.status == 401
    assert_nothing_written(stack)


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_signature_is_401(stack: Stack, kind: str) -> None:
    signed = sign(kind)
    response = stack.invoke(rest_event(kind, signed.body, {}))
    assert response.status == 401
    assert_nothing_written(stack)


def test_the_401_never_says_which_check_failed(stack: Stack) -> None:
    bodies = {
        json.dumps(stack.deliver("stripe", sign("stripe", secret="wrong")).body),
        json.dumps(stack.deliver("stripe", sign("stripe", timestamp=1)).body),
        json.dumps(stack.invoke(rest_event("stripe", b"{}", {})).body),
    }
    assert len(bodies) == 1


def test_a_body_over_the_limit_is_413_before_anything_is_read_or_written(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.receiver import app as receiver_app

    monkeypatch.setenv("MAX_BODY_BYTES", "1000")
    receiver_app.get_receiver.cache_clear()
    stack.set_secrets("this would be a 503 if the secret were read")
    for base64_encoded in (True, False):
        signed = sign("hmac", body=b"x" * 1001)
        response = stack.deliver("hmac", signed, base64_encoded=base64_encoded)
        assert response.status == 413
        assert error_code(response.body) == "payload_too_large"
    stack.set_secrets(SECRETS)
    assert stack.deliver("hmac", sign("hmac", body=b"x" * 1000)).status == 202


def test_a_source_without_a_secret_fails_closed_alone(stack: Stack) -> None:
    stack.set_secrets({**SECRETS, "github": []})
    response = stack.deliver("github", sign("github"))
    assert response.status == 503
    assert error_code(response.body) == "source_unavailable"
    assert stack.deliver("stripe", sign("stripe")).status == 202


@pytest.mark.parametrize("document", ["not json", "[1, 2]", json.dumps({"stripe": [""]}), json.dumps({"stripe": 5})])
def test_an_unusable_secret_document_fails_closed(stack: Stack, document: str) -> None:
    stack.set_secrets(document)
    response = stack.deliver("stripe", sign("stripe"))
    assert response.status == 503
    assert_nothing_written(stack)


def test_a_standard_secret_that_is_not_base64_fails_closed(stack: Stack) -> None:
    stack.set_secrets({**SECRETS, "standard": ["whsec_***not-base64***"]})
    assert stack.deliver("standard", sign("standard")).status == 503


def test_rotation_accepts_old_and_new_secret_and_records_which_matched(stack: Stack) -> None:
    stack.set_secrets({**SECRETS, "stripe": ["whsec_new", STRIPE_SECRET]})
    assert stack.deliver("stripe", sign("stripe", secret="whsec_new")).status == 202
    assert stack.deliver("stripe", sign("stripe", secret=STRIPE_SECRET)).status == 202
    indexes = sorted(json.loads(m["Body"])["verification"]["secret_index"] for m in stack.messages())
    assert indexes == [0, 1]
    stack.set_secrets({**SECRETS, "stripe": ["whsec_new"]})
    assert stack.deliver("stripe", sign("stripe", secret=STRIPE_SECRET)).status == 401


def test_the_ledger_record_expires_after_the_configured_retention(stack: Stack) -> None:
    before = int(time.time())
    assert stack.deliver("github", sign("github")).status == 202
    (record,) = stack.ledger_records()
    assert record["status"]["S"] == "received"
    expiration = int(record["expiration"]["N"])
    assert before + 21 * 86_400 <= expiration <= int(time.time()) + 21 * 86_400


def test_each_verification_counts_the_source_and_the_secret_index_it_used(
    stack: Stack, capfd: pytest.CaptureFixture[str]
) -> None:
    stack.set_secrets({**SECRETS, "stripe": ["whsec_new", STRIPE_SECRET]})
    capfd.readouterr()
    assert stack.deliver("stripe", sign("stripe", secret=STRIPE_SECRET)).status == 202
    blobs = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"VerifiedWithSecret"' in line]
    assert len(blobs) == 1
    (directive,) = blobs[0]["_aws"]["CloudWatchMetrics"]
    assert {metric["Name"] for metric in directive["Metrics"]} == {"VerifiedWithSecret"}
    assert set(directive["Dimensions"][0]) >= {"source", "secret_index"}
    assert (blobs[0]["source"], blobs[0]["secret_index"], blobs[0]["VerifiedWithSecret"]) == ("stripe", "1", [1.0])
