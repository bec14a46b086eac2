"""`webhooks dlq` logic over moto: list and filter 500 dead letters, replay a
selection, survive an interrupted replay, dry runs, purge."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import template_resources
from tests.support.envelopes import envelope
from webhook_core.ledger import DynamoDBLedger, record_of
from webhooks_cli.dlq import DeadLetterQueue, Selection
from webhooks_cli.replaying import ALREADY_PROCESSED

pytestmark = pytest.mark.integration
KINDS = ("stripe", "github", "standard", "hmac")


@dataclass
class Dead:
    dlq: DeadLetterQueue
    sqs: Any
    dynamodb: Any
    resources: template_resources.Resources
    ids: list[str]

    def queue_ids(self, url: str) -> list[str]:
        found: dict[str, str] = {}
        while True:
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
                "Messages", []
            )
            if not batch or all(m["MessageId"] in found for m in batch):
                break
            found.update({m["MessageId"]: json.loads(m["Body"])["id"] for m in batch})
        return sorted(found.values())

    def visible(self, url: str) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _dead(count: int) -> Iterator[Dead]:
    with mock_aws():
        resources = template_resources.create()
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        ledger = DynamoDBLedger(resources.ledger_table, retention_seconds=3600, client=dynamodb)
        ids = []
        for n in range(count):
            kind = KINDS[n % 4]
            item = envelope(kind=kind, event_type=f"{kind}.event.{n % 3}", body={"n": n, "needle": n % 50 == 0})
            sqs.send_message(
                QueueUrl=resources.dead_letter_queue_url,
                MessageBody=item.to_message(250_000),
                MessageAttributes={
                    "source": {"DataType": "String", "StringValue": item.source},
                    "type": {"DataType": "String", "StringValue": item.type},
                },
            )
            ledger.fail(record_of(item, size=0), RuntimeError(f"boom {n}"), attempt=5, dead=True, now=time.time())
            ids.append(item.id)
        dlq = DeadLetterQueue(
            sqs,
            dynamodb,
            dead_letter_queue_url=resources.dead_letter_queue_url,
            queue_url=resources.queue_url,
            ledger_table=resources.ledger_table,
        )
        yield Dead(dlq, sqs, dynamodb, resources, sorted(ids))


@pytest.fixture
def dead() -> Iterator[Dead]:
    yield from _dead(60)


@pytest.fixture
def dead_500() -> Iterator[Dead]:
    """moto's ReceiveMessage is slow with hundreds of messages: one scan serves every check."""
    yield from _dead(500)


def test_listing_and_filtering_500_dead_letters_leaves_them_all_visible(dead_500: Dead) -> None:
    from datetime import UTC, datetime, timedelta

    letters = dead_500.dlq.select(Selection())
    assert sorted(letter.envelope_id for letter in letters) == dead_500.ids
    assert all(letter.last_error.startswith("RuntimeError: boom ") for letter in letters)
    assert all(letter.receive_count == 5 for letter in letters)
    assert dead_500.visible(dead_500.resources.dead_letter_queue_url) == (500, 0)

    def count(selection: Selection) -> int:
        return sum(1 for letter in letters if selection.matches(letter))

    assert count(Selection(source="github")) == 125
    assert count(Selection(source="stripe", type="stripe.event.1")) == 42
    assert count(Selection(grep='"needle": true')) == 10
    assert count(Selection(since=datetime.now(tz=UTC) + timedelta(minutes=1))) == 0
    assert count(Selection(since=datetime.now(tz=UTC) - timedelta(minutes=5))) == 500
    assert count(Selection(ids=(letters[7].message_id, letters[9].envelope_id))) == 2


def test_the_json_listing_has_the_documented_fields(dead: Dead) -> None:
    from datetime import UTC, datetime

    (first, *_) = dead.dlq.select(Selection(source="hmac"))
    document = first.as_json(datetime.now(tz=UTC))
    assert {"message_id", "id", "source", "type", "receive_count", "last_error"} <= set(document)
    assert json.loads(json.dumps(document)) == document


def test_replaying_a_filtered_selection_moves_exactly_those(dead: Dead) -> None:
    report = dead.dlq.replay(Selection(source="standard"), rate=0)
    moved = sorted(report.sent)
    assert len(moved) == 15
    assert dead.queue_ids(dead.resources.queue_url) == moved
    assert dead.visible(dead.resources.dead_letter_queue_url)[0] == 45
    assert sorted(letter.envelope_id for letter in dead.dlq.select(Selection())) == sorted(set(dead.ids) - set(moved))


def test_replay_by_id_moves_only_the_given_ones(dead: Dead) -> None:
    chosen = (dead.ids[3], dead.ids[47])
    report = dead.dlq.replay(Selection(ids=chosen), rate=0)
    assert sorted(report.sent) == sorted(chosen)
    assert dead.queue_ids(dead.resources.queue_url) == sorted(chosen)


def test_an_interrupted_replay_loses_nothing_and_run_again_finishes(
    dead: Dead, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_send = dead.sqs.send_message
    sent = {"count": 0}

    def failing_send(**kwargs: Any) -> Any:
        if sent["count"] == 6:
            raise ConnectionError("the network went away")
        sent["count"] += 1
        return original_send(**kwargs)

    monkeypatch.setattr(dead.sqs, "send_message", failing_send)
    with pytest.raises(ConnectionError):
        dead.dlq.replay(Selection(source="stripe"), rate=0)
    monkeypatch.setattr(dead.sqs, "send_message", original_send)

    on_main = dead.queue_ids(dead.resources.queue_url)
    still_dead = [letter.envelope_id for letter in dead.dlq.select(Selection())]
    assert set(on_main) | set(still_dead) == set(dead.ids)  # nothing lost
    assert len(on_main) == 6
    assert dead.visible(dead.resources.dead_letter_queue_url) == (54, 0)  # nothing left hidden

    report = dead.dlq.replay(Selection(source="stripe"), rate=0)
    assert len(report.sent) == 9
    assert dead.dlq.select(Selection(source="stripe")) == []


def test_a_dry_run_changes_nothing(dead: Dead) -> None:
    report = dead.dlq.replay(Selection(source="hmac"), rate=0, dry_run=True)
    assert len(report.sent) == 15
    assert dead.visible(dead.resources.dead_letter_queue_url) == (60, 0)
    assert dead.visible(dead.resources.queue_url) == (0, 0)
    assert len(dead.dlq.purge(Selection(source="hmac"), dry_run=True)) == 15
    assert dead.visible(dead.resources.dead_letter_queue_url) == (60, 0)


def test_purge_removes_only_the_filtered_ones(dead: Dead) -> None:
    removed = dead.dlq.purge(Selection(source="github", type="github.event.0"))
    assert {letter.source for letter in removed} == {"github"}
    remaining = dead.dlq.select(Selection())
    assert len(remaining) == 60 - len(removed)
    assert not {letter.envelope_id for letter in removed} & {letter.envelope_id for letter in remaining}


def test_an_already_processed_envelope_is_skipped_unless_forced(dead: Dead) -> None:
    done = dead.ids[0]
    dead.dynamodb.update_item(
        TableName=dead.resources.ledger_table,
        Key={"id": {"S": f"event#{done}"}},
        UpdateExpression="SET #s = :done",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": {"S": "processed"}},
    )
    report = dead.dlq.replay(Selection(ids=(done,)), rate=0)
    assert (report.sent, report.skipped) == ([], [(done, ALREADY_PROCESSED)])
    forced = dead.dlq.replay(Selection(ids=(done,)), rate=0, force=True)
    assert forced.sent == [done]
    record = dead.dlq.ledger.get(done)
    assert record is not None
    assert record.status == "queued"  # reopened: the processor runs it once more


def test_a_dead_letter_replayed_from_the_archive_still_says_when_and_after_how_many_receives_it_died(
    dead: Dead,
) -> None:
    """`events replay` runs a dead event again from the archive (its letter stays until
    purged): its record's attempts and time move on, the letter's receives and failure
    time do not."""
    replayed = dead.ids[0]
    died_at = dead.dlq.ledger.get(replayed).updated_at  # type: ignore[union-attr]
    assert dead.dlq.ledger.reopen(replayed, now=time.time() + 1, force=True) is None
    record = dead.dlq.ledger.get(replayed)
    assert record is not None
    later = time.time() + 5
    lock = dead.dlq.ledger.lock(record, attempt=1, lock_until=later + 30, now=later, archive=None)
    assert lock.run
    dead.dlq.ledger.finish(replayed, "processed", token=lock.token, now=later)
    assert dead.dlq.ledger.get(replayed).attempts == 6  # type: ignore[union-attr]

    (letter,) = dead.dlq.select(Selection(ids=(replayed,)))
    assert letter.receive_count == 5
    assert letter.failed_at == died_at
    document = letter.as_json(datetime.now(UTC))
    assert (document["receive_count"], document["failed_at"]) == (5, died_at.isoformat())  # type: ignore[union-attr]
