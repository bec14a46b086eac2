"""Nothing verified is lost: failures after verification answer 503 and release
the dedupe record; concurrent copies of one delivery are queued once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import Response, Stack
from tests.support import template_resources
from tests.support.signers import sign
from webhooks_cli.local.emulator import atomic_item_writes

pytestmark = pytest.mark.integration


def test_a_failed_enqueue_is_503_releases_the_record_and_the_retry_is_accepted_once(stack: Stack) -> None:
    signed = sign("stripe")
    queue_attributes = stack.sqs.get_queue_attributes(QueueUrl=stack.resources.queue_url, AttributeNames=["All"])
    stack.sqs.delete_queue(QueueUrl=stack.resources.queue_url)

    failed = stack.deliver("stripe", signed)
    assert failed.status == 503
    assert failed.body["error"]["code"] == "unavailable"
    assert stack.ledger_records() == []

    kept = {k: v for k, v in queue_attributes["Attributes"].items() if k in {"VisibilityTimeout", "RedrivePolicy"}}
    stack.sqs.create_queue(QueueName=stack.resources.queue_url.rsplit("/", 1)[1], Attributes=kept)
    retried = stack.deliver("stripe", signed)
    assert retried.status == 202
    stack.taken(retried.body["id"])
    assert stack.deliver("stripe", signed).status == 200
    assert len(stack.messages()) == 1


def test_an_unavailable_dedupe_table_is_503_and_nothing_is_queued(stack: Stack) -> None:
    stack.dynamodb.delete_table(TableName=stack.resources.ledger_table)
    response = stack.deliver("github", sign("github"))
    assert response.status == 503
    assert response.body["error"]["code"] == "unavailable"
    assert stack.messages() == []


def test_unreadable_secrets_are_503_and_nothing_is_written(stack: Stack) -> None:
    stack.secrets.delete_secret(SecretId=stack.resources.secret_id, ForceDeleteWithoutRecovery=True)
    response = stack.deliver("github", sign("github"))
    assert response.status == 503
    assert stack.ledger_records() == []
    assert stack.messages() == []


def test_a_copy_arriving_while_the_first_is_in_flight_gets_409_with_retry_after(stack: Stack) -> None:
    signed = sign("github")
    receiver = receiver_app.get_receiver()
    # Hold the first enqueue open so the copy deterministically arrives mid-flight.
    queue = receiver.queue
    sending, release = threading.Event(), threading.Event()
    original_send = queue.send

    def slow_send(envelope: Any) -> str:
        sending.set()
        assert release.wait(10)
        return original_send(envelope)

    queue.send = slow_send  # type: ignore[method-assign]
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(stack.deliver, "github", signed)
        assert sending.wait(10)
        copy = stack.deliver("github", signed)
        release.set()
        assert first.result(10).status == 202
    assert copy.status == 409
    assert copy.body == {
        "error": {"code": "in_progress", "message": "This event is still being accepted; retry later."}
    }
    assert int(copy.headers["retry-after"]) > 0
    stack.taken(first.result(10).body["id"])
    assert stack.deliver("github", signed).status == 200
    assert len(stack.messages()) == 1


def test_a_claim_left_by_a_crashed_invocation_runs_out_with_its_time_and_a_retry_takes_it_over(stack: Stack) -> None:
    from tests.support.lambda_context import lambda_context

    signed = sign("github")
    receiver = receiver_app.get_receiver()
    queue = receiver.queue
    original_send = queue.send

    def crash(envelope: Any) -> str:
        raise SystemExit("the invocation died")  # not an Exception: nothing releases the claim

    queue.send = crash  # type: ignore[method-assign]
    from tests.support.apigw import rest_event

    with pytest.raises(SystemExit):
        stack.invoke(rest_event("github", signed.body, signed.headers), lambda_context(remaining_millis=1))
    queue.send = original_send  # type: ignore[method-assign]
    (record,) = stack.ledger_records()
    assert record["status"]["S"] == "received"
    threading.Event().wait(1.05)  # a claim holds for at least a second
    assert stack.deliver("github", signed).status == 202
    assert len(stack.messages()) == 1


@pytest.fixture
def atomic_conditional_writes() -> None:
    """DynamoDB applies a conditional write atomically; moto does not (see the emulator,
    which makes it so for the local stack): the race below tests our code, not moto's."""
    atomic_item_writes()


@pytest.mark.usefixtures("atomic_conditional_writes")
def test_twenty_identical_deliveries_at_once_queue_exactly_one_message(stack: Stack) -> None:
    signed = sign("stripe")
    receiver_app.get_receiver()  # one cold start, as in one warm Lambda sandbox shared by the threads
    barrier = threading.Barrier(20)

    def deliver() -> Response:
        barrier.wait(10)
        return stack.deliver("stripe", signed)

    with ThreadPoolExecutor(20) as pool:
        statuses = sorted(result.status for result in pool.map(lambda _: deliver(), range(20)))
    assert statuses.count(202) == 1, statuses
    assert set(statuses) <= {200, 202, 409}
    messages = stack.messages()
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["event_id"] == signed.event_id


def test_the_resources_are_created_from_the_template(stack: Stack) -> None:
    table = stack.dynamodb.describe_table(TableName=stack.resources.ledger_table)["Table"]
    declared = template_resources.resource("LedgerTable")["Properties"]
    assert table["KeySchema"] == declared["KeySchema"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert (index["IndexName"], index["KeySchema"]) == (
        declared["GlobalSecondaryIndexes"][0]["IndexName"],
        declared["GlobalSecondaryIndexes"][0]["KeySchema"],
    )
    ttl = stack.dynamodb.describe_time_to_live(TableName=stack.resources.ledger_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    attributes = stack.sqs.get_queue_attributes(QueueUrl=stack.resources.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == template_resources.parameter_default(
        "MaxReceiveCount"
    )


def test_an_unexpected_error_after_verification_is_503_and_releases_the_record(stack: Stack) -> None:
    signed = sign("stripe")
    queue = receiver_app.get_receiver().queue
    original_send = queue.send

    def broken(envelope: Any) -> str:
        raise RuntimeError("a bug")

    queue.send = broken  # type: ignore[method-assign]
    response = stack.deliver("stripe", signed)
    assert response.status == 503
    assert "a bug" not in json.dumps(response.body)
    assert stack.ledger_records() == []
    queue.send = original_send  # type: ignore[method-assign]
    assert stack.deliver("stripe", signed).status == 202


def test_a_secrets_timeout_at_cold_start_is_503_naming_the_timeout_in_the_log(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, receiver_logs: Any
) -> None:
    # A timeout carries no AWS error response: naming its cause must not itself fail.
    from tests.support.faults import Arm, FaultInjector

    injector = FaultInjector()
    injector.install(monkeypatch)
    injector.arm(Arm("secretsmanager", "GetSecretValue", "timeout"))
    response = stack.deliver("github", sign("github"))
    assert (response.status, response.body["error"]["code"]) == (503, "source_unavailable")
    assert "ReadTimeoutError" in receiver_logs.getvalue()


def test_the_secrets_last_read_stand_in_for_fifteen_minutes_and_no_longer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.faults import Arm, FaultInjector
    from webhook_core.errors import SourceUnavailableError
    from webhook_core.secrets import MAX_STALE_SECONDS, SourceSecrets

    now = [1000.0]
    secrets = SourceSecrets(stack.resources.secret_id, max_age_seconds=0, clock=lambda: now[0])
    injector = FaultInjector()
    injector.install(monkeypatch)
    injector.arm(Arm("secretsmanager", "GetSecretValue", "error"))
    with pytest.raises(SourceUnavailableError):  # nothing read yet: nothing to stand in
        secrets.for_source("github")
    injector.disarm()
    fresh = secrets.for_source("github")
    injector.arm(Arm("secretsmanager", "GetSecretValue", "error", times=2))
    now[0] += MAX_STALE_SECONDS
    assert secrets.for_source("github") == fresh
    now[0] += 1
    with pytest.raises(SourceUnavailableError):
        secrets.for_source("github")
