"""`webhooks dev` keeps its state across a restart (webhooks_cli.local.persistence): what
one emulator held comes back in another, through the snapshot's bytes, exactly."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict

from webhooks_cli.local.persistence import Snapshot, Snapshotter

pytestmark = pytest.mark.integration
REGION = "us-east-1"
ALL_BYTES = bytes(range(256))

ODD_ITEMS: list[dict[str, Any]] = [
    {
        "pk": {"S": "binary"},
        "sk": {"N": "1"},
        "blob": {"B": ALL_BYTES},
        "empty_blob": {"B": b""},
        "blobs": {"BS": [b"\x00", b"\xff\xfe", ALL_BYTES[:7]]},
    },
    {
        "pk": {"S": "numbers"},
        "sk": {"N": "2"},
        "precise": {"N": "12345678901234567890.123456789"},
        "negative": {"N": "-0.000001"},
        "huge": {"N": "9.99E+125"},
        "numbers": {"NS": ["1", "2.5", "-3"]},
    },
    {
        "pk": {"S": "nested ✓ \u202e"},
        "sk": {"N": "3"},
        "map": {
            "M": {
                "blob": {"B": b"\x00\x01"},
                "list": {"L": [{"S": ""}, {"N": "0"}, {"BOOL": False}, {"NULL": True}, {"B": b"\x80"}]},
                "deeper": {"M": {"strings": {"SS": ["a", "é", "🙂"]}, "blobs": {"BS": [b"x"]}}},
            }
        },
        "list": {"L": [{"M": {}}, {"L": []}, {"SS": ["z"]}, {"NS": ["7"]}]},
        "yes": {"BOOL": True},
        "nothing": {"NULL": True},
    },
]


@pytest.fixture
def emulator() -> Iterator[Any]:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def restart(snapshot: Snapshot) -> Snapshot:
    """What a restart sees: the snapshot as written to and read from its file, with moto
    reset (a new process starts empty)."""
    data = snapshot.to_bytes()
    BackendDict.reset()
    return Snapshot.from_bytes(data)


def create_table(session: Any, name: str = "webhooks-local-LedgerTable") -> None:
    session.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_queues(session: Any) -> tuple[str, str]:
    sqs = session.client("sqs")
    dead = sqs.create_queue(QueueName="webhooks-local-EventsDeadLetterQueue")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn":"{dead_arn}","maxReceiveCount":"5"}}'
    main = sqs.create_queue(QueueName="webhooks-local-EventsQueue", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    return main, dead


def all_items(session: Any, table: str = "webhooks-local-LedgerTable") -> list[dict[str, Any]]:
    items = session.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: Decimal(item["sk"]["N"]))


def test_odd_items_come_back_with_every_attribute_of_every_type(emulator: Any) -> None:
    create_table(emulator)
    dynamodb = emulator.client("dynamodb")
    for item in ODD_ITEMS:
        dynamodb.put_item(TableName="webhooks-local-LedgerTable", Item=item)
    # Written by an update too: moto may keep what an expression set in another form.
    dynamodb.update_item(
        TableName="webhooks-local-LedgerTable",
        Key={"pk": {"S": "updated"}, "sk": {"N": "4"}},
        UpdateExpression="SET #s = :s, payload = :b, nested = :m",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":s": {"S": "COMPLETED"},
            ":b": {"B": b"\x00\xffupdated"},
            ":m": {"M": {"b": {"B": b"\x01"}, "bs": {"BS": [b"\x02"]}}},
        },
    )
    before = all_items(emulator)
    assert len(before) == 4

    snapshot = restart(Snapshotter(emulator, region=REGION).capture())
    create_table(emulator)
    restored = Snapshotter(emulator, region=REGION).restore(snapshot)

    assert restored.items == 4
    assert all_items(emulator) == before
    # The table's index sees the restored items as it saw the originals.
    by_status = emulator.client("dynamodb").query(
        TableName="webhooks-local-LedgerTable",
        IndexName="by-status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "COMPLETED"}},
    )["Items"]
    assert [item["pk"]["S"] for item in by_status] == ["updated"]


def test_messages_come_back_visible_with_attributes_ids_sent_times_and_receive_counts(emulator: Any) -> None:
    main, dead = create_queues(emulator)
    sqs = emulator.client("sqs")
    attributes = {
        "text": {"DataType": "String", "StringValue": "héllo"},
        "number": {"DataType": "Number", "StringValue": "12.5"},
        "blob": {"DataType": "Binary", "BinaryValue": ALL_BYTES},
        "custom": {"DataType": "String.envelope", "StringValue": "v1"},
    }
    waiting = sqs.send_message(QueueUrl=main, MessageBody='{"id": "waiting"}', MessageAttributes=attributes)
    sqs.send_message(QueueUrl=main, MessageBody="in flight ✓")
    sqs.send_message(QueueUrl=dead, MessageBody='{"id": "dead"}', MessageAttributes={"text": attributes["text"]})

    # Received twice and still held (in flight, invisible): no ReceiveMessage returns it now.
    for _ in range(2):
        held = sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert len(held) == 2
    sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10, VisibilityTimeout=600)
    sqs.receive_message(QueueUrl=dead, VisibilityTimeout=600)
    assert sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10).get("Messages", []) == []

    snapshot = restart(Snapshotter(emulator, region=REGION).capture())
    main, dead = create_queues(emulator)
    restored = Snapshotter(emulator, region=REGION).restore(snapshot)
    assert restored.messages == {"webhooks-local-EventsQueue": 2, "webhooks-local-EventsDeadLetterQueue": 1}
    assert restored.describe({"webhooks-local-EventsDeadLetterQueue"}) == "2 queued messages, 1 dead letter"

    sqs = emulator.client("sqs")
    received = sqs.receive_message(
        QueueUrl=main, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    by_body = {message["Body"]: message for message in received}
    assert set(by_body) == {'{"id": "waiting"}', "in flight ✓"}
    first = by_body['{"id": "waiting"}']
    assert first["MessageId"] == waiting["MessageId"]
    assert first["MessageAttributes"] == attributes
    assert first["MD5OfMessageAttributes"] == waiting["MD5OfMessageAttributes"]
    # Three receives before the restart, this one the fourth.
    assert first["Attributes"]["ApproximateReceiveCount"] == "4"
    assert int(first["Attributes"]["SentTimestamp"]) <= int(first["Attributes"]["ApproximateFirstReceiveTimestamp"])

    letter = sqs.receive_message(QueueUrl=dead, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    assert [(m["Body"], m["MessageAttributes"]) for m in letter] == [('{"id": "dead"}', {"text": attributes["text"]})]
    assert letter[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_restored_message_at_its_last_receive_is_redriven_to_the_dead_letter_queue(emulator: Any) -> None:
    main, _ = create_queues(emulator)
    sqs = emulator.client("sqs")
    sqs.send_message(QueueUrl=main, MessageBody="poison")
    for _ in range(5):
        sqs.receive_message(QueueUrl=main, VisibilityTimeout=0)

    snapshot = restart(Snapshotter(emulator, region=REGION).capture())
    main, dead = create_queues(emulator)
    Snapshotter(emulator, region=REGION).restore(snapshot)

    sqs = emulator.client("sqs")
    assert sqs.receive_message(QueueUrl=main).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=dead, AttributeNames=["All"])["Messages"]
    assert [message["Body"] for message in moved] == ["poison"]


def test_objects_and_secrets_come_back_byte_for_byte(emulator: Any) -> None:
    s3, secrets = emulator.client("s3"), emulator.client("secretsmanager")
    s3.create_bucket(Bucket="webhooks-local-bodybucket")
    s3.put_object(
        Bucket="webhooks-local-bodybucket",
        Key="bodies/stripe/evt 1",
        Body=ALL_BYTES * 1000,
        ContentType="application/octet-stream",
        Metadata={"source": "stripe"},
    )
    s3.put_object(Bucket="webhooks-local-bodybucket", Key="empty", Body=b"")
    secrets.create_secret(Name="webhooks-local/source-secrets", SecretString='{"stripe": ["whsec_x"]}')
    secrets.create_secret(Name="binary", SecretBinary=b"\x00\xff")
    capturer = Snapshotter(emulator, region=REGION)
    capturer.capture()
    secrets.put_secret_value(SecretId="webhooks-local/source-secrets", SecretString='{"stripe": ["whsec_new"]}')

    snapshot = restart(capturer.capture())
    s3, secrets = emulator.client("s3"), emulator.client("secretsmanager")
    s3.create_bucket(Bucket="webhooks-local-bodybucket")
    secrets.create_secret(Name="webhooks-local/source-secrets", SecretString="{}")
    secrets.create_secret(Name="binary", SecretString="placeholder")
    restored = Snapshotter(emulator, region=REGION).restore(snapshot)

    assert (restored.objects, restored.secrets) == (2, 2)
    body = s3.get_object(Bucket="webhooks-local-bodybucket", Key="bodies/stripe/evt 1")
    assert body["Body"].read() == ALL_BYTES * 1000
    assert (body["ContentType"], body["Metadata"]) == ("application/octet-stream", {"source": "stripe"})
    assert s3.get_object(Bucket="webhooks-local-bodybucket", Key="empty")["Body"].read() == b""
    current = secrets.get_secret_value(SecretId="webhooks-local/source-secrets")
    assert current["SecretString"] == '{"stripe": ["whsec_new"]}'
    assert secrets.get_secret_value(SecretId="binary")["SecretBinary"] == b"\x00\xff"


def test_what_the_template_no_longer_has_is_reported_not_recreated(emulator: Any) -> None:
    create_table(emulator, "webhooks-local-DedupeTable")
    emulator.client("dynamodb").put_item(
        TableName="webhooks-local-DedupeTable", Item={"pk": {"S": "a"}, "sk": {"N": "1"}}
    )
    create_queues(emulator)
    emulator.client("sqs").send_message(
        QueueUrl=emulator.client("sqs").get_queue_url(QueueName="webhooks-local-EventsQueue")["QueueUrl"],
        MessageBody="x",
    )

    snapshot = restart(Snapshotter(emulator, region=REGION).capture())
    create_table(emulator, "webhooks-local-LedgerTable")
    restored = Snapshotter(emulator, region=REGION).restore(snapshot)

    assert restored.items == 0
    assert restored.skipped == [
        "1 record of table webhooks-local-DedupeTable, which no longer exists",
        "1 message of queue webhooks-local-EventsQueue, which no longer exists",
    ]
    assert emulator.client("dynamodb").list_tables()["TableNames"] == ["webhooks-local-LedgerTable"]


def test_items_that_no_longer_fit_their_table_are_reported(emulator: Any) -> None:
    create_table(emulator)
    emulator.client("dynamodb").put_item(
        TableName="webhooks-local-LedgerTable", Item={"pk": {"S": "a"}, "sk": {"N": "1"}}
    )
    snapshot = restart(Snapshotter(emulator, region=REGION).capture())
    emulator.client("dynamodb").create_table(
        TableName="webhooks-local-LedgerTable",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    restored = Snapshotter(emulator, region=REGION).restore(snapshot)
    assert restored.items == 0
    assert len(restored.skipped) == 1
    assert restored.skipped[0].startswith("the records of table webhooks-local-LedgerTable: ")
