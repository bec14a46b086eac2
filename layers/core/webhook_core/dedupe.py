"""Receiver-side dedupe: a DynamoDB conditional write per (source, event id),
through Powertools Idempotency.

The record is written IN_PROGRESS before the enqueue and COMPLETED after it. If
the enqueue raises, Powertools deletes the record so the provider's retry is
accepted; if the function dies mid-way, the in-progress record expires with the
invocation's remaining time (the Lambda context is registered per request).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    BaseError,
    IdempotencyAlreadyInProgressError,
)

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import DedupeStoreError, DeliveryInProgressError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True, slots=True)
class Outcome:
    envelope_id: str
    duplicate: bool


class DedupeStore(Protocol):
    """What the receiver asks of its dedupe store (the DynamoDB adapter below; an
    in-memory one in webhook_core.testing)."""

    def bind(self, context: LambdaContext | None) -> None: ...

    def once(self, source: str, key: str, envelope_id: str, enqueue: Callable[[], object]) -> Outcome:
        """Run `enqueue` unless `key` of `source` was already accepted (Outcome.duplicate)
        or is in flight (DeliveryInProgressError); if it raises, the key is released."""
        ...


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this only when it answers from a COMPLETED record.
    return {**response, "duplicate": True}


class Deduplicator:
    KEY_PREFIX = "delivery"

    def __init__(self, table_name: str, *, ttl_seconds: int, client: DynamoDBClient | None = None) -> None:
        self._config = IdempotencyConfig(
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_seconds,
            hash_function="sha256",
            response_hook=_mark_replay,
        )
        self._once = idempotent_function(
            self._run,
            data_keyword_argument="delivery",
            persistence_store=DynamoDBPersistenceLayer(
                table_name=table_name, boto3_client=client or boto3.client("dynamodb", config=CLIENT_CONFIG)
            ),
            config=self._config,
            key_prefix=self.KEY_PREFIX,
        )

    def bind(self, context: LambdaContext | None) -> None:
        """Tie the in-progress expiry to this invocation's remaining time."""
        self._config.register_lambda_context(context)  # type: ignore[arg-type]

    def once(self, source: str, key: str, envelope_id: str, enqueue: Callable[[], object]) -> Outcome:
        """Run `enqueue` unless this (source, dedupe key) was already accepted."""
        try:
            # "event_id" names the key as it did before dedupe policies: records written
            # by an earlier version keep deduplicating the same deliveries.
            result = self._once(delivery={"source": source, "event_id": key}, envelope_id=envelope_id, enqueue=enqueue)
        except IdempotencyAlreadyInProgressError as exc:
            raise DeliveryInProgressError(f"{envelope_id} is still in progress") from exc
        except BaseError as exc:
            raise DedupeStoreError(f"dedupe store failed: {type(exc).__name__}: {exc}") from exc
        return Outcome(envelope_id=result["id"], duplicate=bool(result.get("duplicate")))

    @staticmethod
    def _run(*, delivery: dict[str, str], envelope_id: str, enqueue: Callable[[], object]) -> dict[str, Any]:
        enqueue()
        return {"id": envelope_id}
