"""The event ledger, for the operator: `webhooks events list|show|tail|replay`
(README, "The event ledger").

Every read of a time range goes through the ledger's time index (`Ledger.between`: a
Query per UTC day on the KEYS_ONLY `by-day` index, then BatchGetItem of the keys),
never a Scan. An event's envelope is read from the archive, the JSON-lines object its
processor batch was kept in, and its body through the envelope's one decoder.

Replay reopens an event's ledger record, then sends its archived envelope to the main
queue as the receiver sent it. The reopen is conditional: of two replays of one event,
however close, one reopens it and sends; the other finds it queued and skips it, so
the handler runs once more, not twice. A send that fails puts the record back as it
was, so nothing is left `queued` with no message to run it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from webhook_core.archive import PREFIX as ARCHIVE_PREFIX
from webhook_core.archive import Archive
from webhook_core.body_store import BodyStore
from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError
from webhook_core.ledger import FINISHED, STATUSES, DynamoDBLedger, EventRecord, Status
from webhook_core.queue import message_attributes
from webhooks_cli.aws import describe
from webhooks_cli.errors import CliError
from webhooks_cli.replaying import (
    ALREADY_PROCESSED,
    Outcome,
    Pace,
    ProgressCallback,
    ReplayReport,
    refresh_claim_checked_body,
)

DEFAULT_SINCE = "24h"
DEFAULT_LIMIT = 500
# A range that ends "now" reaches a little further: the receiver's clock (Lambda's) may
# run ahead of the operator's.
CLOCK_SLACK = timedelta(minutes=1)
# The time index is eventually consistent: `tail` looks this far behind what it has
# already read, so an event that reaches the index late is still seen (once).
INDEX_LAG = timedelta(seconds=10)
# How long `tail` keeps re-reading an event it printed, to print its status changes.
TAIL_WINDOW = timedelta(minutes=5)
# Statuses an event leaves without an operator: `tail` follows an event until it
# reaches one of the others.
MOVING: tuple[Status, ...] = ("received", "queued", "processing", "failed")
NO_ARCHIVE = (
    "no archived copy to send (the processor has not taken it yet, or could not archive its batch); "
    "`webhooks dlq replay` sends a dead letter's own message"
)


def parse_statuses(values: Iterable[str]) -> tuple[Status, ...]:
    """`--status` values, each one status or a comma list of them, checked against the
    ledger's statuses."""
    chosen: list[Status] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            status = next((each for each in STATUSES if each == name.lower()), None)
            if status is None:
                raise CliError(f"no status {name!r}; the statuses are {', '.join(STATUSES)}")
            if status not in chosen:
                chosen.append(status)
    return tuple(chosen)


@dataclass(frozen=True)
class Filters:
    """Which events a command shows or replays; empty matches every one."""

    source: str | None = None
    type: str | None = None
    statuses: tuple[Status, ...] = ()

    @property
    def given(self) -> bool:
        return bool(self.source or self.type or self.statuses)

    def matches(self, record: EventRecord, now: float) -> bool:
        """By source and type as recorded, and by status as the operator sees it
        (`EventRecord.view`: a received event whose claim ran out is queued)."""
        if self.source and record.source != self.source:
            return False
        if self.type and record.type != self.type:
            return False
        return not self.statuses or record.view(now) in self.statuses


@dataclass(frozen=True)
class Listing:
    """The newest `limit` matching events, oldest first, and how many matched in all."""

    records: list[EventRecord]
    matched: int


@dataclass(frozen=True)
class Newest:
    """The newest matching events, newest first, and whether the whole range was searched."""

    records: list[EventRecord]
    searched_all: bool


@dataclass(frozen=True)
class Change:
    """What `tail` prints: a new event (`previous` None) or an event's new status."""

    record: EventRecord
    status: Status
    previous: Status | None = None


class _NotReplayedError(Exception):
    """An event a replay leaves alone (skipped) or cannot send (failed), and why."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


class _ArchiveReads:
    """The body store, with the archive's objects read once each: one object holds a
    whole processor batch, and a replay or a listing of neighbours reads it again and again."""

    KEPT = 4

    def __init__(self, bodies: BodyStore) -> None:
        self._bodies = bodies
        self._objects: OrderedDict[str, bytes] = OrderedDict()

    def put(self, key: str, body: bytes) -> None:
        self._bodies.put(key, body)

    def get(self, key: str) -> bytes:
        if not key.startswith(ARCHIVE_PREFIX):
            return self._bodies.get(key)
        if key not in self._objects:
            self._objects[key] = self._bodies.get(key)
            while len(self._objects) > self.KEPT:
                self._objects.popitem(last=False)
        self._objects.move_to_end(key)
        return self._objects[key]


class Events:
    """The ledger of one stack, with its archive and its main queue."""

    def __init__(
        self,
        dynamodb: Any,
        sqs: Any,
        *,
        ledger_table: str,
        queue_url: str,
        bodies: BodyStore,
        retention_days: int,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.bodies = _ArchiveReads(bodies)
        self.archive = Archive(self.bodies)
        self.retention = timedelta(days=retention_days)
        self.ledger = DynamoDBLedger(ledger_table, retention_seconds=retention_days * 86_400, client=dynamodb)

    # --- reading --------------------------------------------------------------------

    def select(self, filters: Filters, start: datetime, end: datetime) -> Iterator[EventRecord]:
        """The matching events received in [start, end), oldest first, from the time index."""
        now = time.time()
        return (record for record in self.ledger.between(start, end) if filters.matches(record, now))

    def listing(self, filters: Filters, start: datetime, end: datetime, *, limit: int) -> Listing:
        newest: deque[EventRecord] = deque(maxlen=limit)
        matched = 0
        for record in self.select(filters, start, end):
            newest.append(record)
            matched += 1
        return Listing(list(newest), matched)

    def newest(self, filters: Filters, start: datetime, end: datetime, *, limit: int, max_read: int) -> Newest:
        """The newest `limit` matching events received in [start, end), newest first,
        reading at most `max_read` records (a page that refreshes itself must not read a
        busy day whole): `searched_all` says whether every event of the range was read."""
        now = time.time()
        found: list[EventRecord] = []
        read = 0
        ids = self.ledger.newest_ids(start, end)
        while len(found) < limit and read < max_read:
            chunk = list(islice(ids, min(100, max_read - read)))
            if not chunk:
                return Newest(found, searched_all=True)
            read += len(chunk)
            records = {record.id: record for record in self.ledger.records(chunk)}
            found += [records[key] for key in chunk if key in records and filters.matches(records[key], now)]
        return Newest(found[:limit], searched_all=next(ids, None) is None)

    def find(self, identifier: str, *, since: datetime | None = None) -> list[EventRecord]:
        """The event with this envelope id; else those whose provider event id it is
        (alone, or as `<source>/<event id>`), searched in the time index back to `since`
        (default: as far as the ledger keeps events)."""
        record = self.ledger.get(identifier)
        if record is not None:
            return [record]
        now = datetime.now(UTC)
        start = since or now - self.retention
        return [
            record
            for record in self.ledger.between(start, now + CLOCK_SLACK)
            if identifier in (record.event_id, f"{record.source}/{record.event_id}")
        ]

    def archived_message(self, record: EventRecord) -> str:
        """The queue message the processor received for this event, as archived;
        BodyStoreError when there is none or it cannot be read."""
        if not record.archive:
            raise BodyStoreError("no archived copy (the processor has not taken it yet, or could not archive it)")
        return self.archive.read(record.archive)

    # --- replaying ------------------------------------------------------------------

    def replay(
        self,
        records: Iterable[EventRecord],
        *,
        rate: float,
        force: bool = False,
        dry_run: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> ReplayReport:
        """Run each event's handler again: reopen its record, then send its archived
        envelope to the main queue. A processed (or unhandled, stale) event only with
        `force`; `dry_run` reads but changes nothing."""
        report = ReplayReport(on_progress=on_progress)
        pace = Pace(rate)
        for record in records:
            self._replay_one(record, force=force, dry_run=dry_run, pace=pace, report=report)
        return report

    def _replay_one(
        self, record: EventRecord, *, force: bool, dry_run: bool, pace: Pace, report: ReplayReport
    ) -> Outcome:
        try:
            envelope, message = self._replayable(record, force=force)
            if dry_run:
                return report.add(record.id, "would send")
            pace.wait()
            self._reopen(record, force=force)
        except _NotReplayedError as refused:
            return report.add(record.id, refused.outcome, refused.reason)
        return self._send(record, envelope, message, report)

    def _replayable(self, record: EventRecord, *, force: bool) -> tuple[Envelope, str]:
        """The event's envelope and archived message, if it is to be replayed."""
        now = time.time()
        refusal = why_not_replayed(record.view(now), force=force, locked=(record.lock_until or 0) > now)
        if refusal:
            raise _NotReplayedError("skipped", refusal)
        if not record.archive:
            raise _NotReplayedError("skipped", NO_ARCHIVE)
        try:
            message = self.archive.read(record.archive)
            envelope = Envelope.model_validate_json(message)
            if envelope.body_ref is not None:
                envelope.raw_body(self.bodies)  # before the reopen: a body that is gone fails here
        except BodyStoreError as exc:
            raise _NotReplayedError("failed", f"its archived copy cannot be read: {exc.detail}") from None
        except ValidationError:
            raise _NotReplayedError("skipped", "its archived message is not an envelope: no handler takes it") from None
        if envelope.id != record.id:
            raise _NotReplayedError("failed", f"its archive reference names another event ({record.archive})")
        return envelope, message

    def _reopen(self, record: EventRecord, *, force: bool) -> None:
        kept = self.ledger.reopen(record.id, now=time.time(), force=force)
        if kept == "missing":
            raise _NotReplayedError("skipped", "no longer in the ledger")
        if kept is not None:
            # Another replay (or the processor) moved it between our read and the reopen.
            raise _NotReplayedError("skipped", why_not_replayed(kept, force=force, locked=True) or f"it is {kept} now")

    def _send(self, record: EventRecord, envelope: Envelope, message: str, report: ReplayReport) -> Outcome:
        try:
            refresh_claim_checked_body(envelope, self.bodies)
            self.sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=message, MessageAttributes=message_attributes(envelope)
            )
        except (BotoCoreError, ClientError, BodyStoreError) as exc:
            reason = exc.detail if isinstance(exc, BodyStoreError) else describe(exc)
            self._put_back(record, f"replay not sent: {reason}")
            return report.add(record.id, "failed", f"not sent: {reason}")
        except BaseException:
            # Stopped (Ctrl-C) between the reopen and the send: the record goes back as it
            # was, else it would wait `queued` for a message that never comes.
            self._put_back(record, "replay interrupted before the send")
            raise
        return report.add(record.id, "sent")

    def _put_back(self, record: EventRecord, note: str) -> None:
        self.ledger.cancel_reopen(record.id, record.status, now=time.time(), note=note)

    # --- following ------------------------------------------------------------------

    def follow(self, filters: Filters, *, since: datetime) -> Follower:
        return Follower(self, filters, since=since)


def why_not_replayed(status: Status, *, force: bool, locked: bool) -> str | None:
    """Why an event in this status is not replayed (None: it is)."""
    if status in FINISHED:
        if force:
            return None
        return ALREADY_PROCESSED if status == "processed" else f"already {status}; --force runs it again"
    if status in ("received", "queued"):
        return "already queued (by another replay, or not yet run): the processor runs it once"
    if status == "processing":
        return "being processed right now"
    if locked:
        return "its last attempt may still be running (its lock has not run out)"
    return None


class Follower:
    """What `webhooks events tail` prints, one poll at a time: each event received
    since the last poll, once, and each status change of an event it printed while
    the event is still moving (received, queued, processing, failed) and was received
    within TAIL_WINDOW. Each poll reads the time index's keys of the last seconds, the
    records it has not seen yet and those it follows: never the whole window."""

    def __init__(self, events: Events, filters: Filters, *, since: datetime) -> None:
        self._events = events
        self._filters = filters
        # Source and type choose what is followed; --status only what is printed.
        self._followed = replace(filters, statuses=())
        self._cursor = since
        # Every event read (and so not read again as new): when it was received, and for
        # those followed, their status as last seen.
        self._seen: dict[str, tuple[datetime, Status | None]] = {}

    def poll(self, now: datetime | None = None) -> list[Change]:
        now = now or datetime.now(UTC)
        moment = now.timestamp()
        moving = [
            envelope_id
            for envelope_id, (received_at, status) in self._seen.items()
            if status in MOVING and received_at >= now - TAIL_WINDOW
        ]
        changes = self._arrived(now, moment)
        for record in self._events.ledger.records(moving):
            status, previous = record.view(moment), self._seen[record.id][1]
            if status != previous:
                self._seen[record.id] = (record.received_at, status)
                changes.append(Change(record, status, previous))
        self._forget(now)
        return [change for change in changes if not self._filters.statuses or change.status in self._filters.statuses]

    def _arrived(self, now: datetime, moment: float) -> list[Change]:
        """The events the index shows since the cursor (less its lag) not read before."""
        arrived = [
            envelope_id
            for envelope_id in self._events.ledger.ids_between(self._cursor - INDEX_LAG, now + CLOCK_SLACK)
            if envelope_id not in self._seen
        ]
        self._cursor = max(self._cursor, now)
        changes: list[Change] = []
        for record in sorted(self._events.ledger.records(arrived), key=lambda each: (each.received_at, each.id)):
            if not self._followed.matches(record, moment):
                self._seen[record.id] = (record.received_at, None)
                continue
            status = record.view(moment)
            self._seen[record.id] = (record.received_at, status)
            changes.append(Change(record, status))
        return changes

    def _forget(self, now: datetime) -> None:
        """Events received before both the window and the index's lag are neither read
        as new again nor followed: they need no memory."""
        horizon = min(now - TAIL_WINDOW, self._cursor - INDEX_LAG - CLOCK_SLACK)
        for envelope_id in [key for key, (received_at, _) in self._seen.items() if received_at < horizon]:
            del self._seen[envelope_id]
