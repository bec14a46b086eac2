"""Secrets a provider hands over when a subscription is made (Notion's
verification_token, Asana's X-Hook-Secret), kept in the ledger table.

One item per source, `setup#<source>`, written only if none is there (first write
wins, a DynamoDB conditional put): the request that hands the secret over is
unsigned, so a second one, genuine or not, can never replace the first. The
receiver may read and create these items, never change or delete them; only the
operator resets one (`webhooks secrets captured SOURCE --reset`). No `expiration`
attribute: the table's TTL never removes them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import DedupeStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "setup#"


class CapturedSecretStore(Protocol):
    """What the receiver asks of the captured secrets (the DynamoDB adapter below; an
    in-memory one in webhook_core.testing)."""

    def keep(self, source: str, secret: str) -> bool:
        """Keep `secret` for `source` unless one is kept already; whether it was kept."""
        ...

    def get(self, source: str) -> str | None: ...


class CapturedSecrets:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        # Made on first use: only sources that capture a secret ever call this table for one.
        if self._client is None:
            self._client = boto3.client("dynamodb", config=CLIENT_CONFIG)
        return self._client

    def keep(self, source: str, secret: str) -> bool:
        try:
            self.client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": KEY_PREFIX + source},
                    "secret": {"S": secret},
                    "captured_at": {"N": str(int(time.time()))},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise DedupeStoreError(f"captured secret not written: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise DedupeStoreError(f"captured secret not written: {type(exc).__name__}") from exc
        return True

    def get(self, source: str) -> str | None:
        try:
            item = self.client.get_item(
                TableName=self._table, Key={"id": {"S": KEY_PREFIX + source}}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise DedupeStoreError(f"captured secret not read: {type(exc).__name__}") from exc
        return item["secret"]["S"] if item and "secret" in item else None

    def forget(self, source: str) -> bool:
        """The operator's reset (never the receiver's): whether there was one."""
        response = self.client.delete_item(
            TableName=self._table, Key={"id": {"S": KEY_PREFIX + source}}, ReturnValues="ALL_OLD"
        )
        return bool(response.get("Attributes"))
