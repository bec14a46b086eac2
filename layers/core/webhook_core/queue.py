"""The events queue: the only place that sends envelopes to SQS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import QueueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from webhook_core.envelope import Envelope

MAX_MESSAGE_BYTES = 262_144


class Queue(Protocol):
    """What the receiver asks of the events queue (EnvelopeQueue; an in-memory one in
    webhook_core.testing)."""

    def send(self, envelope: Envelope) -> str: ...


class EnvelopeQueue:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs", config=CLIENT_CONFIG)

    def send(self, envelope: Envelope) -> str:
        """Send one envelope with `source` and `type` attributes; return the message id."""
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=envelope.to_message(MAX_MESSAGE_BYTES - 4_096),
                MessageAttributes={
                    "source": {"DataType": "String", "StringValue": envelope.source},
                    "type": {"DataType": "String", "StringValue": envelope.type},
                },
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"send_message failed: {_describe(exc)}") from exc
        return response["MessageId"]


def _describe(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
