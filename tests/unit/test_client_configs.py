"""Which clients skip botocore's client-side parameter check: only the receiver's two
per-delivery ones (the claim and the send), whose requests our code builds."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from tests.support.project import FIXTURE_SOURCES
from webhook_core.ledger import DynamoDBLedger
from webhook_core.queue import EnvelopeQueue
from webhook_core.receiving import create_receiver
from webhook_core.settings import ReceiverSettings

ENVIRONMENT = {
    "SOURCE_SECRETS_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
    "LEDGER_TABLE_NAME": "ledger",
    "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    "BODY_BUCKET_NAME": "bodies",
}


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _checks_parameters(client: Any) -> bool:
    """Whether the client refuses a mistyped parameter itself, before anything is sent
    (the stub answers whatever gets past the client)."""
    with Stubber(client) as stub:
        try:
            if client.meta.service_model.service_name == "sqs":
                stub.add_response("send_message", {"MessageId": "m"})
                client.send_message(QueueUrl="q", MessageBody="b", DelaySeconds="soon")
            else:
                stub.add_response("update_item", {})
                client.update_item(TableName="t", Key={"id": {"S": "k"}}, ReturnValues=5)
        except ParamValidationError:
            return True
    return False


def test_the_receivers_claim_and_send_clients_skip_the_client_side_parameter_check() -> None:
    receiver = create_receiver(ReceiverSettings.from_environment(ENVIRONMENT, FIXTURE_SOURCES))
    assert isinstance(receiver.ledger, DynamoDBLedger)
    assert isinstance(receiver.queue, EnvelopeQueue)
    for client in (receiver.ledger.client, receiver.queue._client):
        assert not _checks_parameters(client)


def test_every_other_ledger_and_queue_keeps_it() -> None:
    ledger = DynamoDBLedger("ledger", retention_seconds=60)
    queue = EnvelopeQueue(ENVIRONMENT["EVENTS_QUEUE_URL"], bodies=None)  # type: ignore[arg-type]
    for client in (ledger.client, queue._client):
        assert _checks_parameters(client)
