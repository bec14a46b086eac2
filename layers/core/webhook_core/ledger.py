"""The event ledger: one record per event, keyed by its envelope id, carrying its whole
life. It is the receiver's dedupe key, the processor's once-lock and the failure
record at once (README, "The event ledger").

received → processing → processed | failed (attempt, error) | dead | unhandled | stale

The policy (what a delivery or a record may do given the record's state) lives in
`Ledger`; each backend implements a few primitives: `_claim`, `_take_over`, `_release`,
`_transition` and the reads. `DynamoDBLedger` below is the deployed one; an in-memory
one is in webhook_core.testing.

Round trips and writes, on the happy path:
- the receiver's claim is one UpdateItem that creates the record or, for a duplicate,
  counts the delivery and returns the record as it was (`ReturnValues=ALL_OLD`): one
  round trip, one write, for a new delivery and for a duplicate alike; the send is the
  second round trip. Nothing is written after the send: while the invocation that
  claimed it can still be sending, a copy is answered 409; after that, a `received`
  record was either queued or its function died before the send (the provider got no
  2xx and retries), so a retry takes it over and sends again, and the processor's
  lock absorbs the copy if both got through;
- the processor's lock (→ processing) and its outcome (→ processed) are the second and
  third writes.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import DedupeStoreError, DeliveryInProgressError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_core.envelope import Envelope

Status = Literal["received", "queued", "processing", "processed", "failed", "dead", "unhandled", "stale"]
STATUSES: tuple[Status, ...] = (
    "received",
    "queued",
    "processing",
    "processed",
    "failed",
    "dead",
    "unhandled",
    "stale",
)
# What the processor may (re)run when no live lock holds it: never started, failed,
# dead-lettered and replayed, queued again by `webhooks events replay --force`, or left
# `processing` by an attempt that died (its lock ran out).
RUNNABLE: tuple[Status, ...] = ("received", "queued", "processing", "failed", "dead")
# Done: a copy of the message is absorbed.
FINISHED: tuple[Status, ...] = ("processed", "unhandled", "stale")
KEY_PREFIX = "event#"
MAX_ERROR_CHARS = 1_000
# The time index: one partition per UTC day, sorted by receive time (README, "The event ledger").
TIME_INDEX = "by-day"


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class Transition:
    at: datetime
    status: Status
    attempt: int = 0
    note: str = ""


def numbered(history: Iterable[Transition]) -> tuple[Transition, ...]:
    """The history with each run's steps numbered by the run: the n-th lock (a handler
    run) is attempt n, and the failure or outcome after it carries the same number, so a
    replay's runs go on from the ones before it (the record's `attempts` counts them all).

    A step is written with the receive count of the SQS message that ran it (what the
    dead-letter rule uses), and a lock cannot write its run number in the same write
    (DynamoDB has no arithmetic inside the history's list); so it is numbered as read.
    A failure before any lock made the record with what SQS counted: runs go on from it."""
    steps: list[Transition] = []
    run = 0
    for step in history:
        if step.status == "processing":
            run += 1
        elif step.status in ("failed", "dead") and run == 0:
            run = step.attempt
        steps.append(replace(step, attempt=run) if run and step.status not in ("received", "queued") else step)
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class Change:
    """One transition as a backend applies it (Ledger._transition): the step appended to
    the history (its status is the new one), when it may apply, and what else it sets."""

    step: Transition
    allowed: tuple[Status, ...] | None
    now: float
    token: float | None = None
    create: EventRecord | None = None
    lock_until: float | None = None
    count_attempt: bool = False
    error: tuple[str, str] | None = None
    keep_lock: bool = False
    must_exist: bool = False
    expires_at: int | None = None
    attempts_if_new: int = 0


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event's ledger record, as the operator tools read it."""

    id: str
    source: str
    type: str
    status: Status
    received_at: datetime
    event_id: str = ""
    kind: str = ""
    preset: str | None = None
    deliveries: int = 1
    attempts: int = 0
    secret_index: int | None = None
    size: int = 0
    body_ref: str | None = None
    archive: str | None = None
    last_error: str | None = None
    error_type: str | None = None
    updated_at: datetime | None = None
    last_delivery_at: datetime | None = None
    in_flight_until: float | None = None
    lock_until: float | None = None
    history: tuple[Transition, ...] = ()

    def view(self, now: float | None = None) -> Status:
        """The status an operator sees: a `received` record whose claim is over was queued
        (the receiver releases a claim whose send failed)."""
        now = time.time() if now is None else now
        if self.status == "received" and (self.in_flight_until or 0) <= now:
            return "queued"
        return self.status

    def as_json(self, now: float | None = None) -> dict[str, Any]:
        """The fields `webhooks events list --json` prints."""
        return {
            "id": self.id,
            "event_id": self.event_id,
            "source": self.source,
            "type": self.type,
            "status": self.view(now),
            "received_at": self.received_at.isoformat(),
            "attempts": self.attempts,
            "deliveries": self.deliveries,
            "last_error": self.last_error,
            "secret_index": self.secret_index,
            "size": self.size,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """The receiver's answer for a delivery: its envelope id, and whether it was a duplicate."""

    envelope_id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Lock:
    """The processor's once-lock on an event: `run` to run its handler; otherwise the
    record's status says why not (finished: a copy to absorb; processing: held)."""

    run: bool
    status: Status | None
    token: float = 0.0


# What `_transition` answers when its condition failed on a record that is not there.
ABSENT = EventRecord(id="", source="", type="", status="received", received_at=datetime.fromtimestamp(0, tz=UTC))


def record_of(envelope: Envelope, *, size: int, body_ref: str | None = None) -> EventRecord:
    """The ledger record an envelope starts."""
    return EventRecord(
        id=envelope.id,
        source=envelope.source,
        type=envelope.type,
        status="received",
        received_at=envelope.received_at,
        event_id=envelope.event_id,
        kind=envelope.kind,
        preset=envelope.preset,
        secret_index=envelope.verification.secret_index,
        size=size,
        body_ref=body_ref,
    )


class LedgerError(DedupeStoreError):
    """The ledger could not be read or written."""


class EventBusyError(Exception):
    """Another copy of the event holds its lock: this record is retried after the
    visibility timeout (SQS redelivers it)."""


class Ledger(ABC):
    """The lifecycle policy; backends implement the primitives below it."""

    def __init__(self, *, retention_seconds: int) -> None:
        self.retention_seconds = retention_seconds

    # The receiver.

    def claim(self, record: EventRecord, *, in_flight_until: float, now: float) -> tuple[Outcome, float | None]:
        """Claim a verified delivery: (outcome, claim token). A new record, or one whose
        previous claim ran out unfinished, is claimed (token to release it with if the
        send fails); a record in flight raises DeliveryInProgressError; anything else is
        a duplicate, counted as a delivery."""
        record = replace(record, in_flight_until=in_flight_until, status="received")
        previous = self._claim(record, expires_at=int(now) + self.retention_seconds)
        if previous is None:
            return Outcome(record.id, duplicate=False), in_flight_until
        if previous.status != "received":
            return Outcome(previous.id, duplicate=True), None
        if (previous.in_flight_until or 0) > now:
            raise DeliveryInProgressError(f"{record.id} is still being accepted")
        if self._take_over(record.id, previous.in_flight_until or 0, in_flight_until):
            return Outcome(record.id, duplicate=False), in_flight_until
        raise DeliveryInProgressError(f"{record.id} was taken over by another copy")

    def release(self, envelope_id: str, token: float) -> None:
        """Forget a claim whose send failed, so the provider's retry is accepted."""
        self._release(envelope_id, token)

    # The processor.

    def lock(self, record: EventRecord, *, attempt: int, lock_until: float, now: float, archive: str | None) -> Lock:
        """Take the once-lock to run the event's handler. A record the ledger no longer
        has (past its retention) is made again from the envelope."""
        at = datetime.fromtimestamp(now, tz=UTC)
        previous = self._transition(
            record.id,
            Change(
                Transition(at, "processing", attempt),
                allowed=RUNNABLE,
                now=now,
                create=replace(record, archive=archive),
                lock_until=lock_until,
                count_attempt=True,
                expires_at=int(now) + self.retention_seconds,
            ),
        )
        if previous is None:
            return Lock(run=True, status="processing", token=lock_until)
        return Lock(run=False, status=previous.status)

    def finish(self, envelope_id: str, status: Status, *, token: float, now: float, note: str = "") -> None:
        """Record the outcome of a run: processed or stale (under the lock), or unhandled."""
        self._transition(
            envelope_id,
            Change(
                Transition(datetime.fromtimestamp(now, tz=UTC), status, note=note),
                allowed=None,
                now=now,
                token=token,
            ),
        )

    def fail(
        self,
        record: EventRecord,
        error: BaseException,
        *,
        attempt: int,
        dead: bool,
        now: float,
        token: float | None = None,
        keep_lock: bool = False,
    ) -> None:
        """Record a failed attempt (`dead` on the last one before the dead-letter queue).
        `keep_lock`: the handler may still be running (abandoned on a thread), so its lock
        holds until it runs out."""
        status: Status = "dead" if dead else "failed"
        message = (str(error) or type(error).__name__)[:MAX_ERROR_CHARS]
        self._transition(
            record.id,
            Change(
                Transition(datetime.fromtimestamp(now, tz=UTC), status, attempt, f"{type(error).__name__}: {message}"),
                allowed=None,
                now=now,
                token=token,
                create=record,
                error=(type(error).__name__, message),
                keep_lock=keep_lock,
                attempts_if_new=attempt,
                expires_at=int(now) + self.retention_seconds,
            ),
        )

    # The operator.

    def reopen(self, envelope_id: str, *, now: float, force: bool) -> Status | Literal["missing"] | None:
        """Make an event runnable again for a replay: a dead, failed or (with `force`)
        finished one becomes `queued`. None when it was reopened; else the status that
        kept it ("missing": the ledger has no such event; a second `--force` replay of
        the same event finds it queued)."""
        allowed: tuple[Status, ...] = ("failed", "dead", *FINISHED) if force else ("failed", "dead")
        previous = self._transition(
            envelope_id,
            Change(
                Transition(datetime.fromtimestamp(now, tz=UTC), "queued", note="replay"),
                allowed=allowed,
                now=now,
                must_exist=True,
            ),
        )
        if previous is None:
            return None
        return "missing" if previous is ABSENT else previous.status

    def cancel_reopen(self, envelope_id: str, status: Status, *, now: float, note: str) -> bool:
        """Put a reopened event back to the status it had when its replay was never sent
        (the send failed, or the operator stopped it first), so a later replay can reopen
        it again: a `queued` record with no message would otherwise stay queued for good.
        False when it is no longer queued (a copy got through and the processor took it)."""
        previous = self._transition(
            envelope_id,
            Change(
                Transition(datetime.fromtimestamp(now, tz=UTC), status, note=note),
                allowed=("queued",),
                now=now,
                must_exist=True,
            ),
        )
        return previous is None

    @abstractmethod
    def get(self, envelope_id: str) -> EventRecord | None: ...

    @abstractmethod
    def between(self, start: datetime, end: datetime) -> Iterator[EventRecord]:
        """Records received in [start, end), oldest first, through the time index."""

    # The primitives.

    @abstractmethod
    def _claim(self, record: EventRecord, *, expires_at: int) -> EventRecord | None:
        """Create the record, or count a delivery on the one there: the previous record, or None."""

    @abstractmethod
    def _take_over(self, envelope_id: str, previous_until: float, in_flight_until: float) -> bool: ...

    @abstractmethod
    def _release(self, envelope_id: str, token: float) -> None: ...

    @abstractmethod
    def _transition(self, envelope_id: str, change: Change) -> EventRecord | None:
        """Move the record to `change.step`'s status, appending the step to its history, if
        its status is in `allowed` (None: any) and no live lock holds it, or `token` is that lock;
        a missing record is made from `create` (else, with `must_exist`, refused). None
        when done; else the record as it was."""


# The DynamoDB adapter.


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _history_item(step: Transition) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": _s(_time(step.at)), "status": _s(step.status)}
    if step.attempt:
        entry["attempt"] = _n(step.attempt)
    if step.note:
        entry["note"] = _s(step.note[:MAX_ERROR_CHARS])
    return {"M": entry}


def _creation(record: EventRecord) -> dict[str, dict[str, Any]]:
    """The attributes a record is made with (each set only if absent)."""
    values: dict[str, dict[str, Any]] = {
        "envelope_id": _s(record.id),
        "event_id": _s(record.event_id),
        "source": _s(record.source),
        "kind": _s(record.kind),
        "type": _s(record.type),
        "received_at": _s(_time(record.received_at)),
        "day": _s(day_of(record.received_at)),
        "size": _n(record.size),
    }
    if record.preset:
        values["preset"] = _s(record.preset)
    if record.secret_index is not None:
        values["secret_index"] = _n(record.secret_index)
    if record.body_ref:
        values["body_ref"] = _s(record.body_ref)
    if record.archive:
        values["archive"] = _s(record.archive)
    return values


def _record(item: Mapping[str, Any]) -> EventRecord:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    def number(name: str) -> float | None:
        return float(item[name]["N"]) if name in item else None

    def moment(name: str) -> datetime | None:
        value = text(name)
        return datetime.fromisoformat(value) if value else None

    history = numbered(
        Transition(
            at=datetime.fromisoformat(entry["M"]["at"]["S"]),
            status=entry["M"]["status"]["S"],
            attempt=int(entry["M"].get("attempt", {}).get("N", 0)),
            note=entry["M"].get("note", {}).get("S", ""),
        )
        for entry in item.get("history", {}).get("L", [])
    )
    secret_index = number("secret_index")
    return EventRecord(
        id=item["envelope_id"]["S"] if "envelope_id" in item else item["id"]["S"].removeprefix(KEY_PREFIX),
        source=text("source") or "",
        type=text("type") or "",
        status=text("status") or "received",  # type: ignore[arg-type]
        received_at=moment("received_at") or datetime.fromtimestamp(0, tz=UTC),
        event_id=text("event_id") or "",
        kind=text("kind") or "",
        preset=text("preset"),
        deliveries=int(number("deliveries") or 0),
        attempts=int(number("attempts") or 0),
        secret_index=int(secret_index) if secret_index is not None else None,
        size=int(number("size") or 0),
        body_ref=text("body_ref"),
        archive=text("archive"),
        last_error=text("last_error"),
        error_type=text("error_type"),
        updated_at=moment("updated_at"),
        last_delivery_at=moment("last_delivery_at"),
        in_flight_until=number("in_flight_until"),
        lock_until=number("lock_until"),
        history=history,
    )


def _code(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _check_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass
class _Update:
    """An UpdateItem expression built clause by clause."""

    sets: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def value(self, value: dict[str, Any]) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def name(self, attribute: str) -> str:
        placeholder = f"#a{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def set(self, attribute: str, value: dict[str, Any], *, if_absent: bool = False) -> None:
        name, placeholder = self.name(attribute), self.value(value)
        self.sets.append(f"{name} = if_not_exists({name}, {placeholder})" if if_absent else f"{name} = {placeholder}")

    def expression(self) -> str:
        clauses = []
        if self.sets:
            clauses.append("SET " + ", ".join(self.sets))
        if self.adds:
            clauses.append("ADD " + ", ".join(self.adds))
        if self.removes:
            clauses.append("REMOVE " + ", ".join(self.removes))
        return " ".join(clauses)


class DynamoDBLedger(Ledger):
    """Records as items `event#<envelope id>` of the ledger table; `expiration` is its TTL;
    `day` and `received_at` key the time index (a sparse index: only events have them)."""

    def __init__(
        self,
        table_name: str,
        *,
        retention_seconds: int,
        client: DynamoDBClient | None = None,
        client_config: Config = CLIENT_CONFIG,
    ) -> None:
        super().__init__(retention_seconds=retention_seconds)
        self._table = table_name
        self._client = client
        self._client_config = client_config

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = boto3.client("dynamodb", config=self._client_config)
        return self._client

    def _key(self, envelope_id: str) -> dict[str, Any]:
        return {"id": _s(KEY_PREFIX + envelope_id)}

    def _update(self, envelope_id: str, update: _Update, condition: str | None = None, **extra: Any) -> Any:
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "Key": self._key(envelope_id),
            "UpdateExpression": update.expression(),
            "ExpressionAttributeValues": update.values,
            **extra,
        }
        if update.names:
            arguments["ExpressionAttributeNames"] = update.names
        if condition:
            arguments["ConditionExpression"] = condition
        return self.client.update_item(**arguments)

    def _claim(self, record: EventRecord, *, expires_at: int) -> EventRecord | None:
        now = _time(datetime.now(UTC))
        update = _Update()
        for attribute, value in _creation(record).items():
            update.set(attribute, value, if_absent=True)
        update.set("status", _s("received"), if_absent=True)
        update.set("in_flight_until", _n(record.in_flight_until or 0), if_absent=True)
        update.set("history", {"L": [_history_item(Transition(record.received_at, "received"))]}, if_absent=True)
        update.set("expiration", _n(expires_at), if_absent=True)
        update.set("last_delivery_at", _s(now))
        update.adds.append(f"deliveries {update.value(_n(1))}")
        try:
            response = self._update(record.id, update, ReturnValues="ALL_OLD")
        except (BotoCoreError, ClientError) as exc:
            raise LedgerError(f"ledger claim failed: {_code(exc)}") from exc
        old = response.get("Attributes")
        return _record(old) if old else None

    def _take_over(self, envelope_id: str, previous_until: float, in_flight_until: float) -> bool:
        update = _Update()
        update.set("in_flight_until", _n(in_flight_until))
        status, until = update.name("status"), update.name("in_flight_until")
        condition = f"{status} = {update.value(_s('received'))} AND {until} = {update.value(_n(previous_until))}"
        try:
            self._update(envelope_id, update, condition)
        except ClientError as exc:
            if _check_failed(exc):
                return False
            raise LedgerError(f"ledger take-over failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise LedgerError(f"ledger take-over failed: {_code(exc)}") from exc
        return True

    def _release(self, envelope_id: str, token: float) -> None:
        try:
            self.client.delete_item(
                TableName=self._table,
                Key=self._key(envelope_id),
                ConditionExpression="#status = :received AND in_flight_until = :token",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":received": _s("received"), ":token": _n(token)},
            )
        except ClientError as exc:
            if _check_failed(exc):
                return  # taken over or moved on by another copy: not ours to release
            raise LedgerError(f"ledger release failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise LedgerError(f"ledger release failed: {_code(exc)}") from exc

    def _transition(self, envelope_id: str, change: Change) -> EventRecord | None:
        update = _Update()
        create = change.create
        if create is not None:
            for attribute, value in _creation(create).items():
                update.set(attribute, value, if_absent=True)
            update.set("deliveries", _n(1), if_absent=True)
            if change.attempts_if_new and not change.count_attempt:  # a failure before any lock: what SQS counted
                update.set("attempts", _n(change.attempts_if_new), if_absent=True)
            if change.expires_at is not None:
                update.set("expiration", _n(change.expires_at), if_absent=True)
        status = change.step.status
        update.set("status", _s(status))
        update.set("updated_at", _s(_time(change.step.at)))
        history = update.name("history")
        update.sets.append(
            f"{history} = list_append(if_not_exists({history}, {update.value({'L': []})}), "
            f"{update.value({'L': [_history_item(change.step)]})})"
        )
        if change.count_attempt:
            update.adds.append(f"attempts {update.value(_n(1))}")
        if change.lock_until is not None:
            update.set("lock_until", _n(change.lock_until))
        elif not change.keep_lock:
            update.removes.append(update.name("lock_until"))
        if change.error is not None:
            update.set("error_type", _s(change.error[0]))
            update.set("last_error", _s(change.error[1]))
        condition = _condition(
            update,
            allowed=change.allowed,
            now=change.now,
            token=change.token,
            create=create is not None,
            must_exist=change.must_exist,
        )
        try:
            self._update(envelope_id, update, condition, ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if _check_failed(exc):
                item: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                return _record(item) if item else ABSENT
            raise LedgerError(f"ledger {status} failed: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise LedgerError(f"ledger {status} failed: {_code(exc)}") from exc
        return None

    def get(self, envelope_id: str) -> EventRecord | None:
        try:
            item = self.client.get_item(TableName=self._table, Key=self._key(envelope_id), ConsistentRead=True).get(
                "Item"
            )
        except (BotoCoreError, ClientError) as exc:
            raise LedgerError(f"ledger read failed: {_code(exc)}") from exc
        return _record(item) if item else None

    def between(self, start: datetime, end: datetime) -> Iterator[EventRecord]:
        for day in _days(start, end):
            keys = self._index_keys(day, _time(start), _time(end))
            for chunk in _chunks(keys, 100):
                yield from sorted(self._batch_get(chunk), key=lambda record: (record.received_at, record.id))

    def ids_between(self, start: datetime, end: datetime) -> list[str]:
        """The ids of the events received in [start, end), oldest first: the time index
        alone, no record read (`webhooks events tail` reads only the ones it has not seen)."""
        return [
            key.removeprefix(KEY_PREFIX)
            for day in _days(start, end)
            for key in self._index_keys(day, _time(start), _time(end))
        ]

    def newest_ids(self, start: datetime, end: datetime) -> Iterator[str]:
        """The ids of the events received in [start, end), newest first, read from the time
        index a page at a time as they are taken: the inspector shows the newest few of a
        busy stack without reading the whole range."""
        for day in reversed(list(_days(start, end))):
            arguments: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": TIME_INDEX,
                "KeyConditionExpression": "#day = :day AND received_at BETWEEN :start AND :end",
                "ExpressionAttributeNames": {"#day": "day"},
                "ExpressionAttributeValues": {":day": _s(day), ":start": _s(_time(start)), ":end": _s(_time(end))},
                "ScanIndexForward": False,
                "Limit": 100,
            }
            while True:
                try:
                    page = self.client.query(**arguments)
                except (BotoCoreError, ClientError) as exc:
                    raise LedgerError(f"ledger query failed: {_code(exc)}") from exc
                for item in page.get("Items", []):
                    if item["received_at"]["S"] < _time(end):
                        yield item["id"]["S"].removeprefix(KEY_PREFIX)
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def records(self, envelope_ids: Iterable[str]) -> list[EventRecord]:
        """The records of these events (those the ledger has), in BatchGetItem's reads of
        up to 100: what `webhooks events tail` re-reads to see their status change."""
        keys = [KEY_PREFIX + envelope_id for envelope_id in dict.fromkeys(envelope_ids)]
        return [record for chunk in _chunks(keys, 100) for record in self._batch_get(chunk)]

    def _index_keys(self, day: str, start: str, end: str) -> list[str]:
        """The day's keys in [start, end), from the KEYS_ONLY time index."""
        keys: list[str] = []
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": TIME_INDEX,
            "KeyConditionExpression": "#day = :day AND received_at BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {":day": _s(day), ":start": _s(start), ":end": _s(end)},
        }
        try:
            while True:
                page = self.client.query(**arguments)
                keys += [item["id"]["S"] for item in page.get("Items", []) if item["received_at"]["S"] < end]
                if "LastEvaluatedKey" not in page:
                    return keys
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (BotoCoreError, ClientError) as exc:
            raise LedgerError(f"ledger query failed: {_code(exc)}") from exc

    def _batch_get(self, keys: list[str]) -> list[EventRecord]:
        request: dict[str, Any] = {self._table: {"Keys": [{"id": _s(key)} for key in keys]}}
        records: list[EventRecord] = []
        try:
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                records += [_record(item) for item in response.get("Responses", {}).get(self._table, [])]
                request = response.get("UnprocessedKeys") or {}
        except (BotoCoreError, ClientError) as exc:
            raise LedgerError(f"ledger read failed: {_code(exc)}") from exc
        return records


def _condition(
    update: _Update,
    *,
    allowed: tuple[Status, ...] | None,
    now: float,
    token: float | None,
    create: bool,
    must_exist: bool,
) -> str:
    """A transition's condition: under the lock `token`, or else from a status in `allowed`
    with no live lock; a missing record is made only when `create`."""
    key, lock = update.name("id"), update.name("lock_until")
    terms = []
    if token is not None:
        terms.append(f"{lock} = {update.value(_n(token))}")
    else:
        if allowed is not None:
            statuses = ", ".join(update.value(_s(each)) for each in allowed)
            terms.append(f"{update.name('status')} IN ({statuses})")
        terms.append(f"(attribute_not_exists({lock}) OR {lock} < {update.value(_n(now))})")
    # DynamoDB refuses redundant parentheses: AND binds tighter than OR, so none are added.
    if create and token is None:
        return f"attribute_not_exists({key}) OR " + " AND ".join(terms)
    if must_exist or not create or token is not None:
        return f"attribute_exists({key}) AND " + " AND ".join(terms)
    return " AND ".join(terms)


def _days(start: datetime, end: datetime) -> Iterator[str]:
    day = start.astimezone(UTC).date()
    last = end.astimezone(UTC).date()
    while day <= last:
        yield day.isoformat()
        day = day.fromordinal(day.toordinal() + 1)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]
