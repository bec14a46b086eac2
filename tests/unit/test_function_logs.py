"""`webhooks dev` runs both functions in one process: their logs stay apart, show only
with --verbose, and are handed to the invocation that wrote them."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.logs import written_logs
from webhook_core.observability import logger
from webhooks_cli.local.function_logs import take_over
from webhooks_cli.local.runtime import LocalFunction


@logger.inject_lambda_context(clear_state=True, log_event=False)
def _handler(event: dict[str, Any], context: Any) -> None:
    logger.append_keys(envelope_id=event["id"])
    event["appended"].set()
    event["other_appended"].wait(5)  # the other function has set its keys meanwhile
    logger.warning("refused", extra={"detail": event["detail"]})


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the functions' logger writes (to stdout in the stack)."""
    with written_logs() as stream:
        yield stream


def _run_both_at_once() -> dict[str, Any]:
    receiver = LocalFunction("receiver", _handler, 3, 128)
    processor = LocalFunction("processor", _handler, 3, 128)
    receiver_ready, processor_ready = threading.Event(), threading.Event()
    events = {
        "receiver": {"id": "r-1", "detail": "signature_mismatch", "appended": receiver_ready},
        "processor": {"id": "p-1", "detail": "handler failed", "appended": processor_ready},
    }
    events["receiver"]["other_appended"] = processor_ready
    events["processor"]["other_appended"] = receiver_ready
    invocations: dict[str, Any] = {}
    threads = [
        threading.Thread(target=lambda f=function: invocations.__setitem__(f.name, f.call(events[f.name])[1]))
        for function in (receiver, processor)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return invocations


def test_each_function_logs_under_its_own_name_while_the_other_runs(written: io.StringIO) -> None:
    give_back = take_over(logger, verbose=True)
    try:
        _run_both_at_once()
    finally:
        give_back()
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    by_detail = {line["detail"]: line for line in lines}
    receiver, processor = by_detail["signature_mismatch"], by_detail["handler failed"]
    assert (receiver["function_name"], receiver["envelope_id"]) == ("receiver", "r-1")
    assert (processor["function_name"], processor["envelope_id"]) == ("processor", "p-1")


def test_without_verbose_nothing_is_written_yet_each_invocation_gets_its_lines(written: io.StringIO) -> None:
    give_back = take_over(logger, verbose=False)
    try:
        invocations = _run_both_at_once()
    finally:
        give_back()
    assert written.getvalue() == ""
    (line,) = invocations["receiver"].logged
    assert (line.message, line.fields["detail"], line.fields["envelope_id"]) == ("refused", "signature_mismatch", "r-1")
