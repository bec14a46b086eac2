"""A Figma source through the real receiver handler, in moto: the passcode Figma puts in
the JSON body verifies the delivery and is then nowhere the stack keeps anything: not in
the SQS message, the claim-checked body in S3, the ledger item, a kept rejected request,
the receiver's log lines or its answers; and `webhooks events show` / `rejected show` show
Figma's payload without it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import OperatedStack, Stack
from tests.support.apigw import rest_event
from tests.support.lambda_context import lambda_context
from tests.support.leaks import WATCH
from tests.support.processors import processor_on
from tests.support.project import FIXTURE_SOURCES
from tests.support.sqs import QueuePoller
from webhook_core.body_store import S3BodyStore
from webhook_core.errors import SignatureError
from webhook_core.ledger import DynamoDBLedger, Outcome
from webhook_core.queue import EnvelopeQueue
from webhook_core.receiving import Delivery, Receiver
from webhook_core.registry import Event, HandlerRegistry
from webhook_core.rejected import AwsRejectedRequests
from webhook_core.secrets import SourceSecrets
from webhook_core.sources import load_sources

pytestmark = pytest.mark.integration
PASSCODE = "figma-passcode-4b1d6e0c9a"
ROTATED = "figma-passcode-rotated-3e7f2a"
RETIRED = "figma-passcode-retired-81c5d0"
JSON_TYPE = {"Content-Type": "application/json", "User-Agent": "Figma"}


def comment(passcode: str) -> dict[str, Any]:
    """Figma's FILE_COMMENT example (developers.figma.com/docs/rest-api/webhooks-events)."""
    return {
        "comment": [{"text": "TODO: "}, {"mention": "811724164054158337"}, {"text": " change selection colors"}],
        "comment_id": "32",
        "created_at": "2020-02-23T20:27:16Z",
        "event_type": "FILE_COMMENT",
        "file_key": "zH44k2FUM629Fa4EMShiHL",
        "file_name": "Mockup library",
        "mentions": [{"id": "811724164054158337", "handle": "Evan Wallace"}],
        "passcode": passcode,
        "timestamp": "2020-02-23T20:27:16Z",
        "triggered_by": {"id": "813845097374535682", "handle": "Dylan Field"},
        "webhook_id": "22",
    }


def post(stack: Stack, document: dict[str, Any] | bytes, headers: dict[str, str] = JSON_TYPE) -> Any:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return stack.invoke(rest_event("figma", body, headers))


def everything_stored(stack: Stack) -> str:
    """Every message on the queue, every item in the ledger table, every object in the bucket."""
    messages = json.dumps(stack.messages())
    items = json.dumps(stack.dynamodb.scan(TableName=stack.resources.ledger_table)["Items"])
    objects = [
        stack.s3.get_object(Bucket=stack.resources.body_bucket, Key=key)["Body"].read().decode("utf-8", "replace")
        for key in stack.body_objects()
    ]
    return "\n".join([messages, items, *objects])


def test_the_passcode_verifies_and_is_nowhere_the_stack_keeps_anything(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver_logs: io.StringIO
) -> None:
    WATCH.watch(PASSCODE, ROTATED, RETIRED)  # the suite's leak check: every log record and answer
    sources = tmp_path / "sources.json"
    sources.write_text(json.dumps({"sources": [{"name": "figma", "preset": "figma"}]}))
    monkeypatch.setenv("SOURCES_FILE", str(sources))
    receiver_app.get_receiver.cache_clear()
    stack.set_secrets({"figma": [ROTATED, PASSCODE]})  # mid-rotation: both passcodes active

    accepted = post(stack, comment(PASSCODE))
    assert accepted.status == 200  # Figma takes anything else for a failure
    assert accepted.body["status"] == "accepted"
    envelope_id = accepted.body["id"]

    # A LIBRARY_PUBLISH of megabytes: claim-checked to S3, the passcode cut out before.
    components = [{"key": f"{n:040x}", "name": f"Icon/{n}"} for n in range(30_000)]
    large = {**comment(ROTATED), "event_type": "LIBRARY_PUBLISH", "created_components": components}
    assert post(stack, large).status == 200
    assert stack.body_objects(), "the large body was not claim-checked"

    assert post(stack, comment(RETIRED)).status == 401  # an old passcode: refused and kept
    form = f"event_type=FILE_UPDATE&passcode={RETIRED}".encode()
    assert post(stack, form, {"Content-Type": "application/x-www-form-urlencoded"}).status == 401
    nested = {**comment(PASSCODE), "passcode": {"value": PASSCODE}}
    assert post(stack, nested).status == 401

    ping = {"event_type": "PING", "passcode": PASSCODE, "timestamp": "2020-02-23T20:27:16Z", "webhook_id": "22"}
    answered = post(stack, ping)
    assert (answered.status, answered.body) == (200, None)

    # Figma's retry of the comment, sent after the passcode was rotated at Figma: the same event.
    stack.taken(envelope_id)
    retry = post(stack, comment(ROTATED))
    assert (retry.status, retry.body) == (200, {"status": "duplicate", "id": envelope_id})

    queued = [json.loads(message["Body"]) for message in stack.messages()]
    assert sorted(envelope["type"] for envelope in queued) == ["FILE_COMMENT", "LIBRARY_PUBLISH"]
    (first,) = [envelope for envelope in queued if envelope["id"] == envelope_id]
    without = {key: value for key, value in comment(PASSCODE).items() if key != "passcode"}
    assert json.loads(first["body"]) == without  # the handler's payload: Figma's, minus the passcode
    assert len(stack.ledger_records()) == 2
    kept = [key for key in stack.body_objects() if key.startswith("rejected/")]
    assert len(kept) == 3

    stored = everything_stored(stack)
    logs = receiver_logs.getvalue()
    assert '"accepted"' in logs or "accepted" in logs  # the log was captured
    for secret in (PASSCODE, ROTATED, RETIRED):
        assert secret not in stored
        assert secret not in logs


def receiver_of(stack: OperatedStack) -> Receiver:
    resources, dynamodb, s3 = stack.resources, stack.client("dynamodb"), stack.client("s3")
    return Receiver(
        sources=load_sources(FIXTURE_SOURCES),
        secrets=SourceSecrets(resources.secret_id, max_age_seconds=0, client=stack.client("secretsmanager")),
        ledger=DynamoDBLedger(resources.ledger_table, retention_seconds=86_400, client=dynamodb),
        queue=EnvelopeQueue(resources.queue_url, stack.client("sqs"), bodies=S3BodyStore(resources.body_bucket, s3)),
        max_body_bytes=1_000_000,
        rejected=AwsRejectedRequests(resources.ledger_table, resources.body_bucket, dynamodb=dynamodb, s3=s3),
    )


def cli(stack: OperatedStack, *arguments: str) -> str:
    result = stack.webhooks(*arguments)
    WATCH.see(f"webhooks {' '.join(arguments[:2])}", result.output)
    assert result.exit_code == 0, result.output
    return result.output


def test_events_show_and_rejected_show_print_figmas_payload_without_the_passcode(
    operated_stack: OperatedStack,
) -> None:
    stack = operated_stack
    WATCH.watch(PASSCODE, RETIRED)
    cli(stack, "secrets", "set", "figma", PASSCODE)
    receiver = receiver_of(stack)
    outcome = receiver.accept(
        Delivery("figma", {"content-type": "application/json"}, json.dumps(comment(PASSCODE)).encode())
    )
    assert isinstance(outcome, Outcome)
    with pytest.raises(SignatureError):
        receiver.accept(Delivery("figma", {"content-type": "application/json"}, json.dumps(comment(RETIRED)).encode()))
    # The processor takes it: the handler's payload is Figma's, without the passcode.
    payloads: list[Any] = []
    registry = HandlerRegistry()

    @registry.on("figma", "FILE_COMMENT")
    def on_comment(event: Event[Any]) -> None:
        payloads.append(event.payload)

    processor = processor_on(stack.resources, registry=registry)
    QueuePoller(stack.client("sqs"), stack.resources.queue_url).drain(
        lambda event, context: dict(processor.process_batch(event, context)), lambda_context()
    )
    assert payloads == [{key: value for key, value in comment(PASSCODE).items() if key != "passcode"}]

    event = cli(stack, "events", "show", outcome.envelope_id)
    assert "change selection colors" in event
    (rejected,) = json.loads(cli(stack, "rejected", "list", "--json"))
    shown = cli(stack, "rejected", "show", rejected["id"])
    assert "Mockup library" in shown
    assert "no secret of the source matched" in shown  # the reason it had when it arrived
    assert "cut out of what is kept, so it cannot be verified again" in shown
    for output in (event, shown):
        assert "passcode" not in output
        assert PASSCODE not in output
        assert RETIRED not in output
