"""What a sender controls reaches the terminal escaped: the helper itself, and the dev
log's lines (`webhooks dev` prints one per request and one per record processed)."""

from __future__ import annotations

import pytest

from webhooks_cli import cli
from webhooks_cli.local.gateway import Answered
from webhooks_cli.local.poller import RecordOutcome
from webhooks_cli.terminal import printable

HOSTILE = "\x1b]0;pwned\x07\x1b[2J"
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2J"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\u2028", "\x7f")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (HOSTILE, ESCAPED),
        ("\x00\x08\t\n\r\x7f", "\\x00\\x08\\t\\n\\r\\x7f"),  # C0 controls and DEL
        ("\x85\x9b31m", "\\x85\\x9b31m"),  # C1 controls: NEL, a one-byte CSI
        ("invoice\u202efdp.exe", "invoice\\u202efdp.exe"),  # a bidi override
        ("a\u2028b\u2029c\u200bd\ufeff", "a\\u2028b\\u2029c\\u200bd\\ufeff"),  # separators, zero-width
        ("tag\U000e0041", "tag\\U000e0041"),  # an invisible tag character
        ("a\u00a0b", "a\\xa0b"),  # looks like a space, is not one
    ],
)
def test_non_printing_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize(
    "text",
    ["checkout.session.completed", "Zahlung für Bestellung", "注文完了", "naïve café 🚀", "a b", r"C:\path"],
)
def test_ordinary_text_of_any_script_is_unchanged(text: str) -> None:
    assert printable(text) == text


def dev_log(print_line: object, *arguments: object) -> str:
    with cli.console.capture() as captured:
        print_line(*arguments)  # type: ignore[operator]
    return captured.get()


def assert_escaped(line: str) -> None:
    assert not [control for control in RAW_CONTROLS if control in line], repr(line)
    assert ESCAPED in line


@pytest.mark.parametrize("succeeded", [True, False], ids=["processed", "failed"])
def test_a_record_line_escapes_the_envelope_id_and_type(succeeded: bool) -> None:
    # A GitHub delivery id is an unsigned header: whoever holds a signed body can pick it.
    outcome = RecordOutcome(
        message_id="m-1",
        envelope_id=f"github/{HOSTILE}",
        kind="github",
        event_type=f"push{HOSTILE}\u202e",
        receive_count=2,
        succeeded=succeeded,
    )
    line = dev_log(cli._print_record, outcome, 5)
    assert_escaped(line)
    assert f"github/{ESCAPED}" in line
    assert f"push{ESCAPED}\\u202e" in line


def test_a_request_line_escapes_the_method_path_and_answer() -> None:
    refused = Answered(f"POST{HOSTILE}", f"/webhooks/{HOSTILE}", 401, f"{HOSTILE}", 0.002, reason=f"r{HOSTILE}")
    line = dev_log(cli._print_request, refused)
    assert_escaped(line)
    assert f"/webhooks/{ESCAPED}" in line
    assert f"r{ESCAPED}" in line


def test_a_request_line_escapes_the_type_and_id_the_receiver_recorded() -> None:
    # Both come from the body or unsigned headers of whoever sent it.
    recorded = Answered(
        "POST",
        "/webhooks/github",
        202,
        "{}",
        0.002,
        recorded="accepted",
        event_type=f"push{HOSTILE}",
        envelope_id=f"github/{HOSTILE}",
    )
    line = dev_log(cli._print_request, recorded)
    assert_escaped(line)
    assert f"accepted push{ESCAPED} github/{ESCAPED}" in line


def test_a_failed_record_and_its_dead_letter_line_escape_the_error() -> None:
    # A handler's exception message may quote the body it choked on.
    outcome = RecordOutcome("m-1", f"github/{HOSTILE}", "github", "push", 5, False, error=f"ValueError: {HOSTILE}")
    line = dev_log(cli._print_record, outcome, 5)
    assert_escaped(line)
    assert f"ValueError: {ESCAPED}" in line
    assert_escaped(dev_log(cli._print_dead_letter, outcome))


def test_a_copy_acknowledged_without_running_is_not_said_to_be_processed() -> None:
    # `processed` lines count handler runs (the soak counts them): a copy absorbed by the
    # processor's lock did not run.
    outcome = RecordOutcome("m-2", "stripe/evt_1", "stripe", "invoice.paid", 1, True, absorbed=True)
    line = dev_log(cli._print_record, outcome, 5)
    assert line.split()[1:3] == ["copy", "stripe/evt_1"]
    assert "processed " not in line


def test_an_error_line_escapes_what_it_quotes() -> None:
    with cli.errors.capture() as captured:
        cli._print_error(f"processor invocation failed: ValueError: {HOSTILE}")
    assert_escaped(captured.get())
