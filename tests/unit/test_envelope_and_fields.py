from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from webhook_core.envelope import Envelope, Verification
from webhook_core.providers.fields import EventFields
from webhook_core.queue import MAX_MESSAGE_BYTES
from webhook_core.sources import Source


def envelope(raw: bytes) -> Envelope:
    body, encoding = Envelope.encode_body(raw)
    return Envelope(
        id="s/e",
        event_id="e",
        source="s",
        kind="hmac",
        type="t",
        received_at=datetime.now(tz=UTC),
        body=body,
        body_encoding=encoding,
        verification=Verification(secret_index=0),
    )


def test_a_message_queued_before_envelopes_named_their_preset_is_still_valid() -> None:
    old = json.loads(envelope(b"{}").model_dump_json())
    del old["preset"]
    assert Envelope.model_validate_json(json.dumps(old)).preset is None
    with_preset = Envelope.model_validate_json(json.dumps({**old, "preset": "linear"}))
    assert with_preset.preset == "linear"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b'{"a": 1}', "text"),
        ("caf\u00e9 \u2603 \U0001f600".encode(), "text"),
        (b"\xff\xfe binary", "base64"),
        ("bad \ufffe char".encode(), "base64"),
        ("bad \uffff char".encode(), "base64"),
        (b"controls \x00\x01\x1f\x7f are escaped", "text"),
        (b"", "text"),
    ],
)
def test_the_body_travels_as_text_when_sqs_can_carry_it_and_base64_otherwise(raw: bytes, encoding: str) -> None:
    message = envelope(raw)
    assert message.body_encoding == encoding
    sqs_body = message.to_message(MAX_MESSAGE_BYTES)
    assert all(
        ch in "\t\n\r" or 0x20 <= ord(ch) <= 0xD7FF or 0xE000 <= ord(ch) <= 0xFFFD or ord(ch) >= 0x10000
        for ch in sqs_body
    )
    assert Envelope.model_validate_json(sqs_body).raw_body() == raw


def test_a_body_whose_json_escaping_would_not_fit_sqs_goes_base64() -> None:
    raw = b"\x01" * 200_000  # valid UTF-8, but each byte becomes six characters of JSON
    message = envelope(raw).to_message(MAX_MESSAGE_BYTES - 4096)
    assert len(message.encode()) < MAX_MESSAGE_BYTES
    decoded = Envelope.model_validate_json(message)
    assert decoded.body_encoding == "base64"
    assert decoded.raw_body() == raw


def test_stripe_facts_come_from_the_body(fixture_sources: dict[str, Source]) -> None:
    body = json.dumps(
        {"id": "evt_1", "type": "invoice.paid", "created": 1_700_000_000, "data": {"object": {"id": "in_1"}}}
    )
    facts = fixture_sources["stripe"].spec.fields.extract({}, body.encode())
    assert (facts.event_id, facts.type, facts.resource_id) == ("evt_1", "invoice.paid", "in_1")
    assert facts.occurred_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_github_facts_come_from_headers(fixture_sources: dict[str, Source]) -> None:
    headers = {"x-github-delivery": "d-1", "x-github-event": "push"}
    facts = fixture_sources["github"].spec.fields.extract(headers, b'{"repository": {"full_name": "o/r"}}')
    assert (facts.event_id, facts.type, facts.resource_id, facts.occurred_at) == ("d-1", "push", "o/r", None)


def test_standard_time_is_iso8601(fixture_sources: dict[str, Source]) -> None:
    facts = fixture_sources["standard"].spec.fields.extract(
        {"webhook-id": "msg_1"}, b'{"type": "a.b", "timestamp": "2026-11-25T09:00:00.5Z"}'
    )
    assert facts.occurred_at == datetime(2026, 11, 25, 9, 0, 0, 500_000, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"id": {"nested": 1}, "type": true}'])
def test_a_body_that_does_not_parse_still_gets_an_id_from_its_hash(
    fixture_sources: dict[str, Source], body: bytes
) -> None:
    facts = fixture_sources["stripe"].spec.fields.extract({}, body)
    assert facts.event_id == hashlib.sha256(body).hexdigest()
    assert facts.type == "unknown"


def test_kept_headers_are_bounded() -> None:
    fields = EventFields(kept_headers=("x-a", "x-b"))
    assert fields.kept({"x-a": "v" * 5000, "x-c": "no"}) == {"x-a": "v" * 1024}
