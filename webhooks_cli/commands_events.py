"""`webhooks events …`: the event ledger, for the operator (logic in webhooks_cli.events)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError
from webhook_core.ledger import STATUSES, EventRecord
from webhooks_cli.commands_ops import (
    SHOWN_BODY_CHARS,
    TargetChoice,
    aws_errors,
    console,
    print_body,
    replay_options,
    replay_progress,
    target_options,
)
from webhooks_cli.dlq import parse_since
from webhooks_cli.errors import CliError
from webhooks_cli.events import (
    CLOCK_SLACK,
    DEFAULT_LIMIT,
    DEFAULT_SINCE,
    Change,
    Events,
    Filters,
    parse_statuses,
)
from webhooks_cli.operations import events_of
from webhooks_cli.terminal import shown

F = TypeVar("F", bound=Callable[..., Any])
STATUS_COLOURS = {"processed": "green", "failed": "yellow", "dead": "red", "unhandled": "cyan", "stale": "dim"}


def filter_options(function: F) -> F:
    options = [
        click.option(
            "--status",
            "statuses",
            multiple=True,
            metavar="STATUS[,STATUS…]",
            help=f"Only events in these statuses (repeat it, or a comma list): {', '.join(STATUSES)}.",
        ),
        click.option("--type", "event_type", help="Only this event type."),
        click.option("--source", help="Only this source."),
    ]
    for option in options:
        function = option(function)
    return function


def range_options(function: F) -> F:
    options = [
        click.option("--until", help="Only those received before: 30m, 2h, 3d ago or an ISO time (default: now)."),
        click.option(
            "--since", help=f"Only those received since: 10m, 2h, 3d ago or an ISO time (default: {DEFAULT_SINCE})."
        ),
    ]
    for option in options:
        function = option(function)
    return function


def _filters(source: str | None, event_type: str | None, statuses: tuple[str, ...]) -> Filters:
    return Filters(source=source, type=event_type, statuses=parse_statuses(statuses))


def _range(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    start = parse_since(since or DEFAULT_SINCE, now)
    end = parse_since(until, now, option="--until") if until else now + CLOCK_SLACK
    if end <= start:
        raise CliError("--until is not after --since: the range holds nothing")
    return start, end


def _when(moment: datetime | None, *, precise: bool = False) -> str:
    if moment is None:
        return "?"
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if precise else utc.strftime("%Y-%m-%d %H:%M:%SZ")


def _status(status: str, width: int = 0) -> str:
    """A status, coloured, padded to `width` (the markup is not counted)."""
    colour = STATUS_COLOURS.get(status)
    padded = f"{status:<{width}}"
    return f"[{colour}]{padded}[/{colour}]" if colour else padded


def _error(record: EventRecord) -> str:
    if not record.last_error:
        return ""
    return f"{record.error_type}: {record.last_error}" if record.error_type else record.last_error


# --- events -------------------------------------------------------------------------------


@click.group()
def events() -> None:
    """The event ledger: list, show, follow and replay events (README, "The event ledger").

    Every event the receiver accepted has a record: its status, deliveries, attempts,
    last error and timeline, kept for RetentionDays with its archived envelope.
    (The signed events for `sam local invoke -e` are written by `webhooks sam-events`.)"""


@events.command("list")
@filter_options
@range_options
@click.option(
    "--limit",
    default=DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Show at most this many: the newest.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@target_options
@aws_errors
def list_events(
    source: str | None,
    event_type: str | None,
    statuses: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
    target_choice: TargetChoice,
) -> None:
    """List the events received in a time range (default: the last 24 hours), newest last.

    Reads the ledger's time index: one query per day of the range, never a scan."""
    filters = _filters(source, event_type, statuses)
    start, end = _range(since, until)
    target = target_choice.resolve()
    listing = events_of(target).listing(filters, start, end, limit=limit)
    now = time.time()
    if as_json:
        sys.stdout.write(json.dumps([record.as_json(now) for record in listing.records], indent=2) + "\n")
        return
    more = listing.matched - len(listing.records)
    title = f"{listing.matched} event(s) received {_when(start)} to {_when(min(end, datetime.now(UTC)))}"
    if more:
        title += f", the newest {len(listing.records)} shown (--limit)"
    title = f"{title} — {target.description}"
    rows: list[Row] = [
        (
            _when(record.received_at),
            shown(record.id),
            shown(record.source),
            shown(record.type),
            record.view(now),
            str(record.deliveries),
            str(record.attempts),
            shown(_error(record)[:80]),
        )
        for record in listing.records
    ]
    if _table_width(rows) <= console.width:
        _print_table(title, rows)
    else:
        _print_two_lines(title, rows)


LIST_COLUMNS = ("received", "id", "source", "type", "status", "deliveries", "attempts", "last error")
# What the last error may fold to in the table before the listing turns to two lines an event.
LAST_ERROR_MIN_WIDTH = 24
Row = tuple[str, str, str, str, str, str, str, str]


def _column_widths(rows: list[Row]) -> list[int]:
    """Each column's width with every cell whole, but the last error's: what it may be folded to."""
    widths = [
        max([len(header), *(Text.from_markup(row[index]).cell_len for row in rows)])
        for index, header in enumerate(LIST_COLUMNS)
    ]
    widths[-1] = min(widths[-1], LAST_ERROR_MIN_WIDTH)
    return widths


def _table_width(rows: list[Row]) -> int:
    return sum(_column_widths(rows)) + 3 * len(LIST_COLUMNS) + 1  # a border and a space either side of each cell


def _print_table(title: str, rows: list[Row]) -> None:
    table = Table(title=title, title_justify="left")
    # Every cell whole (an id is copied from here into `events show` and `replay`, and a
    # digest-keyed id is 78 characters); only the last error folds.
    for column, width in zip(LIST_COLUMNS, _column_widths(rows), strict=True):
        last = column == LIST_COLUMNS[-1]
        table.add_column(column, overflow="fold", min_width=width, no_wrap=not last)
    for received, envelope_id, source, event_type, status, deliveries, attempts, error in rows:
        table.add_row(received, envelope_id, source, event_type, _status(status), deliveries, attempts, error)
    # Not soft-wrapped: soft-wrapped, rich lays the table out past the terminal's width.
    console.print(table, soft_wrap=False)


def _print_two_lines(title: str, rows: list[Row]) -> None:
    """Each event on two lines, for a terminal too narrow for the table (80 columns): its id
    alone and whole (to copy into `events show` and `replay`), then its fields, the last
    error last, cut to the width."""
    console.print(title, soft_wrap=False)
    console.print("[dim]id\n  received  status  deliveries/attempts  source  type  last error[/dim]")
    for received, envelope_id, source, event_type, status, deliveries, attempts, error in rows:
        console.print(envelope_id, soft_wrap=True, highlight=False)
        fields = f"  {received}  {_status(status)}  {deliveries}/{attempts}  {source}  {event_type}  {error}"
        console.print(fields.rstrip(), no_wrap=True, overflow="ellipsis", highlight=False)


@events.command()
@click.argument("identifier")
@click.option(
    "--full", is_flag=True, help=f"Print the whole body (otherwise its first {SHOWN_BODY_CHARS:,} characters)."
)
@click.option(
    "--since",
    help="For a provider's event id: search the events received since (default: all the ledger keeps).",
)
@target_options
@aws_errors
def show(identifier: str, full: bool, since: str | None, target_choice: TargetChoice) -> None:
    """Show one event: its record, timeline, deliveries, verification, last error and body.

    IDENTIFIER is the envelope id (`webhooks events list` shows it) or the provider's
    event id, which is searched for in the time index."""
    target = target_choice.resolve()
    ledger = events_of(target)
    matches = ledger.find(identifier, since=parse_since(since) if since else None)
    if not matches:
        window = f"since {since}" if since else f"in the last {target.retention_days} days"
        raise CliError(
            f"no event {identifier!r}: no envelope id, nor any provider event id {window} "
            "(`webhooks events list` shows them)"
        )
    if len(matches) > 1:
        console.print(f"{len(matches)} events have the provider event id {shown(identifier)}:")
        for record in matches:
            console.print(f"  {shown(record.id)}  {_when(record.received_at)}  {shown(record.type)}")
        raise CliError("give one of their envelope ids")
    _print_record(matches[0])
    _print_archived(ledger, matches[0], full=full)


def _print_record(record: EventRecord) -> None:
    def field(name: str, value: str) -> None:
        console.print(f"[bold]{name:<12}[/bold] {value}")

    field("id", shown(record.id))
    field("event id", f"{shown(record.event_id)}  (the provider's)")
    of = ", ".join(part for part in (f"kind {record.kind}" if record.kind else "", record.preset or "") if part)
    field("source", shown(record.source) + (f"  ({shown(of)})" if of else ""))
    field("type", shown(record.type))
    field("status", f"{_status(record.view())} after {record.attempts} attempt(s)")
    field("received", _when(record.received_at, precise=True))
    field("updated", _when(record.updated_at, precise=True) if record.updated_at else "—")
    last = f"; the last {_when(record.last_delivery_at, precise=True)}" if record.last_delivery_at else ""
    field("deliveries", f"{record.deliveries} (times the provider sent it{last})")
    verified = (
        f"with secret {record.secret_index} of the source's active secrets (0 = the newest)"
        if record.secret_index is not None
        else "—"
    )
    field("verified", verified)
    where = f", claim-checked in the body bucket as {shown(record.body_ref)}" if record.body_ref else ""
    field("size", f"{record.size:,} bytes{where}")
    field("archive", shown(record.archive) if record.archive else "none yet (the processor has not taken it)")
    field("last error", shown(_error(record)) if record.last_error else "none")
    console.print("[bold]timeline[/bold]")
    for step in record.history:
        attempt = f"attempt {step.attempt}" if step.attempt else ""
        note = f"  {shown(step.note)}" if step.note else ""
        console.print(f"  {_when(step.at, precise=True)}  {_status(step.status, 10)}  {attempt:<10}{note}".rstrip())


def _print_archived(ledger: Events, record: EventRecord, *, full: bool) -> None:
    """The headers and body of the event's archived envelope."""
    try:
        message = ledger.archived_message(record)
    except BodyStoreError as exc:
        console.print(f"[bold]body[/bold]         cannot be read: {shown(exc.detail)}")
        return
    try:
        envelope = Envelope.model_validate_json(message)
    except ValidationError:
        console.print("[bold]body[/bold]         (the archived message is not an envelope; as it is)")
        print_body(message.encode(), full=full)
        return
    if envelope.headers:
        console.print("[bold]headers[/bold]")
        for name, value in envelope.headers.items():
            console.print(f"  {shown(name)}: {shown(value)}")
    try:
        raw = envelope.raw_body(ledger.bodies)
    except BodyStoreError as exc:  # claim-checked, and the object is gone (expired or deleted)
        console.print(f"[bold]body[/bold]         the claim-checked body cannot be read: {shown(exc.detail)}")
        return
    except ValueError:  # base64 that is not: shown as the text it is
        raw = envelope.body.encode()
    console.print("[bold]body[/bold]")
    print_body(raw, full=full)


@events.command()
@filter_options
@click.option("--since", help="First print the events received since: 10m, 2h or an ISO time (default: none).")
@click.option(
    "--interval", default=1.0, show_default=True, type=click.FloatRange(0.2, 60), help="Seconds between polls."
)
@click.option("--for", "for_seconds", type=click.FloatRange(0), help="Stop after this many seconds.")
@click.option("--once", is_flag=True, help="Poll once and stop.")
@target_options
@aws_errors
def tail(
    source: str | None,
    event_type: str | None,
    statuses: tuple[str, ...],
    since: str | None,
    interval: float,
    for_seconds: float | None,
    once: bool,
    target_choice: TargetChoice,
) -> None:
    """Follow events as they arrive: a line per new event, and one per status change
    while it moves (received, queued, processing, failed). Ctrl-C stops it.

    --status shows only the lines that reach those statuses."""
    filters = _filters(source, event_type, statuses)
    start = parse_since(since) if since else datetime.now(UTC)
    target = target_choice.resolve()
    follower = events_of(target).follow(filters, since=start)
    if not once:
        console.print(f"following {target.description} (Ctrl-C stops)")
    deadline = time.monotonic() + for_seconds if for_seconds is not None else None
    try:
        while True:
            for change in follower.poll():
                console.print(_change_line(change))
            left = deadline - time.monotonic() if deadline is not None else interval
            if once or left <= 0:
                return
            time.sleep(min(interval, left))
    except KeyboardInterrupt:
        console.print("stopped")


def _change_line(change: Change) -> str:
    record = change.record
    if change.previous is None:
        what = f"{_status(change.status, 10)}  {shown(record.source)}  {shown(record.type)}"
        return f"{_clock(record.received_at)}  new  {shown(record.id)}  {what}"
    detail = ""
    if change.status in ("failed", "dead") and record.last_error:
        detail = f"  (attempt {record.attempts}: {shown(_error(record)[:200])})"
    return (
        f"{_clock(record.updated_at or datetime.now(UTC))}  {shown(record.id)}  "
        f"{change.previous} → {_status(change.status)}{detail}"
    )


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%SZ")


@events.command()
@click.argument("ids", nargs=-1)
@filter_options
@range_options
@replay_options(
    sent="Events sent",
    dry_run_help="Say what would be sent; change nothing.",
    force_help="Also run again events whose handler already completed.",
)
@target_options
@aws_errors
def replay(
    ids: tuple[str, ...],
    source: str | None,
    event_type: str | None,
    statuses: tuple[str, ...],
    since: str | None,
    until: str | None,
    rate: float,
    dry_run: bool,
    force: bool,
    yes: bool,
    target_choice: TargetChoice,
) -> None:
    """Run events' handlers again: IDS, or those the filters select (at least one of
    --since, --until, --status, --source, --type; --since defaults to 24h).

    Each is reopened in the ledger, then its archived envelope is sent to the main
    queue. A processed event is skipped unless --force; a dead letter stays in the DLQ
    (`webhooks dlq purge` once it is processed)."""
    filters = _filters(source, event_type, statuses)
    if ids and (filters.given or since or until):
        raise CliError("give IDS or filters, not both")
    if not ids and not (filters.given or since or until):
        raise CliError("say which events: IDS, or --since, --until, --status, --source, --type")
    target = target_choice.resolve()
    ledger = events_of(target)
    records, unmatched = _chosen(ledger, ids, filters, since, until)
    if not records:
        what = ", ".join(ids) if ids else "the filters"
        raise CliError(f"no event matches {what}; `webhooks events list` shows them")
    if not dry_run and not yes and (force or not ids):
        rerun = ", re-running handlers that already completed" if force else ""
        click.confirm(f"Replay {len(records)} event(s) on {target.description}{rerun}?", abort=True)
    with replay_progress(sent="sent", would="would send") as progress:
        for identifier, reason in unmatched:
            progress(identifier, "skipped", reason)
        report = ledger.replay(records, rate=rate, force=force, dry_run=dry_run, on_progress=progress)
    report.skipped[:0] = unmatched
    console.print(report.summary("would send" if dry_run else "sent"))
    if len(report.skipped) > 1:  # one skip was said on its own line already
        for reason, count in report.skip_reasons():
            console.print(f"  skipped {count}: {shown(reason)}")
    if report.failed:
        raise CliError(f"{len(report.failed)} could not be sent (said why above); run the same replay again")


def _chosen(
    ledger: Events, ids: tuple[str, ...], filters: Filters, since: str | None, until: str | None
) -> tuple[list[EventRecord], list[tuple[str, str]]]:
    """The records to replay, and each given id that names none (with why)."""
    if not ids:
        start, end = _range(since, until)
        return list(ledger.select(filters, start, end)), []
    records: dict[str, EventRecord] = {}
    unmatched: list[tuple[str, str]] = []
    for identifier in ids:
        found = ledger.find(identifier)
        if len(found) == 1:
            records.setdefault(found[0].id, found[0])
        elif found:
            unmatched.append((identifier, f"{len(found)} events have this provider event id: give an envelope id"))
        else:
            unmatched.append((identifier, "no such event"))
    return list(records.values()), unmatched
