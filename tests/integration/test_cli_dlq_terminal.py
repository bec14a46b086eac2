"""What a sender controls (an unsigned User-Agent, an event type, a delivery id, the
body) reaches the operator's terminal escaped through every `webhooks dlq` command,
and `dlq show` shows what it can of an envelope with fields of unexpected types."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import OperatedStack
from tests.support.envelopes import envelope
from webhook_core.ledger import DynamoDBLedger, EventRecord, record_of

pytestmark = pytest.mark.integration
# Sets the terminal's title (OSC … BEL), then clears the screen (CSI 2J).
HOSTILE = "\x1b]0;pwned\x07\x1b[2J"
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2J"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f")


def put_dead_letter(stack: OperatedStack, body: dict[str, Any], failure: str | None = None) -> None:
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.dead_letter_queue_url, MessageBody=json.dumps(body))
    if failure is not None:
        ledger = DynamoDBLedger(stack.resources.ledger_table, retention_seconds=3600, client=stack.client("dynamodb"))
        record = EventRecord(id=str(body["id"]), source="", type="", status="received", received_at=datetime.now(UTC))
        ledger.fail(record, RuntimeError(failure), attempt=5, dead=True, now=time.time())


@pytest.fixture
def hostile_letter(operated_stack: OperatedStack) -> str:
    """A dead letter whose every sender-controlled field carries terminal control sequences."""
    item = envelope(
        kind="github",
        event_type=f"push{HOSTILE}",
        event_id=f"delivery{HOSTILE}",
        body=f"not json {HOSTILE}\nsecond line \u202egnp.exe \x9b31m \x7f".encode(),
        headers={"User-Agent": HOSTILE, "X-Bidi": "\u202etxt.exe"},
    )
    put_dead_letter(operated_stack, json.loads(item.to_message(250_000)), failure=f"boom {HOSTILE}")
    return item.id


def assert_no_raw_controls(output: str) -> None:
    found = [control for control in RAW_CONTROLS if control in output]
    assert not found, f"raw control characters {found!r} in {output!r}"


def test_dlq_list_escapes_what_the_sender_controls(operated_stack: OperatedStack, hostile_letter: str) -> None:
    result = operated_stack.webhooks("dlq", "list")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert "\\x1b" in result.output
    assert "1 dead letter(s)" in result.output
    assert " dead " in result.output  # the ledger's status of its event


def test_dlq_list_shows_a_letter_whose_event_was_since_processed(operated_stack: OperatedStack) -> None:
    item = envelope(kind="stripe", event_type="invoice.paid", body={"n": 1})
    put_dead_letter(operated_stack, json.loads(item.to_message(250_000)), failure="boom")
    ledger = DynamoDBLedger(
        operated_stack.resources.ledger_table, retention_seconds=3600, client=operated_stack.client("dynamodb")
    )
    ledger.reopen(item.id, now=time.time(), force=False)  # replayed (`webhooks events replay`) …
    at = time.time()
    lock = ledger.lock(record_of(item, size=0), attempt=1, lock_until=at + 30, now=at, archive=None)
    ledger.finish(item.id, "processed", token=lock.token, now=at)  # … and processed
    result = operated_stack.webhooks("dlq", "list")
    assert result.exit_code == 0, result.output
    assert " processed " in result.output


def test_dlq_list_json_stays_valid_json_with_nothing_raw(operated_stack: OperatedStack, hostile_letter: str) -> None:
    result = operated_stack.webhooks("dlq", "list", "--json")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    (letter,) = json.loads(result.output)
    assert (letter["id"], letter["type"]) == (hostile_letter, f"push{HOSTILE}")
    assert letter["last_error"] == f"RuntimeError: boom {HOSTILE}"


def test_dlq_show_escapes_headers_fields_failure_and_body(operated_stack: OperatedStack, hostile_letter: str) -> None:
    result = operated_stack.webhooks("dlq", "show", hostile_letter)
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert f"User-Agent: {ESCAPED}" in result.output
    assert "X-Bidi: \\u202etxt.exe" in result.output
    assert f"push{ESCAPED}" in result.output
    assert f"delivery{ESCAPED}" in result.output
    assert f"RuntimeError: boom {ESCAPED}" in result.output
    # A text body keeps its lines; what is in them is escaped.
    assert f"not json {ESCAPED}\nsecond line \\u202egnp.exe \\x9b31m \\x7f" in result.output


@pytest.mark.parametrize("command", ["replay", "purge"])
def test_dry_run_listings_escape_the_ids(operated_stack: OperatedStack, hostile_letter: str, command: str) -> None:
    result = operated_stack.webhooks("dlq", command, "--dry-run")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert f"github/delivery{ESCAPED}" in result.output


@pytest.mark.parametrize(
    "headers", [["User-Agent", HOSTILE], HOSTILE, 7, None], ids=["a list", "a string", "a number", "null"]
)
def test_dlq_show_shows_what_it_can_of_an_envelope_with_fields_of_odd_types(
    operated_stack: OperatedStack, headers: Any
) -> None:
    put_dead_letter(
        operated_stack,
        {
            "id": "github/odd-1",
            "source": ["github"],
            "type": {"nested": HOSTILE},
            "received_at": 1_700_000_000,
            "headers": headers,
            "body": '{"action": "opened"}',
            "body_encoding": "base64",  # not base64: shown as the text it is
        },
    )
    result = operated_stack.webhooks("dlq", "show", "github/odd-1")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert_no_raw_controls(result.output)
    assert '{"action": "opened"}' in result.output or '"action": "opened"' in result.output
    assert "1700000000" in result.output


def test_dlq_show_of_a_deeply_nested_json_dead_letter_does_not_crash(operated_stack: OperatedStack) -> None:
    """Claim 9 / 'dlq show shows what it can': a 10,000-deep JSON body is exactly what the
    receiver queues and the processor dead-letters (UnparseableBodyError). dlq show does
    json.loads(raw) catching only ValueError; RecursionError escapes as a traceback."""
    item = envelope(kind="stripe", event_id="evt_deep", body=b"[" * 10_000 + b"]" * 10_000)
    sqs = operated_stack.client("sqs")
    sqs.send_message(QueueUrl=operated_stack.resources.dead_letter_queue_url, MessageBody=item.to_message(900_000))
    result = operated_stack.webhooks("dlq", "show", "stripe/evt_deep")
    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "Traceback" not in result.output


def test_a_claim_checked_dead_letter_whose_body_is_gone_does_not_break_dlq_list_grep(
    operated_stack: OperatedStack,
) -> None:
    """A claim-checked letter whose object expired (BodyRetentionDays counts from the put,
    while a `dlq replay` starts a new message with a fresh 4 + 14 days) makes every
    --grep selection (list, replay, purge) and dlq show die with BodyStoreError."""
    from webhook_core.envelope import BodyRef

    raw = b'{"big": "' + b"x" * 2_000_000 + b'"}'
    item = envelope(kind="github", event_type="push", event_id="gone-1", body=raw)
    checked = item.by_reference(BodyRef.of(raw))  # never put: as after the bucket's expiry
    sqs = operated_stack.client("sqs")
    sqs.send_message(QueueUrl=operated_stack.resources.dead_letter_queue_url, MessageBody=checked.to_message(900_000))
    listed = operated_stack.webhooks("dlq", "list", "--grep", "anything")
    assert listed.exit_code == 0, (listed.output, repr(listed.exception))
    shown = operated_stack.webhooks("dlq", "show", "github/gone-1")
    assert shown.exception is None or isinstance(shown.exception, SystemExit), repr(shown.exception)
    assert "cannot be read" in shown.output


def test_replay_refreshes_a_claim_checked_body_and_fails_alone_one_whose_body_is_gone(
    operated_stack: OperatedStack,
) -> None:
    """The replayed message lives another 4 + 14 days: its body is put again so the bucket's
    expiry starts over; a letter whose body is already gone fails alone and stays."""
    from webhook_core.envelope import BodyRef

    sqs, s3 = operated_stack.client("sqs"), operated_stack.client("s3")
    bucket = operated_stack.resources.body_bucket
    kept_raw, gone_raw = (b'{"kept": "' + b"k" * 1_200_000 + b'"}', b'{"gone": "' + b"g" * 1_200_000 + b'"}')
    kept = envelope(kind="github", event_type="push", event_id="kept-1", body=kept_raw)
    gone = envelope(kind="github", event_type="push", event_id="gone-2", body=gone_raw)
    kept_ref, gone_ref = BodyRef.of(kept_raw), BodyRef.of(gone_raw)
    s3.put_object(Bucket=bucket, Key=kept_ref.key, Body=kept_raw)
    put_at = s3.head_object(Bucket=bucket, Key=kept_ref.key)["LastModified"]
    for item, reference in ((kept, kept_ref), (gone, gone_ref)):
        message = item.by_reference(reference).to_message(900_000)
        sqs.send_message(QueueUrl=operated_stack.resources.dead_letter_queue_url, MessageBody=message)
    time.sleep(1.1)  # S3 keeps LastModified in whole seconds

    result = operated_stack.webhooks("dlq", "replay", "--yes")

    assert result.exit_code == 0, (result.output, repr(result.exception))
    assert "failed github/gone-2" in result.output
    assert "moved 1, skipped 0, failed 1" in result.output
    assert s3.head_object(Bucket=bucket, Key=kept_ref.key)["LastModified"] > put_at  # expiry starts over
    queued = sqs.receive_message(QueueUrl=operated_stack.resources.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(message["Body"])["id"] for message in queued] == ["github/kept-1"]
    left = sqs.receive_message(QueueUrl=operated_stack.resources.dead_letter_queue_url, MaxNumberOfMessages=10)
    assert [json.loads(message["Body"])["id"] for message in left["Messages"]] == ["github/gone-2"]


def test_dlq_and_secrets_commands_take_an_endpoint_url(operated_stack: OperatedStack) -> None:
    """--endpoint-url names where the local stack's resources are: it used to fail as a
    'damaged' state file on every dlq and secrets command (found by a new user)."""
    for command in (("dlq", "list", "--json"), ("secrets", "list")):
        result = operated_stack.webhooks(*command, "--endpoint-url", operated_stack.endpoint)
        assert result.exit_code == 0, (command, result.output)
        assert "damaged" not in result.output


def test_replaying_an_id_no_dead_letter_has_is_an_error(operated_stack: OperatedStack) -> None:
    """It used to print `moved 0, skipped 0, failed 0` and exit 0 (found by a new user)."""
    result = operated_stack.webhooks("dlq", "replay", "stripe/evt_nowhere", "--yes")
    assert result.exit_code == 1
    assert "no dead letter matches stripe/evt_nowhere" in result.output


def test_replaying_by_a_filter_that_matches_nothing_says_so(operated_stack: OperatedStack) -> None:
    """It printed `moved 0, skipped 0, failed 0` and exited 0, as if a typo had replayed."""
    result = operated_stack.webhooks("dlq", "replay", "--source", "strpie", "--type", "invoice.paid", "--yes")
    assert result.exit_code == 1
    assert "no dead letter matches --source strpie --type invoice.paid" in result.output


def test_dlq_list_keeps_each_envelope_id_whole_at_80_columns(
    operated_stack: OperatedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id is what `dlq show` and `dlq replay` are given: folded over lines, it cannot be copied."""
    item = envelope(kind="github", event_type="push", body={"n": 1})
    message = json.loads(item.to_message(250_000))
    message["id"] = "github/sha256-" + "ab" * 32  # a digest-keyed id: 78 characters
    put_dead_letter(operated_stack, message, failure="boom")
    monkeypatch.setenv("COLUMNS", "80")
    result = operated_stack.webhooks("dlq", "list")
    assert result.exit_code == 0, result.output
    assert message["id"] in result.output, result.output
