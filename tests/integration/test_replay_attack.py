"""`webhooks dlq replay --force` re-runs a processed event once: even when the
dead-letter queue holds two letters of it (a take-over's second message that
found the event busy until SQS gave up on it) and the processor drains the queue
between them."""

from __future__ import annotations

import time

import boto3
import pytest
from moto import mock_aws

from tests.support import template_resources
from tests.support.envelopes import envelope
from webhook_core.ledger import DynamoDBLedger, record_of
from webhooks_cli.dlq import DeadLetterQueue, Selection

pytestmark = pytest.mark.integration


def test_a_forced_replay_of_two_letters_of_one_event_runs_its_handler_once() -> None:
    with mock_aws():
        resources = template_resources.create()
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        ledger = DynamoDBLedger(resources.ledger_table, retention_seconds=3600, client=dynamodb)
        item = envelope(kind="stripe", event_type="invoice.paid", body={"n": 1})
        now = time.time()
        lock = ledger.lock(record_of(item, size=0), attempt=1, lock_until=now + 30, now=now, archive=None)
        ledger.finish(item.id, "processed", token=lock.token, now=now)
        for _ in range(2):  # two copies of the event ended in the dead-letter queue
            sqs.send_message(QueueUrl=resources.dead_letter_queue_url, MessageBody=item.to_message(250_000))
        runs: list[str] = []

        def drain(*_: object) -> None:
            """The processor: lock, run, finish, acknowledge."""
            for message in sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                at = time.time()
                taken = ledger.lock(record_of(item, size=0), attempt=1, lock_until=at + 30, now=at, archive=None)
                if taken.run:
                    runs.append(item.id)
                    ledger.finish(item.id, "processed", token=taken.token, now=at)
                sqs.delete_message(QueueUrl=resources.queue_url, ReceiptHandle=message["ReceiptHandle"])

        dlq = DeadLetterQueue(
            sqs,
            dynamodb,
            dead_letter_queue_url=resources.dead_letter_queue_url,
            queue_url=resources.queue_url,
            ledger_table=resources.ledger_table,
        )
        report = dlq.replay(Selection(ids=(item.id,)), rate=0, force=True, on_progress=drain)
        drain()
        assert report.sent == [item.id, item.id]
        assert runs == [item.id], "the forced replay ran the handler once per letter, not once"
