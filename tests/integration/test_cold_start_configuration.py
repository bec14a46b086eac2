"""A bad sources file or setting stops the function at cold start, naming what is wrong."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import Stack
from tests.support.signers import sign
from webhook_core.errors import ConfigurationError

pytestmark = pytest.mark.integration


def test_an_unknown_kind_stops_the_function_naming_the_source(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver_logs: io.StringIO
) -> None:
    sources = tmp_path / "sources.json"
    sources.write_text(json.dumps({"sources": [{"name": "billing", "kind": "paypal-classic"}]}))
    monkeypatch.setenv("SOURCES_FILE", str(sources))
    receiver_app.get_receiver.cache_clear()
    with pytest.raises(ConfigurationError, match="source 'billing'"):
        stack.deliver("billing", sign("stripe"))
    assert stack.ledger_records() == []
    logged = [json.loads(line) for line in receiver_logs.getvalue().splitlines() if line.startswith("{")]
    critical = [entry for entry in logged if entry.get("level") == "CRITICAL"]
    assert critical
    assert "source 'billing'" in critical[0]["reason"]


def test_a_missing_setting_stops_the_function_naming_the_variable(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTS_QUEUE_URL")
    receiver_app.get_receiver.cache_clear()
    with pytest.raises(ConfigurationError, match="EVENTS_QUEUE_URL"):
        stack.deliver("stripe", sign("stripe"))
