"""Feeds the processor the way Lambda's SQS event source mapping does: batches
up to the batch size within the batching window, partial batch failures (only
the failed records come back, after the visibility timeout), and SQS's own
redrive to the dead-letter queue after maxReceiveCount receives."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from webhooks_cli.local.runtime import Invocation

MAX_RECEIVE = 10  # ReceiveMessage's own limit per call


class Invocable(Protocol):
    """What the poller invokes: a local function (its result and what it logged), or a
    bare handler under a test's own context (nothing logged is kept)."""

    def call(self, event: dict[str, Any]) -> tuple[Any, Invocation | None]: ...


@dataclass(frozen=True)
class RecordOutcome:
    message_id: str
    envelope_id: str
    kind: str
    event_type: str
    receive_count: int
    succeeded: bool
    # Which handler ran is found by source, preset and kind (webhook_core.registry).
    source: str = "?"
    preset: str | None = None
    # Why it failed, as the processor logged it: "<error type>: <message>".
    error: str | None = None
    # A copy of an event that already ran (a receiver's take-over, a replayed dead
    # letter): acknowledged without running its handler again.
    absorbed: bool = False


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda builds from ReceiveMessage output."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": message.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": message.get("Attributes", {}).get("SenderId", "local"),
                    "ApproximateFirstReceiveTimestamp": message.get("Attributes", {}).get(
                        "ApproximateFirstReceiveTimestamp", "0"
                    ),
                },
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class Poller:
    def __init__(
        self,
        sqs: Any,
        function: Invocable,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        batch_size: int,
        batching_window: float,
        visibility_timeout: int,
        on_record: Callable[[RecordOutcome], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        before_batch: Callable[[], None] | None = None,
        max_receives: int = 0,
        on_dead_letter: Callable[[RecordOutcome], None] | None = None,
    ) -> None:
        self.sqs = sqs
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.visibility_timeout = visibility_timeout
        self.on_record = on_record or (lambda outcome: None)
        self.on_error = on_error or (lambda message: None)
        self.before_batch = before_batch or (lambda: None)
        # The queue's maxReceiveCount (0: no redrive): a record failed that many times is
        # moved to the dead-letter queue by SQS itself, on a receive after its visibility timeout.
        self.max_receives = max_receives
        self.on_dead_letter = on_dead_letter or (lambda outcome: None)
        self._leaving: dict[str, tuple[float, RecordOutcome]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread.is_alive():  # a start that failed part way stops a poller never started
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._receive_batch()
                if messages:
                    self.process(messages)
            except (BotoCoreError, ClientError) as exc:
                if self._stop.is_set():
                    return
                self.on_error(f"polling failed: {exc}")
                self._stop.wait(1)

    def _receive_batch(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.batching_window
        while len(batch) < self.batch_size and not self._stop.is_set():
            wait = 1 if not batch else max(0, min(1, deadline - time.monotonic()))
            asked = min(MAX_RECEIVE, self.batch_size - len(batch))
            receiving_since = time.monotonic()
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=asked,
                WaitTimeSeconds=round(wait),
                VisibilityTimeout=self.visibility_timeout,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch.extend(received)
            if len(received) < asked:  # the queue's visible messages were all seen
                self._report_moved(receiving_since, {message["MessageId"] for message in received})
            if batch and (not received or time.monotonic() >= deadline):
                break
        return batch

    def process(self, messages: list[dict[str, Any]]) -> list[RecordOutcome]:
        """One invocation: delete what succeeded; failures reappear after the visibility timeout."""
        self.before_batch()
        invocation: Invocation | None = None
        try:
            response, invocation = self.function.call(lambda_sqs_event(messages, self.queue_arn, self.region))
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        except Exception as exc:  # noqa: BLE001 - a function error retries the whole batch, as on AWS
            self.on_error(f"processor invocation failed: {type(exc).__name__}: {exc}")
            failed = {message["MessageId"] for message in messages}
        errors = _errors_by_envelope(invocation)
        absorbed = _absorbed_messages(invocation)
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(succeeded), MAX_RECEIVE):
            chunk = succeeded[start : start + MAX_RECEIVE]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        outcomes = [
            self._outcome(message, message["MessageId"] not in failed, errors, message["MessageId"] in absorbed)
            for message in messages
        ]
        for outcome in outcomes:
            self.on_record(outcome)
            if not outcome.succeeded and self.max_receives and outcome.receive_count >= self.max_receives:
                visible_again = time.monotonic() + self.visibility_timeout
                self._leaving[outcome.message_id] = (visible_again, outcome)
        return outcomes

    def _report_moved(self, receiving_since: float, received: set[str]) -> None:
        """A record failed maxReceiveCount times that a receive made after its visibility
        timeout did not return: SQS moved it to the dead-letter queue on that receive."""
        for message_id, (visible_again, outcome) in list(self._leaving.items()):
            if receiving_since >= visible_again and message_id not in received:
                del self._leaving[message_id]
                self.on_dead_letter(outcome)

    @staticmethod
    def _outcome(
        message: dict[str, Any], succeeded: bool, errors: dict[str, str], absorbed: bool = False
    ) -> RecordOutcome:
        preset: str | None = None
        try:
            envelope = json.loads(message["Body"])
            envelope_id, source, kind, event_type = (
                str(envelope.get(key, "?")) for key in ("id", "source", "kind", "type")
            )
            preset = str(envelope["preset"]) if envelope.get("preset") else None
        except (ValueError, AttributeError):
            envelope_id, source, kind, event_type = f"message/{message['MessageId']}", "?", "?", "not an envelope"
        count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        return RecordOutcome(
            message["MessageId"],
            envelope_id,
            kind,
            event_type,
            count,
            succeeded,
            source=source,
            preset=preset,
            error=None if succeeded else errors.get(envelope_id) or errors.get(message["MessageId"]),
            absorbed=absorbed,
        )


def _absorbed_messages(invocation: Invocation | None) -> set[str]:
    """The records the processor acknowledged as copies of events already done."""
    return {
        str(line.fields["absorbed_message_id"])
        for line in (invocation.logged if invocation else [])
        if line.fields.get("absorbed_message_id")
    }


def _errors_by_envelope(invocation: Invocation | None) -> dict[str, str]:
    """What each failed record failed on, from the processor's error lines (keyed by the
    envelope id it had appended, or the message id of a record that is no envelope)."""
    errors: dict[str, str] = {}
    for line in invocation.logged if invocation else []:
        if line.level < logging.ERROR:
            continue
        # message_id is a line's own field (a record that is no envelope), while envelope_id
        # stays appended from the record before it.
        key = line.fields.get("message_id") or line.fields.get("envelope_id")
        if not isinstance(key, str):
            continue
        if line.error is not None:
            said = f"{type(line.error).__name__}: {line.error}"
        else:
            cause = line.fields.get("error_type") or line.fields.get("reason")
            said = f"{line.message}: {cause}" if cause else line.message
        errors.setdefault(key, said)  # the first error logged for a record is its cause
    return errors
