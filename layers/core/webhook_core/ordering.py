"""The out-of-order guard's marks: for each resource, the time of the newest event
applied to it, as items `order#<source>#<resource id>` of the ledger table (same key
attribute `id`, same TTL attribute `expiration`)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.ledger import LedgerError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class OrderingMarks:
    def __init__(self, table_name: str, *, ttl_seconds: int, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._ttl = ttl_seconds
        self._client = client

    def apply_if_newer(self, source: str, resource_id: str, event_time: datetime, envelope_id: str) -> bool:
        """Mark `event_time` as the newest event applied to the resource, with one
        conditional write; False when a newer event was already applied (stale).

        An event with the same time as the last applied one is applied too: its
        order is unknowable, and it is how a retried envelope re-applies itself.
        """
        if self._client is None:  # made on first use: only handlers that order events need it
            self._client = boto3.client("dynamodb", config=CLIENT_CONFIG)
        millis = int(event_time.timestamp() * 1000)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"order#{source}#{resource_id}"},
                    "event_time": {"N": str(millis)},
                    "envelope_id": {"S": envelope_id},
                    "expiration": {"N": str(int(time.time()) + self._ttl)},
                },
                ConditionExpression="attribute_not_exists(id) OR event_time <= :time",
                ExpressionAttributeValues={":time": {"N": str(millis)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise LedgerError(f"ordering mark failed: {exc.response.get('Error', {}).get('Code')}") from exc
        except BotoCoreError as exc:
            raise LedgerError(f"ordering mark failed: {type(exc).__name__}") from exc
        return True
