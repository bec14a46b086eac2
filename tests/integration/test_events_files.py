"""The committed events/ files are what the handlers accept (they are for `sam local invoke`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.processor import app as processor_app
from tests.integration.conftest import Stack
from tests.support.lambda_context import lambda_context
from webhook_core.envelope import Envelope

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[2] / "events"


def test_every_sqs_record_in_events_is_a_valid_envelope() -> None:
    for path in EVENTS.glob("processor-*.json"):
        for record in json.loads(path.read_text())["Records"]:
            envelope = Envelope.model_validate_json(record["body"])
            assert record["messageAttributes"]["source"]["stringValue"] == envelope.source
            assert record["messageAttributes"]["type"]["stringValue"] == envelope.type


def test_the_processor_batch_event_is_processed_without_failures_by_the_fixture_handlers(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_TABLE_NAME", stack.resources.ledger_table)
    processor_app.get_processor.cache_clear()
    event = json.loads((EVENTS / "processor-sqs-batch.json").read_text())
    assert processor_app.lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    statuses = {record["status"]["S"] for record in stack.ledger_records()}
    assert statuses == {"processed"}
    processor_app.get_processor.cache_clear()
