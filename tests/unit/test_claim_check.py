"""The claim-check, without AWS: which envelopes travel inline and which by
reference, measured in bytes as SQS measures them; the one body decoder; the S3
adapter's lazy client; and the body limit's arithmetic."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.apigw import rest_event
from tests.support.payloads import github_push
from webhook_core.body_store import S3BodyStore
from webhook_core.envelope import BodyRef, Envelope, Verification
from webhook_core.errors import BodyStoreError, QueueError, ServiceUnavailableError
from webhook_core.queue import MAX_MESSAGE_BYTES, EnvelopeQueue, message_size
from webhook_core.settings import LAMBDA_SYNC_PAYLOAD_BYTES, MAX_BODY_LIMIT, ReceiverSettings
from webhook_core.testing import InMemoryBodyStore


class RecordingSqs:
    """Stands in for the SQS client: keeps what was sent, refuses what SQS would."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, str]:
        size = message_size(request["MessageBody"], request["MessageAttributes"])
        if size > MAX_MESSAGE_BYTES:
            raise AssertionError(f"SQS would refuse a message of {size} bytes")
        self.sent.append(request)
        return {"MessageId": f"m-{len(self.sent)}"}


def envelope(raw: bytes, event_type: str = "push") -> Envelope:
    body, encoding = Envelope.encode_body(raw)
    return Envelope(
        id="github/d-1",
        event_id="d-1",
        source="github",
        kind="github",
        type=event_type,
        received_at=datetime.now(tz=UTC),
        body=body,
        body_encoding=encoding,
        verification=Verification(secret_index=0),
    )


def send(raw: bytes) -> tuple[Envelope, InMemoryBodyStore]:
    sqs, bodies = RecordingSqs(), InMemoryBodyStore()
    EnvelopeQueue("https://sqs.example/q", sqs, bodies=bodies).send(envelope(raw))  # type: ignore[arg-type]
    (request,) = sqs.sent
    return Envelope.model_validate_json(request["MessageBody"]), bodies


def test_a_600_kb_push_travels_inline_in_one_message() -> None:
    raw = github_push(600_000)
    sent, bodies = send(raw)
    assert (sent.body_ref, bodies.puts) == (None, 0)
    assert sent.raw_body() == raw


def test_a_3_mb_push_waits_in_the_body_store_and_the_message_carries_its_reference() -> None:
    raw = github_push(3_000_000)
    sent, bodies = send(raw)
    digest = hashlib.sha256(raw).hexdigest()
    assert sent.body_ref == BodyRef(key=f"bodies/{digest}", size=len(raw), sha256=digest)
    assert sent.body == ""
    assert bodies.objects == {f"bodies/{digest}": raw}
    assert sent.raw_body(bodies) == raw
    assert sent.raw_body() == raw  # read once, then kept: handlers need no store


def test_the_message_is_measured_in_bytes_not_characters() -> None:
    # 400,000 characters, 1,200,000 bytes: moto (characters) would take it inline, SQS (bytes) would not.
    raw = ("€" * 400_000).encode()
    assert len(raw.decode()) < MAX_MESSAGE_BYTES < len(raw)
    sent, bodies = send(raw)
    assert sent.body_ref is not None
    assert bodies.objects[sent.body_ref.key] == raw


def test_a_message_just_over_the_limit_in_bytes_is_claim_checked_and_one_just_under_is_not() -> None:
    attributes = message_size("", {"source": {"DataType": "String", "StringValue": "github"}}) + message_size(
        "", {"type": {"DataType": "String", "StringValue": "push"}}
    )
    overhead = len(envelope(b"").to_message(MAX_MESSAGE_BYTES).encode()) + attributes
    fits = b"a" * (MAX_MESSAGE_BYTES - overhead)
    sent, bodies = send(fits)
    assert (sent.body_ref, bodies.puts) == (None, 0)
    sent, bodies = send(fits + b"a")
    assert sent.body_ref is not None
    assert bodies.puts == 1


def test_a_failed_put_sends_nothing_and_is_a_503() -> None:
    sqs, bodies = RecordingSqs(), InMemoryBodyStore()
    bodies.fail_puts = 1
    with pytest.raises(BodyStoreError) as raised:
        EnvelopeQueue("q", sqs, bodies=bodies).send(envelope(github_push(2_000_000)))  # type: ignore[arg-type]
    assert isinstance(raised.value, ServiceUnavailableError)
    assert raised.value.status == 503
    assert sqs.sent == []
    assert not issubclass(BodyStoreError, QueueError)


def test_a_claim_checked_body_is_checked_against_its_size_and_sha256() -> None:
    raw = github_push(1_500_000)
    sent, bodies = send(raw)
    assert sent.body_ref is not None
    message = sent.model_dump_json()
    bodies.objects[sent.body_ref.key] = raw[:-1] + b" "
    with pytest.raises(BodyStoreError, match="not the one referenced"):
        Envelope.model_validate_json(message).raw_body(bodies)
    with pytest.raises(BodyStoreError, match="no store"):
        Envelope.model_validate_json(message).raw_body()
    del bodies.objects[sent.body_ref.key]
    with pytest.raises(BodyStoreError, match="NoSuchKey"):
        Envelope.model_validate_json(message).raw_body(bodies)


def test_the_s3_adapter_creates_its_client_only_for_the_first_large_body() -> None:
    created: list[object] = []

    class FakeS3:
        def __init__(self) -> None:
            self.objects: dict[str, bytes] = {}

        def put_object(self, **request: Any) -> None:
            self.objects[request["Key"]] = request["Body"]

        def get_object(self, **request: Any) -> dict[str, Any]:
            body = self.objects[request["Key"]]

            class Stream:
                def read(self) -> bytes:
                    return body

            return {"Body": Stream()}

    def factory() -> FakeS3:
        created.append(FakeS3())
        return created[-1]  # type: ignore[return-value]

    store = S3BodyStore("bodies", client_factory=factory)
    assert created == []
    store.put("bodies/k", b"x" * 10)
    store.put("bodies/j", b"y")
    assert store.get("bodies/k") == b"x" * 10
    assert len(created) == 1


def test_the_default_body_limit_is_the_largest_body_a_synchronous_invocation_carries() -> None:
    settings = ReceiverSettings.from_environment(
        {"SOURCE_SECRETS_ID": "s", "LEDGER_TABLE_NAME": "d", "EVENTS_QUEUE_URL": "q", "BODY_BUCKET_NAME": "b"},
        default_sources_file=Path("s.json"),
    )
    assert settings.max_body_bytes == MAX_BODY_LIMIT == 4_669_440
    # API Gateway's cap on the request line and headers is 10,240 bytes: fill it, every
    # header value a character JSON escapes, and the event still fits Lambda's 6 MB.
    headers = {f"X-Pad-{n:03d}": '"' * 90 for n in range(100)}
    event = rest_event("github", b"\x00" * MAX_BODY_LIMIT, headers)
    size = len(json.dumps(event).encode())
    assert size <= LAMBDA_SYNC_PAYLOAD_BYTES, size
    assert len(event["body"]) == len(base64.b64encode(b"\x00" * MAX_BODY_LIMIT)) == 6_225_920
