"""The event ledger's lifecycle, held to the same contract by the DynamoDB adapter (on
moto, with the template's table and time index) and the in-memory fake the receiver's
and processor's unit tests use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import template_resources
from webhook_core.errors import DeliveryInProgressError, ServiceUnavailableError
from webhook_core.ledger import DynamoDBLedger, EventRecord, Ledger, LedgerError
from webhook_core.testing import InMemoryLedger

NOW = 1_796_000_000.0
RETENTION = 21 * 86_400


def record(event_id: str = "evt_1", at: float = NOW, source: str = "stripe") -> EventRecord:
    return EventRecord(
        id=f"{source}/{event_id}",
        source=source,
        type="invoice.paid",
        status="received",
        received_at=datetime.fromtimestamp(at, tz=UTC),
        event_id=event_id,
        kind=source,
        secret_index=1,
        size=321,
    )


@pytest.fixture(params=["dynamodb", "memory"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    if request.param == "memory":
        yield InMemoryLedger(retention_seconds=RETENTION)
        return
    with mock_aws():
        resources = template_resources.create(boto3.session.Session(region_name="us-east-1"))
        yield DynamoDBLedger(
            resources.ledger_table,
            retention_seconds=RETENTION,
            client=boto3.client("dynamodb", region_name="us-east-1"),
        )


def test_a_new_delivery_is_claimed_and_recorded_with_what_an_operator_needs(ledger: Ledger) -> None:
    outcome, token = ledger.claim(record(), in_flight_until=NOW + 8, now=NOW)
    assert (outcome.envelope_id, outcome.duplicate, token) == ("stripe/evt_1", False, NOW + 8)
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert (kept.status, kept.deliveries, kept.attempts, kept.secret_index, kept.size) == ("received", 1, 0, 1, 321)
    assert [step.status for step in kept.history] == ["received"]
    assert kept.view(NOW + 1) == "received"
    assert kept.view(NOW + 9) == "queued"  # its claim ran out: it was sent (a failed send releases it)


def test_a_copy_while_the_first_may_still_be_sending_is_in_flight_and_counted(ledger: Ledger) -> None:
    ledger.claim(record(), in_flight_until=NOW + 8, now=NOW)
    with pytest.raises(DeliveryInProgressError):
        ledger.claim(record(), in_flight_until=NOW + 9, now=NOW + 1)
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert (kept.deliveries, kept.in_flight_until) == (2, NOW + 8)


def test_once_the_processor_took_it_every_copy_is_a_duplicate_and_counted(ledger: Ledger) -> None:
    ledger.claim(record(), in_flight_until=NOW + 8, now=NOW)
    lock = ledger.lock(record(), attempt=1, lock_until=NOW + 30, now=NOW + 0.5, archive="archive/a.jsonl#0")
    assert lock.run
    for copy in range(2):
        outcome, claim = ledger.claim(record(), in_flight_until=NOW + 9, now=NOW + 1 + copy)
        assert (outcome.duplicate, claim) == (True, None)
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert (kept.status, kept.deliveries, kept.archive) == ("processing", 3, "archive/a.jsonl#0")


def test_a_claim_that_ran_out_unsent_is_taken_over_once_and_released_only_by_its_owner(ledger: Ledger) -> None:
    _, first = ledger.claim(record(), in_flight_until=NOW + 2, now=NOW)
    outcome, second = ledger.claim(record(), in_flight_until=NOW + 13, now=NOW + 5)
    assert (outcome.duplicate, second) == (False, NOW + 13)  # taken over: sent again
    with pytest.raises(DeliveryInProgressError):  # the taker's claim holds now
        ledger.claim(record(), in_flight_until=NOW + 14, now=NOW + 6)
    assert first is not None
    ledger.release("stripe/evt_1", first)  # the dead first owner's token no longer releases it
    assert ledger.get("stripe/evt_1") is not None
    assert second is not None
    ledger.release("stripe/evt_1", second)
    assert ledger.get("stripe/evt_1") is None  # released: the provider's retry is accepted
    assert ledger.claim(record(), in_flight_until=NOW + 20, now=NOW + 10)[0].duplicate is False


def test_the_lock_runs_a_handler_once_holds_while_live_and_absorbs_copies_after(ledger: Ledger) -> None:
    ledger.claim(record(), in_flight_until=NOW + 8, now=NOW)
    first = ledger.lock(record(), attempt=1, lock_until=NOW + 30, now=NOW + 1, archive=None)
    held = ledger.lock(record(), attempt=2, lock_until=NOW + 40, now=NOW + 2, archive=None)
    assert (first.run, held.run, held.status) == (True, False, "processing")
    # The first attempt died: once its lock ran out, the redelivery runs the handler.
    retried = ledger.lock(record(), attempt=2, lock_until=NOW + 70, now=NOW + 31, archive=None)
    assert retried.run
    ledger.finish("stripe/evt_1", "processed", token=first.token, now=NOW + 32)  # the dead attempt's: ignored
    assert (ledger.get("stripe/evt_1") or record()).status == "processing"
    ledger.finish("stripe/evt_1", "processed", token=retried.token, now=NOW + 33)
    copy = ledger.lock(record(), attempt=3, lock_until=NOW + 90, now=NOW + 40, archive=None)
    assert (copy.run, copy.status) == (False, "processed")
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert (kept.status, kept.attempts, kept.lock_until) == ("processed", 2, None)
    assert [step.status for step in kept.history] == ["received", "processing", "processing", "processed"]


def test_a_failure_releases_the_lock_and_the_last_one_is_dead(ledger: Ledger) -> None:
    lock = ledger.lock(record(), attempt=1, lock_until=NOW + 30, now=NOW, archive=None)
    ledger.fail(
        record(), RuntimeError("the billing system said no"), attempt=1, dead=False, now=NOW + 1, token=lock.token
    )
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert (kept.status, kept.error_type, kept.last_error) == ("failed", "RuntimeError", "the billing system said no")
    again = ledger.lock(record(), attempt=2, lock_until=NOW + 40, now=NOW + 2, archive=None)
    assert again.run  # not held: the redelivery runs at once
    ledger.fail(record(), ValueError(""), attempt=2, dead=True, now=NOW + 3, token=again.token)
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert (kept.status, kept.last_error, kept.attempts) == ("dead", "ValueError", 2)
    assert kept.history[-1].note == "ValueError: ValueError"


def test_a_handler_abandoned_on_its_thread_keeps_its_lock_until_it_runs_out(ledger: Ledger) -> None:
    lock = ledger.lock(record(), attempt=1, lock_until=NOW + 30, now=NOW, archive=None)
    ledger.fail(
        record(), TimeoutError("abandoned"), attempt=1, dead=False, now=NOW + 10, token=lock.token, keep_lock=True
    )
    assert ledger.lock(record(), attempt=2, lock_until=NOW + 50, now=NOW + 11, archive=None).run is False
    assert ledger.lock(record(), attempt=2, lock_until=NOW + 80, now=NOW + 31, archive=None).run is True


def test_a_failure_before_any_record_makes_one_with_what_sqs_counted(ledger: Ledger) -> None:
    ledger.fail(record("poison"), RuntimeError("not an envelope"), attempt=3, dead=False, now=NOW)
    kept = ledger.get("stripe/poison")
    assert kept is not None
    assert (kept.status, kept.attempts, kept.deliveries) == ("failed", 3, 1)


def test_reopen_queues_a_dead_event_and_a_forced_replay_of_a_processed_one_exactly_once(ledger: Ledger) -> None:
    lock = ledger.lock(record("dead"), attempt=5, lock_until=NOW + 30, now=NOW, archive=None)
    ledger.fail(record("dead"), RuntimeError("boom"), attempt=5, dead=True, now=NOW + 1, token=lock.token)
    assert ledger.reopen("stripe/dead", now=NOW + 2, force=False) is None
    assert (ledger.get("stripe/dead") or record()).status == "queued"

    done = ledger.lock(record("done"), attempt=1, lock_until=NOW + 30, now=NOW, archive=None)
    ledger.finish("stripe/done", "processed", token=done.token, now=NOW + 1)
    assert ledger.reopen("stripe/done", now=NOW + 2, force=False) == "processed"
    assert ledger.reopen("stripe/done", now=NOW + 3, force=True) is None
    assert ledger.reopen("stripe/done", now=NOW + 4, force=True) == "queued"  # the second replay does nothing
    assert ledger.reopen("stripe/nothing", now=NOW, force=True) == "missing"
    assert ledger.lock(record("done"), attempt=1, lock_until=NOW + 60, now=NOW + 5, archive=None).run


def test_a_time_range_lists_the_records_received_in_it_across_days_oldest_first(ledger: Ledger) -> None:
    midnight = datetime(2026, 12, 3, tzinfo=UTC).timestamp()
    for name, at in (
        ("before", midnight - 7_200),
        ("late", midnight - 60),
        ("early", midnight + 60),
        ("after", midnight + 7_200),
    ):
        ledger.claim(record(name, at), in_flight_until=at + 8, now=at)
    listed = ledger.between(
        datetime.fromtimestamp(midnight - 3_600, tz=UTC), datetime.fromtimestamp(midnight + 3_600, tz=UTC)
    )
    assert [each.event_id for each in listed] == ["late", "early"]
    everything = ledger.between(datetime.fromtimestamp(midnight, tz=UTC) - timedelta(days=1), datetime.now(UTC))
    assert [each.event_id for each in everything] == ["before", "late", "early", "after"]


def test_the_claim_is_one_round_trip_and_one_write() -> None:
    with mock_aws():
        resources = template_resources.create(boto3.session.Session(region_name="us-east-1"))
        client = boto3.client("dynamodb", region_name="us-east-1")
        calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
        ledger = DynamoDBLedger(resources.ledger_table, retention_seconds=RETENTION, client=client)
        ledger.claim(record(), in_flight_until=NOW + 8, now=NOW)
        assert calls == ["UpdateItem"]
        calls.clear()
        lock = ledger.lock(record(), attempt=1, lock_until=NOW + 30, now=NOW + 1, archive=None)
        ledger.finish("stripe/evt_1", "processed", token=lock.token, now=NOW + 2)
        assert calls == ["UpdateItem", "UpdateItem"]  # three writes in all for the event


def test_a_dynamodb_failure_is_a_ledger_error_the_receiver_answers_503() -> None:
    class Failing:
        def update_item(self, **_: Any) -> Any:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    ledger = DynamoDBLedger("t", retention_seconds=RETENTION, client=Failing())  # type: ignore[arg-type]
    with pytest.raises(LedgerError) as raised:
        ledger.claim(record(), in_flight_until=NOW + 8, now=NOW)
    assert isinstance(raised.value, ServiceUnavailableError)
    assert raised.value.status == 503


def test_a_replay_keeps_counting_attempts_and_each_step_names_its_run(ledger: Ledger) -> None:
    # The first message dies on its first receive; `webhooks dlq replay` sends a new
    # message, which SQS counts from 1 again: the ledger's runs go on from 2.
    first = ledger.lock(record(), attempt=1, lock_until=NOW + 30, now=NOW, archive=None)
    ledger.fail(record(), RuntimeError("boom"), attempt=1, dead=True, now=NOW + 1, token=first.token)
    assert ledger.reopen("stripe/evt_1", now=NOW + 2, force=False) is None
    second = ledger.lock(record(), attempt=1, lock_until=NOW + 40, now=NOW + 3, archive=None)
    ledger.fail(record(), RuntimeError("boom again"), attempt=1, dead=False, now=NOW + 4, token=second.token)
    third = ledger.lock(record(), attempt=2, lock_until=NOW + 50, now=NOW + 5, archive=None)
    ledger.finish("stripe/evt_1", "processed", token=third.token, now=NOW + 6)
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert kept.attempts == 3
    assert [(step.status, step.attempt) for step in kept.history] == [
        ("processing", 1),
        ("dead", 1),
        ("queued", 0),
        ("processing", 2),
        ("failed", 2),
        ("processing", 3),
        ("processed", 3),
    ]
    assert [
        (each.id, [step.attempt for step in each.history])
        for each in ledger.between(datetime.fromtimestamp(NOW - 1, tz=UTC), datetime.fromtimestamp(NOW + 1, tz=UTC))
    ] == [("stripe/evt_1", [1, 1, 0, 2, 2, 3, 3])]


def test_a_record_made_by_a_failure_counts_its_later_runs_on_from_what_sqs_counted(ledger: Ledger) -> None:
    ledger.fail(record(), RuntimeError("the lock was never taken"), attempt=3, dead=False, now=NOW)
    lock = ledger.lock(record(), attempt=4, lock_until=NOW + 30, now=NOW + 1, archive=None)
    ledger.finish("stripe/evt_1", "processed", token=lock.token, now=NOW + 2)
    kept = ledger.get("stripe/evt_1")
    assert kept is not None
    assert kept.attempts == 4
    assert [(step.status, step.attempt) for step in kept.history] == [
        ("failed", 3),
        ("processing", 4),
        ("processed", 4),
    ]
