"""The signature debugger over the in-memory stores: what the receiver keeps of a
refused request (capped, never failing the 401), and the diagnosis the operator's
tools run on it, on requests signed by the providers' own libraries (stripe's SDK)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.clock import Clock
from tests.support.cold_start import after_cold_start
from tests.support.signers import SECRETS, Signed, sign
from webhook_core.diagnosis import diagnose
from webhook_core.errors import SignatureError
from webhook_core.receiving import Delivery, Receiver
from webhook_core.rejected import RejectedRequest
from webhook_core.sources import parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, InMemoryRejectedRequests, StaticSecrets

NOW = 1_795_600_000
SOURCES = parse_sources({"sources": [{"name": "stripe", "kind": "stripe"}, {"name": "github", "kind": "github"}]})


def receiver(kept: InMemoryRejectedRequests, clock: Clock, *, max_body_bytes: int = 65_536) -> Receiver:
    return Receiver(
        sources=SOURCES,
        secrets=StaticSecrets(SECRETS),
        ledger=InMemoryLedger(),
        queue=InMemoryQueue(),
        max_body_bytes=1_000_000,
        clock=clock,
        rejected=kept,
        rejected_max_body_bytes=max_body_bytes,
    )


def delivery(signed: Signed, body: bytes | None = None, source: str = "stripe") -> Delivery:
    return Delivery(
        source=source,
        headers={name.lower(): value for name, value in signed.headers.items()},
        body=signed.body if body is None else body,
        source_ip="203.0.113.9",
    )


def refused(receiver: Receiver, request: Delivery) -> SignatureError:
    with pytest.raises(SignatureError) as refusal:
        receiver.accept(request)
    return refusal.value


def test_a_forged_request_is_refused_and_kept_with_its_reason_headers_and_body() -> None:
    kept = InMemoryRejectedRequests()
    forged = sign("stripe", secret="whsec_not_the_one_configured", timestamp=NOW)
    error = refused(receiver(kept, Clock(NOW)), delivery(forged))
    assert error.reason == "signature_mismatch"
    (request,) = kept.requests.values()
    assert (request.source, request.reason, request.received_at, request.source_ip) == (
        "stripe",
        "signature_mismatch",
        NOW,
        "203.0.113.9",
    )
    assert request.body == forged.body
    assert request.headers["stripe-signature"] == forged.headers["Stripe-Signature"]
    assert request.id.startswith("stripe/")
    assert RejectedRequest.from_json(request.to_json()) == request


def test_a_stale_timestamp_is_kept_with_how_far_off_it_was() -> None:
    kept = InMemoryRejectedRequests()
    error = refused(receiver(kept, Clock(NOW)), delivery(sign("stripe", timestamp=NOW - 1_000)))
    assert (error.reason, error.skew_seconds) == ("timestamp_out_of_tolerance", 1_000)
    (request,) = kept.requests.values()
    assert request.skew_seconds == 1_000
    diagnosis = diagnose(SOURCES["stripe"], SECRETS["stripe"], request)
    assert not diagnosis.verifies
    assert "1000s old when received (tolerance 300s)" in diagnosis.explanation()


def test_a_flood_keeps_at_most_the_cap_per_source_and_minute() -> None:
    kept, clock = InMemoryRejectedRequests(per_minute=10), Clock(NOW - NOW % 60)
    flood = receiver(kept, clock)
    for _ in range(15):
        refused(flood, delivery(sign("stripe", secret="whsec_forged_by_someone", timestamp=int(clock.now))))
    refused(flood, delivery(sign("github", secret="another-forgery"), source="github"))
    assert sum(1 for request in kept.requests.values() if request.source == "stripe") == 10
    assert sum(1 for request in kept.requests.values() if request.source == "github") == 1  # its own cap
    clock.advance(60)  # the next minute has its own cap
    refused(flood, delivery(sign("stripe", secret="whsec_forged_by_someone", timestamp=int(clock.now))))
    assert sum(1 for request in kept.requests.values() if request.source == "stripe") == 11


def test_a_store_failure_still_answers_the_signature_refusal() -> None:
    kept = InMemoryRejectedRequests()
    kept.fail_next = 1
    error = refused(receiver(kept, Clock(NOW)), delivery(sign("stripe", secret="whsec_forged_by_someone")))
    assert error.status == 401
    assert kept.requests == {}


def test_a_long_body_is_kept_cut_and_said_so() -> None:
    kept = InMemoryRejectedRequests()
    forged = sign("stripe", secret="whsec_forged_by_someone", timestamp=NOW)
    refused(receiver(kept, Clock(NOW), max_body_bytes=16), delivery(forged))
    (request,) = kept.requests.values()
    assert (len(request.body), request.body_size, request.body_cut) == (16, len(forged.body), True)


def _kept_as_received(body: bytes, signed: Signed) -> RejectedRequest:
    """`signed` as it reached the receiver with `body` in place of the signed one."""
    kept = InMemoryRejectedRequests()
    refused(receiver(kept, Clock(NOW)), delivery(signed, body))
    (request,) = kept.requests.values()
    assert request.reason == "signature_mismatch"
    return request


DOCUMENT = {"id": "evt_1", "object": "event", "type": "customer.updated", "data": {"name": "Zoë Ångström"}}


def _json(**options: Any) -> bytes:
    return json.dumps(DOCUMENT, **options).encode("utf-8")


@pytest.mark.parametrize(
    ("signed_body", "alter", "expected"),
    [
        # A framework parsed the JSON and wrote it again, compact.
        (
            _json(indent=2),
            lambda body: json.dumps(json.loads(body), separators=(",", ":")).encode(),
            "JSON re-serialised in transit (the signed body was indented 2)",
        ),
        # A provider that signs its keys sorted, with spaces; re-serialised compact.
        (
            _json(sort_keys=True),
            lambda body: json.dumps(json.loads(body), separators=(",", ":")).encode(),
            "JSON re-serialised in transit (the signed body was with spaces)",
        ),
        (_json(), lambda body: body + b"\n", "a trailing newline was added in transit"),
        (_json(indent=2) + b"\n", lambda body: body.rstrip(b"\n"), "a trailing newline was stripped in transit"),
        (
            _json(ensure_ascii=False),
            lambda body: body.decode("latin-1").encode("utf-8"),
            "the UTF-8 body was read as Latin-1 and re-encoded",
        ),
        (
            _json(ensure_ascii=False),
            lambda body: body.decode("utf-8").encode("latin-1"),
            "the UTF-8 body was converted to Latin-1",
        ),
        (_json(), base64.b64encode, "a proxy base64-encoded the body in transit"),
        # A provider that sends base64 text, decoded by a proxy on the way.
        (base64.b64encode(_json()), base64.b64decode, "a proxy base64-decoded the body in transit"),
    ],
    ids=["json-compact", "json-sorted", "newline-added", "newline-stripped", "double-utf8", "latin1", "b64", "unb64"],
)
def test_each_alteration_in_transit_is_named(
    signed_body: bytes, alter: Callable[[bytes], bytes], expected: str
) -> None:
    signed = sign("stripe", signed_body, timestamp=NOW)  # by stripe's own library
    received = alter(signed.body)
    assert received != signed.body
    request = _kept_as_received(received, signed)
    diagnosis = diagnose(SOURCES["stripe"], SECRETS["stripe"], request)
    assert not diagnosis.verifies
    assert diagnosis.alteration is not None
    assert expected in diagnosis.alteration
    assert "the body was altered in transit" in diagnosis.explanation()


def test_a_forgery_is_no_alteration_and_a_fixed_secret_verifies() -> None:
    forged = sign("stripe", secret="whsec_the_new_rotated_secret", timestamp=NOW)
    request = _kept_as_received(forged.body, forged)
    diagnosis = diagnose(SOURCES["stripe"], SECRETS["stripe"], request)
    assert (diagnosis.verifies, diagnosis.reason, diagnosis.alteration) == (False, "signature_mismatch", None)
    assert diagnosis.explanation() == "no secret of the source matched the signature"
    fixed = diagnose(SOURCES["stripe"], ["whsec_the_new_rotated_secret"], request)
    assert (fixed.verifies, fixed.secret_index) == (True, 0)


def test_a_lone_surrogate_in_the_senders_json_is_diagnosed_not_a_crash() -> None:
    """`\\ud800` is valid JSON in ASCII; what it decodes to has no UTF-8 form, so the
    re-serialised variants that keep non-ASCII unescaped cannot be made, only skipped."""
    body = b'{"id": "evt_1", "object": "event", "type": "customer.updated", "data": {"note": "\\ud800"}}'
    forged = sign("stripe", body, secret="whsec_forged_by_someone", timestamp=NOW)
    request = _kept_as_received(forged.body, forged)
    diagnosis = diagnose(SOURCES["stripe"], SECRETS["stripe"], request)
    assert (diagnosis.verifies, diagnosis.alteration) == (False, None)


def test_the_receiver_cold_start_loads_no_diagnosis() -> None:
    loaded = after_cold_start("sorted(m for m in ('webhook_core.diagnosis', 'webhooks_cli') if m in sys.modules)")
    assert loaded == []
