"""The events queue: the only place that sends envelopes to SQS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.envelope import BodyRef
from webhook_core.errors import QueueError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

    from webhook_core.body_store import BodyStore
    from webhook_core.envelope import Envelope

# The queues' MaximumMessageSize (template.yaml): SQS's largest message, 1 MiB. SQS
# counts the body's UTF-8 bytes plus each attribute's name, data type and value.
MAX_MESSAGE_BYTES = 1_048_576


def message_size(body: str, attributes: dict[str, MessageAttributeValueTypeDef]) -> int:
    """A message's size as SQS counts it: bytes, never characters."""
    size = len(body.encode("utf-8"))
    for name, attribute in attributes.items():
        size += len(name.encode()) + len(attribute["DataType"].encode())
        size += len(attribute.get("StringValue", "").encode())
    return size


def message_attributes(envelope: Envelope) -> dict[str, MessageAttributeValueTypeDef]:
    """The attributes an envelope's message carries, as the receiver sends it and as
    `webhooks events replay` sends it again: its `source` and `type`."""
    return {
        "source": {"DataType": "String", "StringValue": envelope.source},
        "type": {"DataType": "String", "StringValue": envelope.type},
    }


class Queue(Protocol):
    """What the receiver asks of the events queue (EnvelopeQueue; an in-memory one in
    webhook_core.testing)."""

    def send(self, envelope: Envelope) -> str: ...


class EnvelopeQueue:
    def __init__(
        self,
        queue_url: str,
        client: SQSClient | None = None,
        *,
        bodies: BodyStore,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        client_config: Config = CLIENT_CONFIG,
    ) -> None:
        self._queue_url = queue_url
        self._client = client or boto3.client("sqs", config=client_config)
        self._bodies = bodies
        self._max_message_bytes = max_message_bytes

    def send(self, envelope: Envelope) -> str:
        """Send one envelope with `source` and `type` attributes; return the message id.
        A body too large for the message is put in the body store first and the
        message carries its reference (the claim-check)."""
        attributes = message_attributes(envelope)
        room = self._max_message_bytes - message_size("", attributes)
        raw = envelope.raw_body()
        # JSON text is never shorter than the body, so a body that alone fills the
        # message is not serialised inline only to be measured and dropped.
        message = envelope.to_message(room) if len(raw) < room else None
        if message is None or message_size(message, {}) > room:
            reference = BodyRef.of(raw)
            self._bodies.put(reference.key, raw)
            message = envelope.by_reference(reference).to_message(room)
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=message, MessageAttributes=attributes
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueError(f"send_message failed: {_describe(exc)}") from exc
        return response["MessageId"]


def _describe(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
