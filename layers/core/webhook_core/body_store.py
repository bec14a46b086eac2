"""The body store: where a body too large for a queue message waits, by reference
(the claim-check). One small interface, and its S3 adapter: the only S3 user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import BodyStoreError

if TYPE_CHECKING:
    from collections.abc import Callable


class BodyStore(Protocol):
    """Bodies by key. Keys are content-addressed (webhook_core.envelope.BodyRef), so a
    second put of a key writes the same bytes again."""

    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class S3Client(Protocol):
    """The two S3 calls the adapter makes."""

    def put_object(self, **kwargs: Any) -> Any: ...

    def get_object(self, **kwargs: Any) -> Any: ...


def _default_client() -> S3Client:
    client: S3Client = boto3.client("s3", config=CLIENT_CONFIG)
    return client


class S3BodyStore:
    """Bodies as objects of one bucket. The bucket's own settings encrypt them (SSE-S3
    or the stack's key), refuse plain HTTP and expire them; nothing here sets those."""

    def __init__(
        self, bucket: str, client: S3Client | None = None, *, client_factory: Callable[[], S3Client] = _default_client
    ) -> None:
        self._bucket = bucket
        self._client = client
        self._client_factory = client_factory

    def _s3(self) -> S3Client:
        # Created on the first large body: most deliveries never need S3, and the
        # receiver's cold start must not pay for a client it may never use.
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def put(self, key: str, body: bytes) -> None:
        try:
            self._s3().put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/octet-stream")
        except (BotoCoreError, ClientError) as exc:
            raise BodyStoreError(f"put_object failed: {_describe(exc)}") from exc

    def get(self, key: str) -> bytes:
        try:
            response = self._s3().get_object(Bucket=self._bucket, Key=key)
            body: bytes = response["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise BodyStoreError(f"get_object of {key} failed: {_describe(exc)}") from exc
        return body


def _describe(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
