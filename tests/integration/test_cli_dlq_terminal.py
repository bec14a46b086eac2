"""What a sender controls (an unsigned User-Agent, an event type, a delivery id, the
body) reaches the operator's terminal escaped through every `webhooks dlq` command,
and `dlq show` shows what it can of an envelope with fields of unexpected types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import OperatedStack
from tests.support.envelopes import envelope
from webhook_core.state import ProcessorState

pytestmark = pytest.mark.integration
# Sets the terminal's title (OSC … BEL), then clears the screen (CSI 2J).
HOSTILE = "\x1b]0;pwned\x07\x1b[2J"
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2J"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\x7f")


def put_dead_letter(stack: OperatedStack, body: dict[str, Any], failure: str | None = None) -> None:
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.dead_letter_queue_url, MessageBody=json.dumps(body))
    if failure is not None:
        state = ProcessorState(stack.resources.state_table, ttl_seconds=3600, client=stack.client("dynamodb"))
        state.record_failure(str(body["id"]), RuntimeError(failure), 5)


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
