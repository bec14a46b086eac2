"""The processor's state table: failure records and ordering marks.

(Powertools Idempotency keeps its processed records in the same table under
their own key prefix.) Items share one key attribute, `id`, and one TTL
attribute, `expiration`:
- `failure#<envelope id>`: the last failure of an envelope, for the DLQ tools;
- `order#<source>#<resource id>`: the time of the newest event applied to a resource.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_FAILURE_MESSAGE = 1_000


class StateStoreError(ServiceUnavailableError):
    """The state table could not be read or written."""


@dataclass(frozen=True, slots=True)
class FailureRecord:
    envelope_id: str
    error_type: str
    message: str
    attempt: int
    failed_at: datetime


class ProcessorState:
    def __init__(self, table_name: str, *, ttl_seconds: int, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._ttl = ttl_seconds
        self._client = client or boto3.client("dynamodb", config=CLIENT_CONFIG)

    def record_failure(self, envelope_id: str, error: BaseException, attempt: int, now: float | None = None) -> None:
        """Keep the last failure of an envelope (overwrites the previous one)."""
        now = time.time() if now is None else now
        self._call(
            "put_item",
            TableName=self._table,
            Item={
                "id": {"S": f"failure#{envelope_id}"},
                "envelope_id": {"S": envelope_id},
                "error_type": {"S": type(error).__name__},
                "message": {"S": (str(error) or type(error).__name__)[:MAX_FAILURE_MESSAGE]},
                "attempt": {"N": str(attempt)},
                "failed_at": {"S": datetime.fromtimestamp(now, tz=UTC).isoformat()},
                "expiration": {"N": str(int(now) + self._ttl)},
            },
        )

    def last_failure(self, envelope_id: str) -> FailureRecord | None:
        item = self._call(
            "get_item", TableName=self._table, Key={"id": {"S": f"failure#{envelope_id}"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return FailureRecord(
            envelope_id=item["envelope_id"]["S"],
            error_type=item["error_type"]["S"],
            message=item["message"]["S"],
            attempt=int(item["attempt"]["N"]),
            failed_at=datetime.fromisoformat(item["failed_at"]["S"]),
        )

    def clear_failure(self, envelope_id: str) -> None:
        self._call("delete_item", TableName=self._table, Key={"id": {"S": f"failure#{envelope_id}"}})

    def apply_if_newer(self, source: str, resource_id: str, event_time: datetime, envelope_id: str) -> bool:
        """Mark `event_time` as the newest event applied to the resource, with one
        conditional write; False when a newer event was already applied (stale).

        An event with the same time as the last applied one is applied too: its
        order is unknowable, and it is how a retried envelope re-applies itself.
        """
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
            raise StateStoreError(f"ordering mark failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StateStoreError(f"ordering mark failed: {type(exc).__name__}") from exc
        return True

    def _call(self, operation: str, **kwargs: object) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**kwargs)  # type: ignore[no-any-return]
        except (BotoCoreError, ClientError) as exc:
            raise StateStoreError(f"{operation} failed: {_code(exc)}") from exc


def _code(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
