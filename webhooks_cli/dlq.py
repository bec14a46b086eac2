"""Dead letters: list, show, replay and purge them without losing one.

Reading a queue means receiving its messages, which hides them for a while; every
command here hands back (visibility 0) what it does not delete, so the DLQ looks
untouched afterwards. Replay sends first and deletes second: an interruption
leaves at worst a second copy on the main queue, which the processor's
once-lock (the event ledger) absorbs. Each dead letter is shown with its ledger record:
its status, attempts and last error.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from webhook_core.body_store import BodyStore
from webhook_core.envelope import BodyRef, Envelope
from webhook_core.errors import BodyStoreError
from webhook_core.ledger import FINISHED, DynamoDBLedger, EventRecord, Transition
from webhooks_cli.errors import CliError
from webhooks_cli.replaying import (
    ALREADY_PROCESSED,
    Outcome,
    Pace,
    ProgressCallback,
    ReplayReport,
    refresh_claim_checked_body,
)

BATCH = 10
HOLD_SECONDS = 300  # how long a scan keeps messages to itself; released at the end


@dataclass
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, Any]
    envelope: dict[str, Any] | None
    # The event's ledger record: its status, attempts and last error.
    record: EventRecord | None = None
    # Where a claim-checked body is read from (the stack's body bucket).
    bodies: BodyStore | None = None

    @property
    def envelope_id(self) -> str:
        return str(self.envelope.get("id")) if self.envelope else f"message/{self.message_id}"

    @property
    def source(self) -> str:
        return str(self.envelope.get("source", "")) if self.envelope else ""

    @property
    def type(self) -> str:
        return str(self.envelope.get("type", "")) if self.envelope else "(not an envelope)"

    @property
    def receive_count(self) -> int:
        """The attempts that ended in the DLQ, as the ledger numbered them: SQS's own count
        on a dead letter also counts each listing's receive, and the record's attempts go
        on counting once the event is replayed."""
        dead = self._dead_step
        if dead is not None and dead.attempt:
            return dead.attempt
        if self.record is not None and self.record.attempts:
            return self.record.attempts
        return int(self.attributes.get("ApproximateReceiveCount", "0"))

    @property
    def failed_at(self) -> datetime | None:
        """When it was dead-lettered (not when its record last changed: a replay moves that)."""
        dead = self._dead_step
        if dead is not None:
            return dead.at
        return self.record.updated_at if self.record is not None else None

    @property
    def _dead_step(self) -> Transition | None:
        history = self.record.history if self.record is not None else ()
        return next((step for step in reversed(history) if step.status == "dead"), None)

    @property
    def sent_at(self) -> datetime:
        return datetime.fromtimestamp(int(self.attributes.get("SentTimestamp", "0")) / 1000, tz=UTC)

    @property
    def last_error(self) -> str:
        if self.record is None or not self.record.last_error:
            return ""
        return f"{self.record.error_type}: {self.record.last_error}"

    @cached_property
    def parsed(self) -> Envelope | None:
        """The letter as an envelope; None when it is not a valid one."""
        if not self.envelope:
            return None
        try:
            return Envelope.model_validate(self.envelope)
        except ValidationError:
            return None

    @property
    def body_ref(self) -> BodyRef | None:
        """Where a claim-checked body waits in the body store; None for an inline body."""
        return self.parsed.body_ref if self.parsed is not None else None

    def raw_body(self) -> bytes:
        """The delivery's exact bytes, decoded as the processor decodes them (a
        claim-checked body read from the body store); a message that is not a valid
        envelope, as it is."""
        envelope = self.parsed
        if envelope is None:
            # Not a valid envelope; where its body is there, the same decoder reads it.
            body = self.envelope.get("body") if self.envelope else None
            if not isinstance(body, str):
                return self.body.encode()
            encoding = "base64" if self.envelope and self.envelope.get("body_encoding") == "base64" else "text"
            envelope = Envelope.model_construct(body=body, body_encoding=encoding, body_ref=None)
        try:
            return envelope.raw_body(self.bodies)
        except ValueError:  # base64 that is not: shown as the text it is
            return envelope.body.encode()

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "id": self.envelope_id,
            "source": self.source,
            "type": self.type,
            "receive_count": self.receive_count,
            "last_error": self.last_error,
            "status": self.record.view() if self.record else None,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
            "sent_at": self.sent_at.isoformat(),
            "age_seconds": int((now - self.sent_at).total_seconds()),
        }


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command acts on; empty means all."""

    ids: tuple[str, ...] = ()
    source: str | None = None
    type: str | None = None
    since: datetime | None = None
    grep: str | None = None

    @property
    def everything(self) -> bool:
        return not (self.ids or self.source or self.type or self.since or self.grep)

    def matches(self, letter: DeadLetter) -> bool:
        if self.ids and letter.message_id not in self.ids and letter.envelope_id not in self.ids:
            return False
        if self.source and letter.source != self.source:
            return False
        if self.type and letter.type != self.type:
            return False
        if self.since and letter.sent_at < self.since:
            return False
        return not self.grep or self.grep in _searchable_body(letter)


def _searchable_body(letter: DeadLetter) -> str:
    try:
        return letter.raw_body().decode("utf-8", "replace")
    except BodyStoreError:  # a claim-checked body that is gone contains nothing
        return ""


def parse_since(text: str, now: datetime | None = None, *, option: str = "--since") -> datetime:
    """`30m`, `2h`, `7d` ago, or an ISO 8601 time (a time without a zone is UTC)."""
    now = now or datetime.now(tz=UTC)
    found = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if found:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[found.group(2)]
        return now - timedelta(**{unit: int(found.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option} takes 30m, 2h, 7d or an ISO time, not {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class DeadLetterQueue:
    def __init__(
        self,
        sqs: Any,
        dynamodb: Any,
        *,
        dead_letter_queue_url: str,
        queue_url: str,
        ledger_table: str,
        bodies: BodyStore | None = None,
    ) -> None:
        self.sqs = sqs
        self._reopened: set[str] = set()  # the events a replay reopened (each once)
        self.bodies = bodies
        self.dynamodb = dynamodb
        self.dead_letter_queue_url = dead_letter_queue_url
        self.queue_url = queue_url
        # Reads and replays only: retention is what a record the processor makes keeps.
        self.ledger = DynamoDBLedger(ledger_table, retention_seconds=86_400, client=dynamodb)

    # --- reading --------------------------------------------------------------

    def scan(self, with_failures: bool = True) -> list[DeadLetter]:
        """Every dead letter, held invisible until release() (or HOLD_SECONDS)."""
        letters: dict[str, DeadLetter] = {}
        empty_receives = 0
        while empty_receives < 2:
            messages = self.sqs.receive_message(
                QueueUrl=self.dead_letter_queue_url,
                MaxNumberOfMessages=BATCH,
                VisibilityTimeout=HOLD_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [message for message in messages if message["MessageId"] not in letters]
            empty_receives = 0 if fresh else empty_receives + 1
            for message in messages:
                letters[message["MessageId"]] = _letter(message, self.bodies)
        if with_failures:
            for letter in letters.values():
                letter.record = self.ledger.get(letter.envelope_id)
        return sorted(letters.values(), key=lambda letter: letter.sent_at)

    def release(self, letters: Iterable[DeadLetter]) -> None:
        pending = list(letters)
        for start in range(0, len(pending), BATCH):
            chunk = pending[start : start + BATCH]
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.dead_letter_queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                    for i, letter in enumerate(chunk)
                ],
            )

    def select(self, selection: Selection) -> list[DeadLetter]:
        letters = self.scan()
        self.release(letters)
        return [letter for letter in letters if selection.matches(letter)]

    def already_processed(self, envelope_id: str) -> bool:
        record = self.ledger.get(envelope_id)
        return record is not None and record.status in FINISHED

    # --- acting -----------------------------------------------------------------

    def replay(
        self,
        selection: Selection,
        *,
        rate: float,
        force: bool = False,
        dry_run: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> ReplayReport:
        """Send the selected dead letters back to the main queue, then delete them
        from the DLQ. Already-processed envelopes are skipped unless `force`, which
        reopens their ledger record first so the handler runs again, once."""
        report = ReplayReport(on_progress=on_progress)
        self._reopened = set()
        letters = self.scan()
        deleted: set[str] = set()
        pace = Pace(rate)
        try:
            for letter in (letter for letter in letters if selection.matches(letter)):
                if self._replay_one(letter, force=force, dry_run=dry_run, pace=pace, report=report) == "sent":
                    deleted.add(letter.message_id)
        finally:
            # Whatever happened, hand back everything not moved: nothing stays hidden.
            self.release(letter for letter in letters if letter.message_id not in deleted)
        return report

    def _replay_one(
        self, letter: DeadLetter, *, force: bool, dry_run: bool, pace: Pace, report: ReplayReport
    ) -> Outcome:
        if letter.envelope and not force and self.already_processed(letter.envelope_id):
            return report.add(letter.envelope_id, "skipped", ALREADY_PROCESSED)
        if dry_run:
            return report.add(letter.envelope_id, "would send")
        envelope = letter.parsed
        if envelope is not None:
            try:
                refresh_claim_checked_body(envelope, self.bodies)
            except BodyStoreError as exc:
                return report.add(letter.envelope_id, "failed", exc.detail)
        pace.wait()
        try:
            # Once per event: a second letter of the same event is a copy the processor's
            # lock absorbs, not a second run (reopening again would run the handler again
            # if the first copy was processed meanwhile).
            if force and letter.envelope and letter.envelope_id not in self._reopened:
                self.ledger.reopen(letter.envelope_id, now=time.time(), force=True)
                self._reopened.add(letter.envelope_id)
            self.sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=letter.body, MessageAttributes=letter.message_attributes
            )
        except Exception as exc:
            report.add(letter.envelope_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self.sqs.delete_message(QueueUrl=self.dead_letter_queue_url, ReceiptHandle=letter.receipt_handle)
        return report.add(letter.envelope_id, "sent")

    def purge(self, selection: Selection, *, dry_run: bool = False) -> list[DeadLetter]:
        letters = self.scan(with_failures=False)
        chosen = [letter for letter in letters if selection.matches(letter)]
        try:
            if not dry_run:
                for start in range(0, len(chosen), BATCH):
                    chunk = chosen[start : start + BATCH]
                    self.sqs.delete_message_batch(
                        QueueUrl=self.dead_letter_queue_url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(chunk)],
                    )
        finally:
            chosen_ids = set() if dry_run else {letter.message_id for letter in chosen}
            self.release(letter for letter in letters if letter.message_id not in chosen_ids)
        return chosen


def _letter(message: dict[str, Any], bodies: BodyStore | None = None) -> DeadLetter:
    try:
        envelope = json.loads(message["Body"])
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or "id" not in envelope:
        envelope = None
    attributes = {
        name: {key: value for key, value in item.items() if key in {"DataType", "StringValue", "BinaryValue"}}
        for name, item in message.get("MessageAttributes", {}).items()
    }
    return DeadLetter(
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        body=message["Body"],
        attributes=message.get("Attributes", {}),
        message_attributes=attributes,
        envelope=envelope,
        bodies=bodies,
    )
