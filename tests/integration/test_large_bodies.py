"""Large bodies are kept, not refused (issue 11): verified GitHub pushes of 600 KB
and 3 MB are accepted, processed once and seen byte for byte by the handler; up to
4,669,440 bytes (MaxBodyBytes) is accepted, one byte more is 413 and writes nothing;
a claim-checked dead letter is shown, searched and replayed by the DLQ tools."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field

import boto3
import pytest

from tests.integration.conftest import Stack
from tests.support.lambda_context import lambda_context
from tests.support.payloads import github_push
from tests.support.project import FIXTURE_SOURCES
from tests.support.signers import sign
from tests.support.sqs import QueuePoller
from webhook_core.body_store import S3BodyStore
from webhook_core.payloads.github import PushEvent
from webhook_core.processing import Processor
from webhook_core.queue import MAX_MESSAGE_BYTES, message_size
from webhook_core.registry import Event, HandlerRegistry
from webhook_core.settings import MAX_BODY_LIMIT, ProcessorSettings
from webhooks_cli.dlq import DeadLetterQueue, Selection

pytestmark = pytest.mark.integration


@dataclass
class Seen:
    """What the handler was given, per envelope id."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    commits: dict[str, int] = field(default_factory=dict)
    runs: Counter[str] = field(default_factory=Counter)
    failing: bool = False


@pytest.fixture
def seen(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Seen:
    monkeypatch.setenv("LEDGER_TABLE_NAME", stack.resources.ledger_table)
    return Seen()


def drain(stack: Stack, seen: Seen) -> None:
    """The deployed processor's wiring (settings from the environment the template
    sets, the body bucket among them) with a handler that keeps what it sees."""
    registry = HandlerRegistry()

    @registry.on("github", "push", payload=PushEvent)
    def keep(event: Event[PushEvent]) -> None:
        if seen.failing:
            raise RuntimeError("the build service is down")
        seen.runs[event.envelope.id] += 1
        seen.bodies[event.envelope.id] = event.envelope.raw_body()
        seen.commits[event.envelope.id] = len(event.payload.commits)

    processor = Processor.from_settings(ProcessorSettings.from_environment(os.environ, FIXTURE_SOURCES), registry)
    QueuePoller(stack.sqs, stack.resources.queue_url).drain(
        lambda event, context: dict(processor.process_batch(event, context)), lambda_context()
    )


def queued_sizes(stack: Stack) -> list[int]:
    return [message_size(message["Body"], message["MessageAttributes"]) for message in stack.messages()]


@pytest.mark.parametrize(("size", "claim_checked"), [(600_000, False), (3_000_000, True)], ids=["600KB", "3MB"])
def test_a_large_verified_github_push_is_accepted_processed_once_and_seen_byte_for_byte(
    stack: Stack, seen: Seen, size: int, claim_checked: bool
) -> None:
    body = github_push(size)
    signed = sign("github", body)

    accepted = stack.deliver("github", signed)
    assert accepted.status == 202
    envelope_id = accepted.body["id"]
    assert stack.deliver("github", signed).status == 409  # a copy while the first may still be sending
    (message_bytes,) = queued_sizes(stack)
    assert message_bytes <= MAX_MESSAGE_BYTES  # as SQS counts: bytes (moto counts characters)
    digest = hashlib.sha256(body).hexdigest()
    assert stack.body_objects() == ([f"bodies/{digest}"] if claim_checked else [])  # nothing archived yet
    (message,) = stack.messages()
    envelope = json.loads(message["Body"])
    if claim_checked:
        assert envelope["body"] == ""
        assert envelope["body_ref"] == {"key": f"bodies/{digest}", "size": len(body), "sha256": digest}
    else:
        assert "body_ref" not in envelope or envelope["body_ref"] is None

    drain(stack, seen)
    assert seen.runs == Counter({envelope_id: 1})
    assert seen.bodies[envelope_id] == body
    assert seen.commits[envelope_id] == len(json.loads(body)["commits"])
    assert stack.deliver("github", signed).status == 200  # GitHub's redelivery: a duplicate, nothing stored
    assert [key for key in stack.body_objects() if key.startswith("bodies/")] == (
        [f"bodies/{digest}"] if claim_checked else []
    )


def test_the_largest_body_accepted_is_max_body_bytes_and_one_byte_more_is_413_writing_nothing(
    stack: Stack, seen: Seen
) -> None:
    push = github_push(MAX_BODY_LIMIT - 20_000)
    largest = push + b" " * (MAX_BODY_LIMIT - len(push))  # JSON allows trailing whitespace
    assert len(largest) == MAX_BODY_LIMIT == 4_669_440

    too_large = sign("github", largest + b" ")
    refused = stack.deliver("github", too_large)
    assert refused.status == 413
    assert refused.body["error"]["code"] == "payload_too_large"
    assert (stack.ledger_records(), stack.messages(), stack.body_objects()) == ([], [], [])

    signed = sign("github", largest)
    accepted = stack.deliver("github", signed)
    assert accepted.status == 202
    drain(stack, seen)
    assert seen.bodies == {accepted.body["id"]: largest}


def test_a_claim_checked_dead_letter_is_shown_searched_and_replayed(stack: Stack, seen: Seen) -> None:
    body = github_push(2_500_000)
    signed = sign("github", body)
    accepted = stack.deliver("github", signed)
    assert accepted.status == 202
    envelope_id = accepted.body["id"]
    seen.failing = True
    drain(stack, seen)  # fails MaxReceiveCount times: SQS moves it to the dead-letter queue
    (dead,) = stack.messages(stack.resources.dead_letter_queue_url)
    assert json.loads(dead["Body"])["body_ref"]["size"] == len(body)

    dlq = DeadLetterQueue(
        stack.sqs,
        stack.dynamodb,
        dead_letter_queue_url=stack.resources.dead_letter_queue_url,
        queue_url=stack.resources.queue_url,
        ledger_table=stack.resources.ledger_table,
        bodies=S3BodyStore(stack.resources.body_bucket),
    )
    (letter,) = dlq.select(Selection(grep="Commit 1234: corrige l'accès réseau"))
    assert letter.envelope_id == envelope_id
    assert letter.raw_body() == body
    assert letter.last_error == "RuntimeError: the build service is down"

    seen.failing = False  # the fix
    report = dlq.replay(Selection(ids=(envelope_id,)), rate=0)
    assert report.sent == [envelope_id]
    (replayed,) = stack.messages()
    assert replayed["Body"] == dead["Body"]  # the reference travels again, not the body
    drain(stack, seen)
    assert seen.runs == Counter({envelope_id: 1})
    assert seen.bodies[envelope_id] == body
    assert stack.messages(stack.resources.dead_letter_queue_url) == []


def test_the_receiver_creates_an_s3_client_only_when_a_large_body_arrives(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    original = boto3.client

    def recording_client(service: str, *args: object, **kwargs: object) -> object:
        created.append(service)
        return original(service, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(boto3, "client", recording_client)
    assert stack.deliver("github", sign("github")).status == 202  # the cold start, and a small body
    assert "s3" not in created
    assert sorted(set(created)) == ["dynamodb", "secretsmanager", "sqs"]
    assert stack.deliver("github", sign("github", github_push(1_500_000))).status == 202
    assert created.count("s3") == 1
