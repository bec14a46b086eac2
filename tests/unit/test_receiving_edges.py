"""The receiving logic at the edges real providers and attackers reach, against the
in-memory stores (no moto, no network): a captured delivery replayed with another
Content-Type or under a fresh id header is never a new event; bodies parse as their
kind sends them; nothing a sender controls makes a send fail or two ids collide."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conformance.vectors import body_of, load_all, query_of
from tests.support.clock import Clock
from tests.support.ledger import processed
from tests.support.signers import SECRETS, sign
from webhook_core.errors import DeliveryInProgressError, SignatureError, SourceUnavailableError
from webhook_core.ledger import Outcome
from webhook_core.providers.fields import DIGEST_ID_PREFIX
from webhook_core.providers.spec import HandshakeReply
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import FakeCertificates, InMemoryLedger, InMemoryQueue, StaticSecrets

VECTORS = load_all()
FIXED_NOW = 1_795_600_000


def fake_receiver(
    sources: dict[str, Source], secrets: dict[str, list[str]], now: float, max_body_bytes: int = 1_000_000
) -> tuple[Receiver, InMemoryQueue, Clock]:
    """The receiving logic over the in-memory stores, at a time the test moves."""
    queue, clock = InMemoryQueue(), Clock(now)
    receiver = Receiver(
        sources=sources,
        secrets=StaticSecrets(secrets),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=max_body_bytes,
        clock=clock,
    )
    return receiver, queue, clock


def replayed(receiver: Receiver, clock: Clock, delivery: Delivery, first: Outcome) -> Outcome | HandshakeReply:
    """A copy of an accepted delivery: while the first may still be sending it is refused
    (409); once the processor took the first, it is a duplicate."""
    with pytest.raises(DeliveryInProgressError):
        receiver.accept(delivery)
    processed(receiver.ledger, first.envelope_id, clock.now)
    return receiver.accept(delivery)


def receiver_for(vector: dict[str, Any]) -> tuple[Receiver, InMemoryQueue, Clock]:
    name = vector["name"]
    sources = parse_sources({"sources": [{"name": name, **vector["source"]}]})
    document = {name: vector["secrets"], **{f"{name}/{k}": v for k, v in vector.get("tokens", {}).items()}}
    # What the receiver may fetch (SNS's signing certificate) is served by a fake, never the network.
    FakeCertificates({url: text.encode() for url, text in vector.get("documents", {}).items()}).install()
    return fake_receiver(sources, document, float(vector["time"]))


def delivery_of(vector: dict[str, Any], request: dict[str, Any], headers: dict[str, str] | None = None) -> Delivery:
    sent = headers if headers is not None else request["headers"]
    return Delivery(
        source=vector["name"],
        headers={key.lower(): value for key, value in sent.items()},
        body=body_of(request),
        query=query_of(request),
    )


def first_accepted(vector: dict[str, Any]) -> dict[str, Any]:
    return next(case["request"] for case in vector["cases"] if case["expect"]["verdict"] == "accepted")


def every_delivery_new(vector: dict[str, Any]) -> bool:
    return bool(vector["cases"][1]["expect"]["verdict"] == "accepted")


content_types = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
    st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=60),
)


@pytest.mark.parametrize("name", sorted(VECTORS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content_type=content_types, drop_content_type=st.booleans())
def test_a_captured_delivery_replayed_with_another_content_type_is_not_a_new_event(
    name: str, content_type: str, drop_content_type: bool
) -> None:
    vector = VECTORS[name]
    receiver, queue, clock = receiver_for(vector)
    request = first_accepted(vector)
    first = receiver.accept(delivery_of(vector, request))
    assert isinstance(first, Outcome)

    headers = {key: value for key, value in request["headers"].items() if key.lower() != "content-type"}
    if not drop_content_type:
        headers["Content-Type"] = content_type
    if every_delivery_new(vector):
        replay = receiver.accept(delivery_of(vector, request, headers))
        assert isinstance(replay, Outcome)
        assert [envelope.id for envelope in queue.envelopes] == [first.envelope_id, replay.envelope_id]
        return
    replay = replayed(receiver, clock, delivery_of(vector, request, headers), first)
    assert replay == Outcome(envelope_id=first.envelope_id, duplicate=True)
    (queued,) = queue.envelopes
    assert queued.id == first.envelope_id


def _unsigned_id_header(source: Source) -> str | None:
    fields, scheme = source.spec.fields, source.spec.scheme
    if fields.id_header and fields.id_header != scheme.id_header:
        return fields.id_header
    return None


UNSIGNED_ID_VECTORS = sorted(
    name
    for name, vector in VECTORS.items()
    if _unsigned_id_header(parse_sources({"sources": [{"name": vector["name"], **vector["source"]}]})[vector["name"]])
)


def test_the_id_header_replay_covers_the_providers_that_need_it() -> None:
    named = {name.split("-", 1)[1] for name in UNSIGNED_ID_VECTORS}
    assert {"github", "shopify", "gitlab", "bitbucket", "gitea", "forgejo", "gogs", "jira", "linear", "sentry"} <= named
    assert {"razorpay", "woocommerce", "token", "twilio"} <= named


@pytest.mark.parametrize("name", UNSIGNED_ID_VECTORS)
@settings(max_examples=15, deadline=None)
@given(fresh_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=300))
def test_a_captured_delivery_replayed_under_a_fresh_id_header_is_a_duplicate(name: str, fresh_id: str) -> None:
    vector = VECTORS[name]
    receiver, queue, clock = receiver_for(vector)
    request = first_accepted(vector)
    first = receiver.accept(delivery_of(vector, request))
    assert isinstance(first, Outcome)
    source = parse_sources({"sources": [{"name": vector["name"], **vector["source"]}]})[vector["name"]]
    id_header = _unsigned_id_header(source)
    assert id_header is not None
    headers = {key: value for key, value in request["headers"].items() if key.lower() != id_header}
    headers[id_header] = fresh_id

    replay = replayed(receiver, clock, delivery_of(vector, request, headers), first)

    assert replay == Outcome(envelope_id=first.envelope_id, duplicate=True)
    assert len(queue.envelopes) == 1


def fixture_receiver(fixture_sources: dict[str, Source], now: float = FIXED_NOW) -> tuple[Receiver, InMemoryQueue]:
    receiver, queue, _ = fake_receiver(fixture_sources, SECRETS, now)
    return receiver, queue


def deliver(receiver: Receiver, source: str, body: bytes, headers: dict[str, str] | None = None) -> Outcome:
    signed = sign(source, body, timestamp=FIXED_NOW)
    sent = {key.lower(): value for key, value in {**signed.headers, **(headers or {})}.items()}
    outcome = receiver.accept(Delivery(source=source, headers=sent, body=body, query=signed.query))
    assert isinstance(outcome, Outcome)
    return outcome


def test_a_signed_json_string_that_looks_like_a_form_cannot_choose_the_id_or_type(
    fixture_sources: dict[str, Source],
) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    body = json.dumps({"id": "evt_real", "type": "invoice.paid", "note": "&id=evt_future&type=charge.refunded&"})
    outcome = deliver(receiver, "stripe", body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert outcome.envelope_id == "stripe/evt_real"
    (queued,) = queue.envelopes
    assert (queued.type, queued.body_format) == ("invoice.paid", "json")

    # The genuine future event is not suppressed as a duplicate of the replay.
    future = json.dumps({"id": "evt_future", "type": "charge.refunded"}).encode()
    assert deliver(receiver, "stripe", future) == Outcome("stripe/evt_future", duplicate=False)


def test_a_verified_body_without_the_id_its_kind_sends_is_kept_keyed_on_its_content(
    fixture_sources: dict[str, Source],
) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    body = b'{"type": "invoice.paid", "data": {}}'
    outcome = deliver(receiver, "stripe", body, {"X-Event-Id": "chosen-by-sender", "Idempotency-Key": "x"})
    assert outcome.envelope_id == f"stripe/{hashlib.sha256(body).hexdigest()}"
    assert [envelope.type for envelope in queue.envelopes] == ["invoice.paid"]


def test_json_nested_ten_thousand_deep_is_still_queued(fixture_sources: dict[str, Source]) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    body = b"[" * 10_000 + b"]" * 10_000
    outcome = deliver(receiver, "stripe", body)
    assert not outcome.duplicate
    (queued,) = queue.envelopes
    assert (queued.type, queued.raw_body()) == ("unknown", body)


@pytest.mark.parametrize(
    "hostile",
    ["\ud800", "id\udfff", "\ufffe", "\uffff", "ctrl\x00\x1b[2J", "x" * 300, "\u202e\x7f"],
    ids=["lone-high", "lone-low", "fffe", "ffff", "controls", "long", "bidi-del"],
)
def test_any_text_in_an_id_type_or_resource_reaches_the_queue(fixture_sources: dict[str, Source], hostile: str) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    # GitHub: id and type from (unsigned) headers; Stripe: id, type and resource from the signed JSON.
    deliver(receiver, "github", b'{"zen": 1}', {"X-GitHub-Delivery": hostile, "X-GitHub-Event": hostile})
    stripe_body = json.dumps({"id": hostile, "type": hostile, "data": {"object": {"id": hostile}}}).encode()
    deliver(receiver, "stripe", stripe_body)
    assert len(queue.envelopes) == 2  # InMemoryQueue refuses what SQS would refuse
    for envelope in queue.envelopes:
        assert envelope.event_id == hostile or envelope.event_id.startswith(DIGEST_ID_PREFIX)


def test_ids_longer_than_256_characters_that_differ_late_are_two_events(fixture_sources: dict[str, Source]) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    first = deliver(receiver, "stripe", json.dumps({"id": "e" * 300 + "1", "type": "t"}).encode())
    second = deliver(receiver, "stripe", json.dumps({"id": "e" * 300 + "2", "type": "t"}).encode())
    assert not first.duplicate
    assert not second.duplicate
    assert first.envelope_id != second.envelope_id
    assert len(queue.envelopes) == 2


def test_a_non_ascii_body_sha256_is_a_signature_refusal_not_a_crash(fixture_sources: dict[str, Source]) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    body = b'{"type": "x"}'
    signed = sign("twilio", body, timestamp=FIXED_NOW)
    for value in ("é" * 64, "\ud800", "0" * 63 + "é", "g" * 64):
        with pytest.raises(SignatureError) as refused:
            receiver.accept(
                Delivery(
                    source="twilio",
                    headers={k.lower(): v for k, v in signed.headers.items()},
                    body=body,
                    query={"bodySHA256": value},
                )
            )
        assert refused.value.reason in {"malformed_signature", "signature_mismatch"}
    assert queue.envelopes == []


def test_a_lone_surrogate_in_a_signed_id_header_fails_verification_cleanly(fixture_sources: dict[str, Source]) -> None:
    receiver, queue = fixture_receiver(fixture_sources)
    body = b'{"type": "a.b"}'
    signed = sign("standard", body, timestamp=FIXED_NOW)
    headers = {k.lower(): v for k, v in signed.headers.items()}
    headers["webhook-id"] = "msg_\ud800"
    with pytest.raises(SignatureError):
        receiver.accept(Delivery(source="standard", headers=headers, body=body))
    assert queue.envelopes == []


def test_a_small_order_ed25519_key_is_never_used_so_the_forgery_it_allows_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    identity_point = "01" + "00" * 31
    forged_signature = bytes.fromhex(identity_point) + bytes(32)  # R = the identity, S = 0
    body = b'{"type": 2, "event": {"type": "forged"}}'
    # The library alone accepts this forgery for this key: the receiver must not.
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(identity_point)).verify(forged_signature, b"1795600000" + body)

    sources = parse_sources({"sources": [{"name": "discord", "preset": "discord"}]})
    receiver, queue, _ = fake_receiver(sources, {"discord": [identity_point]}, FIXED_NOW)
    headers = {"x-signature-ed25519": forged_signature.hex(), "x-signature-timestamp": str(FIXED_NOW)}
    with pytest.raises(SourceUnavailableError):
        receiver.accept(Delivery(source="discord", headers=headers, body=body))
    assert queue.envelopes == []


def test_every_dropbox_notification_is_queued_even_when_bodies_repeat() -> None:
    vector = VECTORS["preset-dropbox"]
    receiver, queue, _ = receiver_for(vector)
    request = first_accepted(vector)
    outcomes = [receiver.accept(delivery_of(vector, request)) for _ in range(3)]
    assert all(isinstance(outcome, Outcome) and not outcome.duplicate for outcome in outcomes)
    assert len({envelope.id for envelope in queue.envelopes}) == 3


@pytest.mark.parametrize(("name", "preset"), [("preset-linear", "linear"), ("kind-hmac", None)])
def test_the_envelope_names_the_preset_its_source_was_made_from(name: str, preset: str | None) -> None:
    """Handlers may be registered for a preset, so the envelope carries it (None for a kind)."""
    vector = VECTORS[name]
    receiver, queue, _ = receiver_for(vector)
    assert isinstance(receiver.accept(delivery_of(vector, first_accepted(vector))), Outcome)
    (queued,) = queue.envelopes
    assert (queued.source, queued.kind, queued.preset) == (vector["name"], "hmac", preset)
