"""`webhooks events list|show|tail|replay` against the local stack as the CLI finds it
(the state file and an emulator in this process), with the ledger filled by the real
code: deliveries accepted by the receiver's handler, drained through a processor whose
handlers count their runs, records, archive objects and statuses as deployed."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from click.testing import Result

from functions.receiver import app as receiver_app
from tests.integration.conftest import OperatedStack
from tests.support.apigw import rest_event
from tests.support.faults import Arm, FaultInjector
from tests.support.lambda_context import lambda_context
from tests.support.processors import processor_on
from tests.support.signers import SECRETS, sign
from tests.support.sqs import QueuePoller
from webhook_core.body_store import S3BodyStore
from webhook_core.ledger import DynamoDBLedger, EventRecord
from webhook_core.registry import Event, HandlerRegistry
from webhooks_cli.events import Events, Filters

pytestmark = pytest.mark.integration
# Sets the terminal's title (OSC … BEL), then clears the screen (CSI 2J).
HOSTILE = "\x1b]0;pwned\x07\x1b[2J"
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2J"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")
FAILING_TYPE = "charge.failed"
# A type a sender chose to attack the operator's terminal with, whose handler fails quoting it.
# The receiver replaces what SQS cannot carry (C0 controls, ESC among them); an 8-bit CSI
# and a bidi override it carries as they are.
HOSTILE_TYPE = "charge.failed\x9b2J\u202egnp"
ESCAPED_TYPE = "charge.failed\\x9b2J\\u202egnp"


@dataclass
class Ledgered:
    """The operated stack, with a receiver and a processor on it."""

    operated: OperatedStack
    sqs: Any
    s3: Any
    # The envelope ids each handler run was for, in order.
    runs: list[str] = field(default_factory=list)
    # While set, the handler of FAILING_TYPE fails (the bug); cleared, it is fixed.
    broken: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        registry = HandlerRegistry()

        @registry.on("stripe", "checkout.session.completed")
        @registry.on("stripe", "invoice.paid")
        def fulfil(event: Event[Any]) -> None:
            self.runs.append(event.envelope.id)

        @registry.on("stripe", FAILING_TYPE)
        @registry.on("stripe", HOSTILE_TYPE)
        def charge(event: Event[Any]) -> None:
            if self.broken.is_set():
                raise RuntimeError(f"the payment service is down for {event.envelope.type}")
            self.runs.append(event.envelope.id)

        self.processor = processor_on(self.operated.resources, registry=registry)
        self.broken.set()

    @property
    def ledger(self) -> DynamoDBLedger:
        return DynamoDBLedger(self.operated.resources.ledger_table, retention_seconds=21 * 86_400)

    def deliver(self, kind: str = "stripe", **options: Any) -> str:
        """A signed delivery through the receiver's handler: the envelope id it recorded."""
        signed = sign(kind, **options)
        raw = receiver_app.lambda_handler(rest_event(kind, signed.body, signed.headers), lambda_context())
        assert raw["statusCode"] in (200, 202), raw
        return str(json.loads(raw["body"])["id"])

    def process(self) -> None:
        QueuePoller(self.sqs, self.operated.resources.queue_url).drain(
            lambda event, context: dict(self.processor.process_batch(event, context)), lambda_context()
        )

    def webhooks(self, *arguments: str, stdin: str | None = None) -> Result:
        return self.operated.webhooks(*arguments, stdin=stdin)

    def events(self) -> Events:
        """The CLI's logic, on the same clients the CLI makes."""
        resources = self.operated.resources
        return Events(
            self.operated.client("dynamodb"),
            self.operated.client("sqs"),
            ledger_table=resources.ledger_table,
            queue_url=resources.queue_url,
            bodies=S3BodyStore(resources.body_bucket, client=self.operated.client("s3")),
            retention_days=21,
        )

    def record(self, envelope_id: str) -> EventRecord:
        record = self.ledger.get(envelope_id)
        assert record is not None, envelope_id
        return record

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.operated.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def ledgered(operated_stack: OperatedStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledgered]:
    resources = operated_stack.resources
    monkeypatch.setenv("SOURCE_SECRETS_ID", resources.secret_id)
    monkeypatch.setenv("LEDGER_TABLE_NAME", resources.ledger_table)
    monkeypatch.setenv("EVENTS_QUEUE_URL", resources.queue_url)
    monkeypatch.setenv("BODY_BUCKET_NAME", resources.body_bucket)
    monkeypatch.setenv("SECRETS_CACHE_SECONDS", "0")
    boto3.client("secretsmanager").put_secret_value(SecretId=resources.secret_id, SecretString=json.dumps(SECRETS))
    receiver_app.get_receiver.cache_clear()
    yield Ledgered(operated_stack, boto3.client("sqs"), boto3.client("s3"))
    receiver_app.get_receiver.cache_clear()


def listed(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def assert_no_raw_controls(output: str) -> None:
    found = [control for control in RAW_CONTROLS if control in output]
    assert not found, f"raw control characters {found!r} in {output!r}"


# --- list -------------------------------------------------------------------------------------


def test_list_filters_by_source_type_and_status_and_its_json_carries_each_event(
    ledgered: Ledgered, monkeypatch: pytest.MonkeyPatch
) -> None:
    paid = ledgered.deliver("stripe", event_type="checkout.session.completed")
    push = ledgered.deliver("github")  # no handler: acknowledged, unhandled
    failing = ledgered.deliver("stripe", event_type=FAILING_TYPE)
    again = ledgered.deliver("stripe", event_type="invoice.paid")
    ledgered.process()

    injector = FaultInjector()
    injector.install(monkeypatch)
    injector.recording = True
    everything = listed(ledgered.webhooks("events", "list", "--json"))
    injector.recording = False

    assert [item["id"] for item in everything] == [paid, push, failing, again]  # oldest first, newest last
    required = {"id", "event_id", "source", "type", "status", "received_at", "attempts", "deliveries", "last_error"}
    assert all(required <= set(item) for item in everything)
    by_id = {item["id"]: item for item in everything}
    assert by_id[paid]["status"] == "processed"
    assert by_id[push]["status"] == "unhandled"
    assert (by_id[failing]["status"], by_id[failing]["attempts"]) == ("dead", 5)
    assert by_id[failing]["last_error"].startswith("the payment service is down")
    assert {item["deliveries"] for item in everything} == {1}
    assert push.startswith("github/sha256-")  # keyed on the signed content,
    assert by_id[push]["event_id"]  # the provider's id beside it
    # The time index, never a scan.
    assert "dynamodb:Query" in injector.actions
    assert "dynamodb:BatchGetItem" in injector.actions
    assert "dynamodb:Scan" not in injector.actions

    def ids(*filters: str) -> list[str]:
        return [item["id"] for item in listed(ledgered.webhooks("events", "list", "--json", *filters))]

    assert ids("--source", "github") == [push]
    assert ids("--type", FAILING_TYPE) == [failing]
    assert ids("--status", "dead") == [failing]
    assert ids("--status", "processed,unhandled") == [paid, push, again]
    assert ids("--status", "processed", "--status", "dead") == [paid, failing, again]
    assert ids("--source", "stripe", "--status", "processed") == [paid, again]
    assert ids("--limit", "2") == [failing, again]  # the newest
    assert ids("--since", "1m") == [paid, push, failing, again]
    assert ids("--until", "1m") == []

    table = ledgered.webhooks("events", "list")
    assert table.exit_code == 0, table.output
    assert "4 event(s) received" in table.output
    positions = [table.output.index(envelope_id) for envelope_id in (paid, push, failing, again)]
    assert positions == sorted(positions)

    refused = ledgered.webhooks("events", "list", "--status", "done")
    assert refused.exit_code == 1
    assert "no status 'done'" in refused.output
    assert "processed" in refused.output
    assert ledgered.webhooks("events", "list", "--since", "yesterday").exit_code == 1


def test_the_list_is_readable_at_80_columns_and_every_id_stays_whole_and_copyable(
    ledgered: Ledgered, monkeypatch: pytest.MonkeyPatch
) -> None:
    push = ledgered.deliver("github")  # a digest id: 78 characters with its source
    failing = ledgered.deliver("stripe", event_type=FAILING_TYPE)
    ledgered.process()

    monkeypatch.setenv("COLUMNS", "80")
    narrow = ledgered.webhooks("events", "list")
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.output.splitlines()
    # Each id on a line of its own, whole; the event's fields on the line under it.
    assert push in lines
    assert failing in lines
    assert all(len(line) <= 80 for line in lines if line not in (push, failing)), narrow.output
    pushed = lines[lines.index(push) + 1].split()
    assert pushed[2:6] == ["unhandled", "1/1", "github", "push"]
    dead = lines[lines.index(failing) + 1]
    assert dead.split()[2:6] == ["dead", "1/5", "stripe", FAILING_TYPE]
    assert "RuntimeError: the pay" in dead
    assert dead.endswith("…")
    assert "deliveries/attempts" in narrow.output  # the legend says what d/a is

    monkeypatch.setenv("COLUMNS", "200")
    wide = ledgered.webhooks("events", "list")
    assert wide.exit_code == 0, wide.output
    header = next(line for line in wide.output.splitlines() if "received" in line and "attempts" in line)
    assert [cell.strip() for cell in re.split("[│┃]", header)[1:-1]] == [
        "received",
        "id",
        "source",
        "type",
        "status",
        "deliveries",
        "attempts",
        "last error",
    ]
    assert any(push in line for line in wide.output.splitlines())
    assert "RuntimeError: the payment" in wide.output  # the last error folds first
    assert all(len(line) <= 200 for line in wide.output.splitlines()[1:]), wide.output


def test_a_range_over_two_days_reads_both_days_partitions(ledgered: Ledgered) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    late, early, outside = today - timedelta(days=1, minutes=30), today - timedelta(hours=23, minutes=30), today
    ledger = ledgered.ledger
    for name, moment in (("late", late), ("early", early), ("outside", outside - timedelta(hours=20))):
        record = EventRecord(id=f"hmac/{name}", source="hmac", type="ping", status="received", received_at=moment)
        ledger.claim(record, in_flight_until=0, now=time.time())
    assert late.date() != early.date()

    start, end = today - timedelta(days=1, hours=2), today - timedelta(hours=22)
    found = listed(
        ledgered.webhooks("events", "list", "--json", "--since", start.isoformat(), "--until", end.isoformat())
    )
    assert [item["id"] for item in found] == ["hmac/late", "hmac/early"]
    assert [item["status"] for item in found] == ["queued", "queued"]  # claims that ran out: queued


# --- show -------------------------------------------------------------------------------------


def test_show_by_envelope_id_and_by_the_providers_event_id(ledgered: Ledgered) -> None:
    signed = sign("github", event_id="7f9c1e2a-delivery-guid")
    first = ledgered.deliver("github", event_id="7f9c1e2a-delivery-guid")
    ledgered.process()
    # The provider sends it again: a duplicate, counted as a delivery.
    raw = receiver_app.lambda_handler(rest_event("github", signed.body, signed.headers), lambda_context())
    assert raw["statusCode"] in (200, 202)

    shown = ledgered.webhooks("events", "show", first)
    assert shown.exit_code == 0, shown.output
    output = shown.output
    assert first in output
    assert "7f9c1e2a-delivery-guid" in output
    assert re.search(r"status\s+unhandled after 1 attempt", output)
    assert re.search(r"deliveries\s+2 ", output)
    assert "with secret 0 of the source's active secrets" in output
    timeline = output.split("timeline", 1)[1]
    assert [status for status in ("received", "processing", "unhandled") if status in timeline] == [
        "received",
        "processing",
        "unhandled",
    ]
    assert timeline.index("received") < timeline.index("processing") < timeline.index("unhandled")
    assert "attempt 1" in timeline
    assert '"ref": "refs/heads/main"' in output  # the body, from the archive, pretty-printed

    by_provider_id = ledgered.webhooks("events", "show", "7f9c1e2a-delivery-guid")
    assert by_provider_id.exit_code == 0, by_provider_id.output
    assert first in by_provider_id.output
    assert '"ref": "refs/heads/main"' in by_provider_id.output

    # The same delivery id on other content is another event (GitHub signs the body, not the id).
    second = ledgered.deliver("github", event_id="7f9c1e2a-delivery-guid", body=b'{"ref": "refs/heads/other"}')
    assert second != first
    several = ledgered.webhooks("events", "show", "7f9c1e2a-delivery-guid")
    assert several.exit_code == 1
    assert "2 events have the provider event id" in several.output
    assert first in several.output
    assert second in several.output


def test_show_of_an_unknown_id_says_so_and_exits_1(ledgered: Ledgered) -> None:
    result = ledgered.webhooks("events", "show", "stripe/evt_nowhere")
    assert result.exit_code == 1
    assert "no event 'stripe/evt_nowhere'" in result.output
    assert "Traceback" not in result.output


# --- replay -----------------------------------------------------------------------------------


def test_replaying_a_dead_event_runs_its_handler_once(ledgered: Ledgered) -> None:
    dead = ledgered.deliver("stripe", event_type=FAILING_TYPE)
    ledgered.process()
    assert ledgered.record(dead).status == "dead"
    assert ledgered.runs == []

    ledgered.broken.clear()  # the fix
    replayed = ledgered.webhooks("events", "replay", dead)
    assert replayed.exit_code == 0, replayed.output
    assert f"sent {dead}" in replayed.output
    assert "sent 1, skipped 0, failed 0" in replayed.output
    assert ledgered.record(dead).status == "queued"
    ledgered.process()

    assert ledgered.runs == [dead]
    record = ledgered.record(dead)
    assert record.status == "processed"
    assert [step.status for step in record.history][-3:] == ["queued", "processing", "processed"]
    assert ledgered.record(dead).history[-3].note == "replay"


def test_a_processed_event_is_skipped_without_force_and_run_exactly_once_more_with_it(ledgered: Ledgered) -> None:
    done = ledgered.deliver("stripe")
    ledgered.process()
    assert ledgered.runs == [done]

    skipped = ledgered.webhooks("events", "replay", done)
    assert skipped.exit_code == 0, skipped.output
    assert f"skipped {done}: already processed; --force runs it again" in skipped.output
    assert "sent 0, skipped 1, failed 0" in skipped.output
    assert ledgered.queued() == 0

    # The same --force replay twice, back to back, before the processor runs: one send.
    first = ledgered.webhooks("events", "replay", done, "--force", "--yes")
    second = ledgered.webhooks("events", "replay", done, "--force", "--yes")
    assert first.exit_code == 0, first.output
    assert "sent 1, skipped 0, failed 0" in first.output
    assert second.exit_code == 0, second.output
    assert "sent 0, skipped 1, failed 0" in second.output
    assert f"skipped {done}: already queued" in second.output
    assert ledgered.queued() == 1
    ledgered.process()
    assert Counter(ledgered.runs)[done] == 2
    assert ledgered.record(done).status == "processed"
    # The replay's run is the event's second, though its message was received once.
    shown = ledgered.webhooks("events", "show", done)
    assert shown.exit_code == 0, shown.output
    assert re.search(r"status\s+processed after 2 attempt", shown.output)
    timeline = shown.output.split("timeline", 1)[1]
    assert re.findall(r"(processing|processed)\s+attempt (\d)", timeline) == [
        ("processing", "1"),
        ("processed", "1"),
        ("processing", "2"),
        ("processed", "2"),
    ]


def test_two_concurrent_force_replays_of_one_event_run_it_exactly_once_more(ledgered: Ledgered) -> None:
    done = ledgered.deliver("stripe")
    ledgered.process()
    record = ledgered.record(done)  # both replays read it processed, then race to reopen it
    barrier = threading.Barrier(2)
    reports = []

    def replay() -> None:
        events = ledgered.events()
        barrier.wait()
        reports.append(events.replay([record], rate=0, force=True))

    threads = [threading.Thread(target=replay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(len(report.sent) for report in reports) == [0, 1]
    assert sum(len(report.skipped) for report in reports) == 1
    ledgered.process()
    assert Counter(ledgered.runs)[done] == 2


def test_a_dry_run_changes_nothing(ledgered: Ledgered) -> None:
    dead = ledgered.deliver("stripe", event_type=FAILING_TYPE)
    done = ledgered.deliver("stripe")
    ledgered.process()
    before = {envelope_id: ledgered.record(envelope_id) for envelope_id in (dead, done)}

    by_status = ledgered.webhooks("events", "replay", "--status", "dead,processed", "--dry-run")
    assert by_status.exit_code == 0, by_status.output
    assert f"would send {dead}" in by_status.output
    assert f"skipped {done}: already processed" in by_status.output
    assert "would send 1, skipped 1, failed 0" in by_status.output
    forced = ledgered.webhooks("events", "replay", dead, done, "--force", "--dry-run")
    assert "would send 2, skipped 0, failed 0" in forced.output

    assert {envelope_id: ledgered.record(envelope_id) for envelope_id in (dead, done)} == before
    assert ledgered.queued() == 0


def test_a_replay_that_matches_nothing_says_so_and_exits_1(ledgered: Ledgered) -> None:
    ledgered.deliver("stripe")
    ledgered.process()
    by_id = ledgered.webhooks("events", "replay", "stripe/evt_nowhere")
    assert by_id.exit_code == 1
    assert "no event matches stripe/evt_nowhere" in by_id.output
    by_filters = ledgered.webhooks("events", "replay", "--status", "dead", "--yes")
    assert by_filters.exit_code == 1
    assert "no event matches the filters" in by_filters.output
    unselected = ledgered.webhooks("events", "replay")
    assert unselected.exit_code == 1
    assert "say which events" in unselected.output
    assert ledgered.queued() == 0


def test_a_bulk_replay_asks_first_and_a_no_changes_nothing(ledgered: Ledgered) -> None:
    dead = ledgered.deliver("stripe", event_type=FAILING_TYPE)
    ledgered.process()
    declined = ledgered.webhooks("events", "replay", "--status", "dead", stdin="n\n")
    assert declined.exit_code == 1
    assert "Replay 1 event(s)" in declined.output
    assert ledgered.record(dead).status == "dead"
    assert ledgered.queued() == 0


def test_a_send_that_fails_is_counted_failed_and_puts_the_record_back(
    ledgered: Ledgered, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = ledgered.deliver("stripe")
    ledgered.process()
    injector = FaultInjector()
    injector.install(monkeypatch)
    injector.arm(Arm("sqs", "SendMessage", "error", times=10))
    failed = ledgered.webhooks("events", "replay", done, "--force", "--yes")
    injector.disarm()
    assert failed.exit_code == 1
    assert f"failed {done}: not sent: InternalError" in failed.output
    assert "sent 0, skipped 0, failed 1" in failed.output
    record = ledgered.record(done)
    assert record.status == "processed"  # not left queued with no message to run it
    assert record.history[-1].note.startswith("replay not sent")

    again = ledgered.webhooks("events", "replay", done, "--force", "--yes")
    assert "sent 1, skipped 0, failed 0" in again.output
    ledgered.process()
    assert Counter(ledgered.runs)[done] == 2


def test_an_event_with_no_archived_copy_is_skipped_with_the_reason(ledgered: Ledgered) -> None:
    ledger = ledgered.ledger
    record = EventRecord(
        id="hmac/never-taken", source="hmac", type="ping", status="received", received_at=datetime.now(UTC)
    )
    ledger.claim(record, in_flight_until=0, now=time.time())
    ledger.fail(record, RuntimeError("before any archive"), attempt=5, dead=True, now=time.time())
    result = ledgered.webhooks("events", "replay", "hmac/never-taken")
    assert result.exit_code == 0, result.output
    assert "skipped hmac/never-taken: no archived copy to send" in result.output
    assert ledgered.record("hmac/never-taken").status == "dead"


def test_a_claim_checked_body_is_put_again_on_replay(ledgered: Ledgered) -> None:
    body = json.dumps({"id": "evt_big", "type": "invoice.paid", "blob": "x" * 1_200_000}).encode()
    big = ledgered.deliver("stripe", event_id="evt_big", event_type="invoice.paid", body=body)
    ledgered.process()
    record = ledgered.record(big)
    assert record.body_ref is not None
    bucket = ledgered.operated.resources.body_bucket
    put_at = ledgered.s3.head_object(Bucket=bucket, Key=record.body_ref)["LastModified"]
    time.sleep(1.1)  # S3 keeps LastModified in whole seconds

    replayed = ledgered.webhooks("events", "replay", big, "--force", "--yes")
    assert "sent 1, skipped 0, failed 0" in replayed.output
    assert ledgered.s3.head_object(Bucket=bucket, Key=record.body_ref)["LastModified"] > put_at
    shown = ledgered.webhooks("events", "show", big)
    assert "more characters (--full prints them all)" in shown.output
    ledgered.process()
    assert Counter(ledgered.runs)[big] == 2


# --- tail -------------------------------------------------------------------------------------


def test_tail_prints_a_new_event_then_its_status_change(ledgered: Ledgered) -> None:
    follower = ledgered.events().follow(Filters(), since=datetime.now(UTC))
    github_only = ledgered.events().follow(Filters(source="github"), since=datetime.now(UTC))
    assert follower.poll() == []
    arrived = ledgered.deliver("stripe")
    assert github_only.poll() == []
    (new,) = follower.poll()
    assert (new.record.id, new.status, new.previous) == (arrived, "received", None)
    assert follower.poll() == []  # printed once
    ledgered.process()
    (change,) = follower.poll()
    assert (change.record.id, change.previous, change.status) == (arrived, "received", "processed")
    assert github_only.poll() == []
    assert follower.poll() == []
    dead_only = ledgered.events().follow(Filters(statuses=("dead",)), since=datetime.now(UTC) - timedelta(minutes=1))
    assert dead_only.poll() == []

    printed = ledgered.webhooks("events", "tail", "--once", "--since", "1m")
    assert printed.exit_code == 0, printed.output
    assert re.search(rf"new  {re.escape(arrived)}\s+processed\s+stripe\s+checkout.session.completed", printed.output)


def test_tail_follows_until_its_time_is_up(ledgered: Ledgered) -> None:
    """The command itself: it prints an event delivered and processed while it runs."""
    arrivals: list[str] = []

    def traffic() -> None:
        time.sleep(1.0)
        arrivals.append(ledgered.deliver("stripe"))
        time.sleep(1.5)
        ledgered.process()

    worker = threading.Thread(target=traffic)
    worker.start()
    result = ledgered.webhooks("events", "tail", "--for", "12", "--interval", "0.3")
    worker.join(30)
    assert result.exit_code == 0, result.output
    (arrived,) = arrivals
    assert re.search(rf"new  {re.escape(arrived)}\s+received", result.output)
    # Processed, in one step or through `processing` (when a poll fell while it ran).
    assert re.search(rf"{re.escape(arrived)}\s+(received|processing) → processed", result.output)


# --- what a sender controls --------------------------------------------------------------------


def test_hostile_field_values_are_shown_escaped(ledgered: Ledgered) -> None:
    # The type a sender chose, and an error quoting it: through the receiver and processor.
    registry_type = ledgered.deliver("stripe", event_type=HOSTILE_TYPE)
    ledgered.process()
    # A record whose every text field is hostile (a source name cannot be, through the receiver).
    ledger = ledgered.ledger
    forged = EventRecord(
        id=f"hmac/forged{HOSTILE}",
        source=f"hmac{HOSTILE}",
        type=f"ping{HOSTILE}",
        status="received",
        received_at=datetime.now(UTC),
        event_id=f"forged{HOSTILE}",
    )
    ledger.claim(forged, in_flight_until=0, now=time.time())
    ledger.fail(forged, RuntimeError(f"boom {HOSTILE}"), attempt=5, dead=True, now=time.time())

    both = (ESCAPED, ESCAPED_TYPE)
    for arguments, expected in (
        (("events", "list"), both),
        (("events", "list", "--status", "dead"), both),
        (("events", "show", registry_type), (ESCAPED_TYPE, f"for {ESCAPED_TYPE}")),
        (("events", "show", forged.id), (ESCAPED,)),
        (("events", "tail", "--once", "--since", "1m"), both),
        (("events", "replay", "--since", "1m", "--force", "--dry-run"), (ESCAPED,)),
    ):
        result = ledgered.webhooks(*arguments)
        assert result.exit_code == 0, (arguments, result.output)
        assert_no_raw_controls(result.output)
        assert all(text in result.output for text in expected), (arguments, result.output)
    shown = ledgered.webhooks("events", "show", forged.id).output
    assert f"boom {ESCAPED}" in shown
    assert f"hmac{ESCAPED}" in shown

    as_json = ledgered.webhooks("events", "list", "--json")
    assert_no_raw_controls(as_json.stdout)
    assert {item["type"] for item in json.loads(as_json.stdout)} == {HOSTILE_TYPE, f"ping{HOSTILE}"}
