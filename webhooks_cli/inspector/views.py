"""What the inspector's pages show, read through the same code as the CLI
(webhooks_cli.operations): each view is plain data a template renders."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError
from webhook_core.ledger import FINISHED, STATUSES, EventRecord
from webhook_core.rejected import RejectedRequest
from webhooks_cli.dlq import parse_since
from webhooks_cli.errors import CliError
from webhooks_cli.events import CLOCK_SLACK, Filters
from webhooks_cli.operations import StackOperations
from webhooks_cli.rejections import body_text, header_value, skew_text

# The time windows a page offers, and its default: short, so a page that refreshes
# itself every few seconds reads little of a busy stack.
WINDOWS = ("15m", "1h", "6h", "24h", "7d")
DEFAULT_WINDOW = "1h"
DEAD_WINDOW = "7d"
# Rows a list shows, and the most ledger records one refresh reads to find them.
ROWS = 100
MAX_READ = 1_000
# What an event page shows of a body before "show all".
SHOWN_BODY_CHARS = 20_000
REJECTED = "rejected"
# Statuses whose last error is the event's present trouble.
UNFINISHED = ("received", "queued", "processing", "failed", "dead")


class BadRequestError(CliError):
    """A page asked for with parameters it does not take."""


@dataclass(frozen=True)
class Query:
    """A list page's filters, as its form and its URL carry them."""

    source: str = ""
    type: str = ""
    status: str = ""
    window: str = DEFAULT_WINDOW

    @classmethod
    def parse(cls, params: dict[str, str], *, window: str = DEFAULT_WINDOW) -> Query:
        status = params.get("status", "").strip().lower()
        if status and status not in (*STATUSES, REJECTED):
            raise BadRequestError(f"no status {status!r}; the statuses are {', '.join((*STATUSES, REJECTED))}")
        chosen = params.get("window", "").strip() or window
        if chosen not in WINDOWS:
            raise BadRequestError(f"no window {chosen!r}; choose one of {', '.join(WINDOWS)}")
        return cls(params.get("source", "").strip(), params.get("type", "").strip(), status, chosen)

    def range(self) -> tuple[datetime, datetime]:
        now = datetime.now(UTC)
        return parse_since(self.window, now), now + CLOCK_SLACK

    def filters(self) -> Filters:
        statuses = (self.status,) if self.status in STATUSES else ()
        return Filters(source=self.source or None, type=self.type or None, statuses=statuses)


@dataclass(frozen=True)
class Row:
    """One line of the deliveries list: an accepted event (its ledger record) or a
    request refused for its signature (401)."""

    at: datetime
    id: str
    source: str
    type: str
    http: str
    status: str
    deliveries: str = ""
    attempts: str = ""
    latency: str = ""
    error: str = ""
    link: str = ""


@dataclass(frozen=True)
class Rows:
    rows: list[Row]
    searched_all: bool
    counts: dict[str, int] = field(default_factory=dict)


def _latency(record: EventRecord) -> str:
    """Received to the handler's latest outcome (processed, unhandled, stale or dead):
    for an event replayed after it died, to when it was finally processed."""
    for step in reversed(record.history):
        if step.status in (*FINISHED, "dead"):
            return _duration((step.at - record.received_at).total_seconds())
    return ""


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min"


def _error(record: EventRecord) -> str:
    if not record.last_error:
        return ""
    return f"{record.error_type}: {record.last_error}" if record.error_type else record.last_error


def event_row(record: EventRecord, now: float, *, accepted: int = 202, refused_first: bool = False) -> Row:
    """`accepted`: what its source answers a new event (202, or its provider's demand, as
    Figma's 200); `refused_first`: the event is a rejected request an operator's replay
    accepted (its sender was answered 401)."""
    copies = record.deliveries - 1
    return Row(
        at=record.received_at,
        id=record.id,
        source=record.source,
        type=record.type,
        # The ledger holds accepted events: the first delivery was answered 202; each copy
        # after it 200 (duplicate) or 409 (while the first was still being sent).
        http=(f"401 → {accepted}" if refused_first else str(accepted)) + (f" +{copies}" if copies else ""),
        status=record.view(now),
        deliveries=str(record.deliveries),
        attempts=str(record.attempts),
        latency=_latency(record),
        # An error the event got past (processed after a replay) is history, on its page.
        error=_error(record)[:200] if record.view(now) in UNFINISHED else "",
        link="/event?id=",
    )


def rejected_row(request: RejectedRequest) -> Row:
    skew = skew_text(request)
    return Row(
        at=request.received_time,
        id=request.id,
        source=request.source,
        type="",
        http="401",
        status=REJECTED,
        error=request.reason
        + (f" (skew {skew})" if skew else "")
        + (f"; since accepted as {request.accepted_as}" if request.accepted_as else ""),
        link="/rejected/request?id=",
    )


def deliveries(operations: StackOperations, query: Query) -> Rows:
    """The newest deliveries matching `query`, newest first: accepted events and, unless
    a lifecycle status is chosen, rejected requests."""
    now = time.time()
    start, end = query.range()
    rows: list[Row] = []
    searched_all = True
    kept = (
        operations.rejections.newest(source=query.source or None, since=start, limit=ROWS)
        if not query.type and query.status in ("", REJECTED)
        else []
    )
    if query.status != REJECTED:
        newest = operations.events.newest(query.filters(), start, end, limit=ROWS, max_read=MAX_READ)
        accepted_later = {request.accepted_as for request in kept if request.accepted_as}
        accepted_statuses = operations.accepted_statuses()
        rows += [
            event_row(
                record,
                now,
                accepted=accepted_statuses.get(record.source, 202),
                refused_first=record.id in accepted_later,
            )
            for record in newest.records
        ]
        searched_all = newest.searched_all
    rows += [rejected_row(request) for request in kept]
    rows.sort(key=lambda row: (row.at, row.id), reverse=True)
    return Rows(rows[:ROWS], searched_all)


def rejected(operations: StackOperations, query: Query) -> Rows:
    start, _ = query.range()
    kept = operations.rejections.newest(source=query.source or None, since=start, limit=ROWS)
    return Rows([rejected_row(request) for request in reversed(kept)], searched_all=True)


@dataclass(frozen=True)
class DeadLetters:
    rows: list[Row]
    searched_all: bool
    # Messages in the dead-letter queue now (SQS's approximate count), whatever they hold.
    in_queue: int | None


def dead_letters(operations: StackOperations, query: Query) -> DeadLetters:
    """Events the ledger marks dead, newest first. Read from the ledger, not by receiving
    the DLQ's messages: a page refreshing itself must not hide the letters from a
    `webhooks dlq replay` running at the same time."""
    now = time.time()
    start, end = query.range()
    filters = Filters(source=query.source or None, type=query.type or None, statuses=("dead",))
    newest = operations.events.newest(filters, start, end, limit=ROWS, max_read=MAX_READ * 5)
    statuses = operations.accepted_statuses()
    rows = [event_row(record, now, accepted=statuses.get(record.source, 202)) for record in newest.records]
    attributes = (
        operations.target.client("sqs")
        .get_queue_attributes(
            QueueUrl=operations.target.resources.dead_letter_queue_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        .get("Attributes", {})
    )
    count = attributes.get("ApproximateNumberOfMessages")
    return DeadLetters(rows, newest.searched_all, int(count) if count is not None else None)


@dataclass(frozen=True)
class EventDetail:
    record: EventRecord
    status: str
    latency: str
    error: str
    headers: list[tuple[str, str]]
    body: str
    body_note: str
    replayable_without_force: bool


def event_detail(operations: StackOperations, identifier: str, *, full: bool, with_body: bool = True) -> EventDetail:
    matches = operations.events.find(identifier)
    if not matches:
        raise CliError(f"no event {identifier!r} in the ledger (events are kept RetentionDays)")
    if len(matches) > 1:
        raise CliError(f"{len(matches)} events have the provider event id {identifier!r}: open one from the list")
    record = matches[0]
    # The record alone is what a page refreshing an event's status reads.
    headers, body, note = _archived(operations, record) if with_body else ([], "", "")
    if not full and len(body) > SHOWN_BODY_CHARS:
        note = f"the first {SHOWN_BODY_CHARS:,} of {len(body):,} characters"
        body = body[:SHOWN_BODY_CHARS]
    status = record.view()
    return EventDetail(
        record=record,
        status=status,
        latency=_latency(record),
        error=_error(record),
        headers=headers,
        body=body,
        body_note=note,
        replayable_without_force=status not in FINISHED,
    )


def _archived(operations: StackOperations, record: EventRecord) -> tuple[list[tuple[str, str]], str, str]:
    """The headers and pretty body of an event's archived envelope, or why there are none."""
    try:
        message = operations.events.archived_message(record)
    except BodyStoreError as exc:
        return [], "", f"no body to show: {exc.detail}"
    try:
        envelope = Envelope.model_validate_json(message)
    except ValidationError:
        return [], message, "the archived message is not an envelope; as it is"
    headers = [(name, header_value(name, value)) for name, value in envelope.headers.items()]
    try:
        raw = envelope.raw_body(operations.events.bodies)
    except BodyStoreError as exc:
        return headers, "", f"the claim-checked body cannot be read: {exc.detail}"
    except ValueError:  # base64 that is not: shown as the text it is
        raw = envelope.body.encode()
    return headers, _pretty(raw), ""


def _pretty(raw: bytes) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, or nested past what json reads: as text
        return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class RejectedDetail:
    request: RejectedRequest
    skew: str
    diagnosis: str
    verifies: bool
    headers: list[tuple[str, str]]
    body: str


def rejected_detail(operations: StackOperations, request_id: str) -> RejectedDetail:
    rejections = operations.rejections
    request = rejections.get(request_id)
    try:
        explained = rejections.explain(request)
        diagnosis, verifies = explained.text, explained.verifies
    except CliError as exc:  # its source left sources.json: the kept reason is all there is
        diagnosis, verifies = exc.message, False
    headers = [(name, header_value(name, value)) for name, value in sorted(request.headers.items())]
    headers += [(f"?{name}", header_value(name, value)) for name, value in sorted(request.query.items())]
    body = body_text(request)
    return RejectedDetail(request, skew_text(request), diagnosis, verifies, headers, body[:SHOWN_BODY_CHARS])
