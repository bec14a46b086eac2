"""In-memory stand-ins for the receiver's stores, with the same contract as the AWS
adapters: for unit tests of the receiving logic (here and in users' own tests)
without moto or a network."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from webhook_core.certificates import CertificateFetcher, CertificateUnavailableError, install
from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError, QueueError, SourceUnavailableError
from webhook_core.ledger import ABSENT, Change, EventRecord, Ledger, LedgerError, Transition, numbered
from webhook_core.queue import MAX_MESSAGE_BYTES, message_size
from webhook_core.rejected import DEFAULT_PER_MINUTE, CappedKeeping, RejectedRequest, RejectedStoreError, chosen_ids
from webhook_core.text import sqs_safe

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


class InMemoryLedger(Ledger):
    """The event ledger in a dict, with the DynamoDB adapter's conditions; `writes` counts
    the writes the adapter would make, `records` holds what it would keep, and
    `fail_next` makes the next that many calls raise as DynamoDB failing would."""

    def __init__(self, *, retention_seconds: int = 7 * 86_400) -> None:
        super().__init__(retention_seconds=retention_seconds)
        self.records: dict[str, EventRecord] = {}
        self.writes = 0
        self.fail_next = 0

    def _call(self, operation: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise LedgerError(f"ledger {operation} failed: InternalServerError")

    def _claim(self, record: EventRecord, *, expires_at: int) -> EventRecord | None:
        self._call("claim")
        self.writes += 1
        previous = self.records.get(record.id)
        if previous is None:
            self.records[record.id] = replace(
                record,
                deliveries=1,
                history=(Transition(record.received_at, "received"),),
                last_delivery_at=datetime.now(UTC),
            )
            return None
        self.records[record.id] = replace(
            previous, deliveries=previous.deliveries + 1, last_delivery_at=datetime.now(UTC)
        )
        return previous

    def _take_over(self, envelope_id: str, previous_until: float, in_flight_until: float) -> bool:
        self._call("take-over")
        current = self.records.get(envelope_id)
        if current is None or current.status != "received" or current.in_flight_until != previous_until:
            return False
        self.writes += 1
        self.records[envelope_id] = replace(current, in_flight_until=in_flight_until)
        return True

    def _release(self, envelope_id: str, token: float) -> None:
        self._call("release")
        current = self.records.get(envelope_id)
        if current is not None and current.status == "received" and current.in_flight_until == token:
            self.writes += 1
            del self.records[envelope_id]

    def _transition(self, envelope_id: str, change: Change) -> EventRecord | None:
        step, create = change.step, change.create
        self._call(step.status)
        # Attempts a record is made with: none before its first lock, else what SQS counted.
        first_attempts = 0 if change.count_attempt else change.attempts_if_new
        current = self.records.get(envelope_id)
        if current is None:
            if create is None or change.token is not None:
                return ABSENT
            current = replace(create, deliveries=create.deliveries or 1, attempts=first_attempts)
        elif change.token is not None:
            if current.lock_until != change.token:
                return current
        elif (change.allowed is not None and current.status not in change.allowed) or (
            current.lock_until or 0
        ) >= change.now:
            return current
        if create is not None and envelope_id in self.records:
            # DynamoDB sets what the record was made without (if_not_exists): a claimed record
            # has no body reference yet and no attempts attribute.
            current = replace(
                current,
                body_ref=current.body_ref or create.body_ref,
                preset=current.preset or create.preset,
                secret_index=current.secret_index if current.secret_index is not None else create.secret_index,
                attempts=current.attempts or first_attempts,
            )
        held = current.lock_until if change.keep_lock else None
        self.writes += 1
        self.records[envelope_id] = replace(
            current,
            status=step.status,
            updated_at=step.at,
            history=(*current.history, step),
            attempts=current.attempts + (1 if change.count_attempt else 0),
            lock_until=change.lock_until if change.lock_until is not None else held,
            error_type=change.error[0] if change.error else current.error_type,
            last_error=change.error[1] if change.error else current.last_error,
            archive=current.archive or (create.archive if create else None),
        )
        return None

    def get(self, envelope_id: str) -> EventRecord | None:
        kept = self.records.get(envelope_id)
        return _as_read(kept) if kept is not None else None

    def between(self, start: datetime, end: datetime) -> Iterator[EventRecord]:
        chosen = [_as_read(record) for record in self.records.values() if start <= record.received_at < end]
        yield from sorted(chosen, key=lambda record: (record.received_at, record.id))


def _as_read(record: EventRecord) -> EventRecord:
    """A record as the DynamoDB adapter reads it back: its history numbered by run."""
    return replace(record, history=numbered(record.history))


@dataclass
class InMemoryQueue:
    """Envelopes sent, checked as SQS would check them: a message it would refuse
    (too large in bytes, a character it cannot carry) is a QueueError here too."""

    envelopes: list[Envelope] = field(default_factory=list)
    max_bytes: int = MAX_MESSAGE_BYTES

    def send(self, envelope: Envelope) -> str:
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "source": {"DataType": "String", "StringValue": envelope.source},
            "type": {"DataType": "String", "StringValue": envelope.type},
        }
        message = envelope.to_message(self.max_bytes - message_size("", attributes))
        if not all(sqs_safe(text) for text in (message, envelope.source, envelope.type)):
            raise QueueError("InvalidMessageContents")
        if message_size(message, attributes) > self.max_bytes:
            raise QueueError("message too large")
        self.envelopes.append(Envelope.model_validate(json.loads(message)))
        return f"message-{len(self.envelopes)}"


@dataclass
class StaticSecrets:
    """Each source's secrets, newest first, as the Secrets Manager document holds them."""

    document: Mapping[str, Sequence[str]]

    def for_source(self, source: str) -> tuple[str, ...]:
        secrets = tuple(self.document.get(source, ()))
        if not secrets:
            raise SourceUnavailableError(f"no secret is configured for source {source!r}")
        return secrets


@dataclass
class InMemoryBodyStore:
    """Claim-checked bodies by key, as the S3 adapter keeps them; `fail_puts` makes the
    next that many puts fail, as S3 would."""

    objects: dict[str, bytes] = field(default_factory=dict)
    puts: int = 0
    gets: int = 0
    fail_puts: int = 0

    def put(self, key: str, body: bytes) -> None:
        self.puts += 1
        if self.fail_puts:
            self.fail_puts -= 1
            raise BodyStoreError("put_object failed: InternalError")
        self.objects[key] = bytes(body)

    def get(self, key: str) -> bytes:
        self.gets += 1
        if key not in self.objects:
            raise BodyStoreError(f"get_object of {key} failed: NoSuchKey")
        return self.objects[key]


@dataclass
class InMemoryCapturedSecrets:
    """Secrets captured at a subscription's setup, first write wins, as the DynamoDB adapter keeps them."""

    secrets: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def keep(self, source: str, secret: str) -> bool:
        if source in self.secrets:
            return False
        self.secrets[source] = secret
        return True

    def get(self, source: str) -> str | None:
        self.reads += 1
        return self.secrets.get(source)


class InMemoryRejectedRequests:
    """Rejected requests kept per source and minute up to the cap, as the AWS adapter
    keeps them; `counters` holds what its counter items would, `fail_next` makes the
    next that many keeps fail as DynamoDB or S3 would."""

    def __init__(self, *, per_minute: int = DEFAULT_PER_MINUTE) -> None:
        self._cap = CappedKeeping(per_minute)
        self.requests: dict[str, RejectedRequest] = {}
        self.counters: dict[tuple[str, int], int] = {}
        self.fail_next = 0

    def keep(self, request: RejectedRequest) -> bool:
        if self.fail_next:
            self.fail_next -= 1
            raise RejectedStoreError("rejected request not kept: InternalError")
        minute = int(request.received_at // 60)
        if self._cap.known_full(request.source, minute):
            return False
        count = self.counters.get((request.source, minute), 0)
        if count >= self._cap.per_minute:
            self._cap.mark_full(request.source, minute)
            return False
        self.counters[(request.source, minute)] = count + 1
        self.requests[request.id] = request
        return True

    def ids(self, source: str | None = None, since: datetime | None = None) -> list[str]:
        return chosen_ids([key for key in self.requests if source is None or key.startswith(f"{source}/")], since)

    def get(self, request_id: str) -> RejectedRequest | None:
        return self.requests.get(request_id)

    def mark_accepted(self, request: RejectedRequest, envelope_id: str) -> None:
        self.requests[request.id] = replace(request, accepted_as=envelope_id)


@dataclass
class FakeCertificates:
    """Serves documents by URL in place of the network, for the certificate fetcher
    (SNS's and PayPal's signing certificates, SNS's SubscribeURL): `install()` makes
    the process's fetcher use it. Every URL asked for is recorded in `fetched`."""

    documents: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        self.fetched.append(url)
        if url not in self.documents:
            raise CertificateUnavailableError(f"no document at {url}")
        return self.documents[url][: max_bytes + 1]

    def install(self) -> CertificateFetcher:
        fetcher = CertificateFetcher(self)
        install(fetcher)
        return fetcher
