"""Rejected requests kept for the operator (README, "The signature debugger").

A delivery answered 401 for its signature is kept as it arrived (headers, query, the
raw body up to a size cap, receive time, reason, source address; a key sent in the query
string, query_token's, only as "[redacted]", see receiving.py), so an operator can
see why it failed (`webhooks rejected show`) and accept it once the cause is fixed
(`webhooks rejected replay`). Nothing about it ever reaches the response.

Bounded, so a flood of forged requests cannot grow storage or cost without bound: a
counter item per source and minute (`rejected#<source>#<minute>` in the ledger table,
a conditional UpdateItem: kept while its count is under the cap), and one object per
kept request under `rejected/` in the body bucket, which the bucket encrypts and its
lifecycle rule expires after RejectedRetentionDays. Over the cap only the
SignatureRejected metric counts the request. The receiver may write the counters and
the objects, never read or list them; the operator's tools read them.

Keeping is never on the answer's critical path: the receiver logs a failure to keep
and answers 401 all the same. The diagnosis (which alteration in transit would explain
a mismatch) runs only in the operator's tools (webhook_core.diagnosis).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_core.body_store import S3Client

OBJECT_PREFIX = "rejected/"
COUNTER_PREFIX = "rejected#"
# RejectedRequestsPerMinute's default: kept requests per source and minute.
DEFAULT_PER_MINUTE = 10
# The most of a rejected body kept: enough to see and re-verify any ordinary event;
# a longer one is kept cut, which the operator's tools say (it cannot be re-verified).
DEFAULT_MAX_BODY_BYTES = 65_536
# A counter is only consulted during its minute; the table's TTL removes it after this.
COUNTER_LIFETIME_SECONDS = 3_600
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class RejectedStoreError(ServiceUnavailableError):
    """A rejected request could not be counted, kept or read."""


@dataclass(frozen=True, slots=True)
class RejectedRequest:
    """One delivery refused for its signature, as it arrived. `body` is at most the
    keeper's cap; `body_size` is what was received."""

    id: str
    source: str
    received_at: float
    reason: str
    headers: Mapping[str, str]
    body: bytes
    body_size: int
    query: Mapping[str, str] = field(default_factory=dict)
    source_ip: str | None = None
    skew_seconds: float | None = None
    # Set once an operator's replay accepted it (the envelope id it was accepted as).
    accepted_as: str | None = None

    @property
    def body_cut(self) -> bool:
        return self.body_size > len(self.body)

    @property
    def received_time(self) -> datetime:
        return datetime.fromtimestamp(self.received_at, tz=UTC)

    def to_json(self) -> bytes:
        accepted = {"accepted_as": self.accepted_as} if self.accepted_as else {}
        return json.dumps(
            {
                "version": 1,
                "id": self.id,
                "source": self.source,
                "received_at": self.received_at,
                "reason": self.reason,
                "skew_seconds": self.skew_seconds,
                "source_ip": self.source_ip,
                "headers": dict(self.headers),
                "query": dict(self.query),
                "body_base64": base64.b64encode(self.body).decode("ascii"),
                "body_size": self.body_size,
                **accepted,
            }
        ).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> RejectedRequest:
        data = json.loads(raw)
        return cls(
            id=str(data["id"]),
            source=str(data["source"]),
            received_at=float(data["received_at"]),
            reason=str(data["reason"]),
            skew_seconds=None if data.get("skew_seconds") is None else float(data["skew_seconds"]),
            source_ip=data.get("source_ip"),
            headers={str(name): str(value) for name, value in (data.get("headers") or {}).items()},
            query={str(name): str(value) for name, value in (data.get("query") or {}).items()},
            body=base64.b64decode(data.get("body_base64") or ""),
            body_size=int(data.get("body_size", 0)),
            accepted_as=data.get("accepted_as") or None,
        )

    def summary(self) -> dict[str, Any]:
        """The fields `webhooks rejected list --json` prints."""
        return {
            "id": self.id,
            "source": self.source,
            "received_at": self.received_time.isoformat(),
            "reason": self.reason,
            "skew_seconds": self.skew_seconds,
            "size": self.body_size,
            "source_ip": self.source_ip,
            "accepted_as": self.accepted_as,
        }


def new_id(source: str, received_at: float) -> str:
    """`<source>/<UTC second>-<random>`: sorts by time within a source, and the time can be
    read off the key (a listing filters by it without reading any object)."""
    stamp = datetime.fromtimestamp(received_at, tz=UTC).strftime(STAMP_FORMAT)
    return f"{source}/{stamp}-{uuid.uuid4().hex[:8]}"


def time_of(request_id: str) -> datetime | None:
    stamp = request_id.rpartition("/")[2].partition("-")[0]
    try:
        return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def object_key(request_id: str) -> str:
    return f"{OBJECT_PREFIX}{request_id}.json"


class RejectedRequestStore(Protocol):
    """What the receiver asks: keep this one unless its source's cap for the minute is
    reached (whether it was kept). Raises RejectedStoreError when the store fails."""

    def keep(self, request: RejectedRequest) -> bool: ...


class RejectedRequestReader(Protocol):
    """What the operator's tools ask."""

    def ids(self, source: str | None = None, since: datetime | None = None) -> list[str]:
        """Ids kept (oldest first), of one source or all, received since `since`."""
        ...

    def get(self, request_id: str) -> RejectedRequest | None: ...

    def mark_accepted(self, request: RejectedRequest, envelope_id: str) -> None:
        """Record that an operator's replay accepted it, as this envelope id."""
        ...


class CappedKeeping:
    """The per-source, per-minute cap, shared by the adapter and the in-memory fake:
    once a minute is known to be full, this process skips the counter for the rest of
    it, so a flood costs one failed conditional write per warm function and minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._full: dict[str, int] = {}

    def known_full(self, source: str, minute: int) -> bool:
        return self.per_minute <= 0 or self._full.get(source) == minute

    def mark_full(self, source: str, minute: int) -> None:
        self._full[source] = minute


class AwsRejectedRequests:
    """Counters in the ledger table, requests as objects in the body bucket."""

    def __init__(
        self,
        table_name: str,
        bucket: str,
        *,
        per_minute: int = DEFAULT_PER_MINUTE,
        dynamodb: DynamoDBClient | None = None,
        s3: S3Client | None = None,
        s3_factory: Callable[[], S3Client] | None = None,
    ) -> None:
        self._table = table_name
        self._bucket = bucket
        self._cap = CappedKeeping(per_minute)
        self._dynamodb = dynamodb
        self._s3_client = s3
        self._s3_factory = s3_factory

    # Clients made on first use: most invocations never reject anything, and the
    # receiver's cold start must not pay for them.
    def _ddb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            self._dynamodb = boto3.client("dynamodb", config=CLIENT_CONFIG)
        return self._dynamodb

    def _s3(self) -> Any:
        if self._s3_client is None:
            self._s3_client = self._s3_factory() if self._s3_factory else boto3.client("s3", config=CLIENT_CONFIG)
        return self._s3_client

    def keep(self, request: RejectedRequest) -> bool:
        minute = int(request.received_at // 60)
        if self._cap.known_full(request.source, minute):
            return False
        try:
            self._ddb().update_item(
                TableName=self._table,
                Key={"id": {"S": f"{COUNTER_PREFIX}{request.source}#{minute}"}},
                UpdateExpression="ADD kept :one SET expiration = if_not_exists(expiration, :expires)",
                ConditionExpression="attribute_not_exists(kept) OR kept < :cap",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(self._cap.per_minute)},
                    ":expires": {"N": str(minute * 60 + COUNTER_LIFETIME_SECONDS)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                self._cap.mark_full(request.source, minute)
                return False
            raise RejectedStoreError(f"rejected-request counter not written: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RejectedStoreError(f"rejected-request counter not written: {_code(exc)}") from exc
        try:
            self._s3().put_object(
                Bucket=self._bucket,
                Key=object_key(request.id),
                Body=request.to_json(),
                ContentType="application/json",
            )
        except (BotoCoreError, ClientError) as exc:
            raise RejectedStoreError(f"rejected request not kept: {_code(exc)}") from exc
        return True

    def ids(self, source: str | None = None, since: datetime | None = None) -> list[str]:
        prefix = OBJECT_PREFIX + (f"{source}/" if source else "")
        found = [key[len(OBJECT_PREFIX) : -len(".json")] for key in self._keys(prefix) if key.endswith(".json")]
        return chosen_ids(found, since)

    def _keys(self, prefix: str) -> Iterator[str]:
        paginator = self._s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def get(self, request_id: str) -> RejectedRequest | None:
        try:
            raw = self._s3().get_object(Bucket=self._bucket, Key=object_key(request_id))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise RejectedStoreError(f"rejected request not read: {_code(exc)}") from exc
        return RejectedRequest.from_json(raw)

    def mark_accepted(self, request: RejectedRequest, envelope_id: str) -> None:
        try:
            self._s3().put_object(
                Bucket=self._bucket,
                Key=object_key(request.id),
                Body=replace(request, accepted_as=envelope_id).to_json(),
                ContentType="application/json",
            )
        except (BotoCoreError, ClientError) as exc:
            raise RejectedStoreError(f"rejected request not marked accepted: {_code(exc)}") from exc


def chosen_ids(ids: list[str], since: datetime | None) -> list[str]:
    """Oldest first; with `since`, only those received since then (read off the id)."""
    timed = [(time_of(request_id), request_id) for request_id in ids]
    kept = [
        (moment, request_id)
        for moment, request_id in timed
        if since is None or (moment is not None and moment >= since)
    ]
    return [
        request_id
        for _, request_id in sorted(kept, key=lambda pair: (pair[0] or datetime.min.replace(tzinfo=UTC), pair[1]))
    ]


def _code(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
