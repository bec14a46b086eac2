"""Processing one SQS record: parse the envelope, find its handler, run it once.

Each record is processed on its own, under its event ledger record's once-lock: a failure is recorded there
and raised, so Powertools' BatchProcessor reports that record alone in
batchItemFailures and SQS retries only it.

Time is bounded per record, because a Lambda timeout has no partial response:
the whole batch would come back, records that already ran beside records that
never did. Each handler runs within `handler_timeout_seconds` (an alarm signal
stops it on the main thread; past it, its record fails alone), and a record is not
started when the invocation could not see it through: it is reported failed
untouched, and SQS delivers it again.
"""

from __future__ import annotations

import contextvars
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from pydantic import ValidationError

from webhook_core.archive import Archive
from webhook_core.aws import CLIENT_CONFIG
from webhook_core.bodies import UnparseableBodyError
from webhook_core.body_store import BodyStore, S3BodyStore
from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError, ConfigurationError
from webhook_core.ledger import FINISHED, DynamoDBLedger, EventBusyError, EventRecord, Ledger, Status, record_of
from webhook_core.observability import MetricUnit, logger, metrics
from webhook_core.ordering import OrderingMarks
from webhook_core.registry import Event, HandlerRegistry, Ordering, Registration, describe
from webhook_core.sources import load_sources

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from webhook_core.settings import ProcessorSettings

# What a batch keeps for itself after the last handler: recording a failure, answering.
RESERVE_SECONDS = 2.0
MIN_HANDLER_SECONDS = 0.1


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise HandlerTimeoutError in the running code after `seconds` (main thread only:
    Python delivers signals there; None: no limit)."""
    if seconds is None:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        metrics.add_metric(name="HandlerTimedOut", unit=MetricUnit.Count, value=1)
        raise HandlerTimeoutError(f"the handler ran longer than {seconds:.1f} s and was stopped")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class HandlerTimeoutError(Exception):
    """The handler ran past its bound: its record fails alone, the batch goes on."""


class RecordDeferredError(Exception):
    """Too little of the invocation is left to run this record: it is handed back untouched."""


class HandlerAbandonedError(HandlerTimeoutError):
    """The handler ran past its bound on a thread no signal reaches: left running there."""


class PoisonRecordError(Exception):
    """The message is not a valid envelope: no handler can ever take it."""


class Processor:
    def __init__(
        self,
        *,
        registry: HandlerRegistry,
        ledger: Ledger,
        ordering: Ordering,
        handler_timeout_seconds: float = 10.0,
        max_receive_count: int = 5,
        bodies: BodyStore | None = None,
        archive: Archive | None = None,
    ) -> None:
        self._registry = registry
        self._ledger = ledger
        self._ordering = ordering
        self._handler_timeout = handler_timeout_seconds
        self._max_receives = max_receive_count
        self._context: LambdaContext | None = None
        self._started_in_batch = 0
        self._bodies = bodies
        self._archive = archive
        self._archived: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: ProcessorSettings, registry: HandlerRegistry) -> Processor:
        warn_of_handlers_that_never_run(registry, settings.sources_file)
        client = boto3.client("dynamodb", config=CLIENT_CONFIG)
        bodies = S3BodyStore(settings.body_bucket)
        return cls(
            registry=registry,
            ledger=DynamoDBLedger(settings.ledger_table, retention_seconds=settings.retention_seconds, client=client),
            ordering=OrderingMarks(settings.ledger_table, ttl_seconds=settings.retention_seconds, client=client),
            handler_timeout_seconds=settings.handler_timeout_seconds,
            max_receive_count=settings.max_receive_count,
            bodies=bodies,
            archive=Archive(bodies),
        )

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    def process_batch(self, event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        """Process an SQS batch; the response names exactly the records that failed."""
        self._context, self._started_in_batch = context, 0
        self._archived = self._archive_batch(event.get("Records") or [])
        # Every record is reported on its own, even when all fail: SQS then retries
        # each and counts its receives toward the dead-letter queue the same way.
        batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(event=event, record_handler=self.process, processor=batch, context=context)

    def _archive_batch(self, records: list[dict[str, Any]]) -> dict[str, str]:
        """One archive object for the batch. A redelivered record is archived again (its
        ledger record keeps the first reference): only failures pay for that. Without the
        archive the events still run; only a later replay by id cannot find their bodies."""
        if self._archive is None or not records:
            return {}
        try:
            references = self._archive.put_batch([str(record.get("body", "")) for record in records], time.time())
        except BodyStoreError as error:
            metrics.add_metric(name="ArchiveFailed", unit=MetricUnit.Count, value=1)
            logger.warning("the batch could not be archived", extra={"reason": str(error)})
            return {}
        return {str(record.get("messageId")): reference for record, reference in zip(records, references, strict=True)}

    def process(self, record: SQSRecord) -> None:
        envelope = self._envelope(record)
        attempt = _receives(record)
        logger.append_keys(envelope_id=envelope.id, event_type=envelope.type, attempt=attempt)
        # Before any work on the record, its lock included: a record the invocation cannot
        # see through is handed back untouched.
        bound = self._time_for_record()
        entry = record_of(envelope, size=0, body_ref=envelope.body_ref.key if envelope.body_ref else None)
        now = time.time()
        lock = self._ledger.lock(
            entry,
            attempt=attempt,
            lock_until=now + self._lock_seconds(bound),
            now=now,
            archive=self._archived.get(record.message_id),
        )
        if not lock.run:
            if lock.status in FINISHED:
                # A copy (the receiver's take-over, a replayed dead letter): it already ran.
                metrics.add_metric(name="DuplicateAbsorbed", unit=MetricUnit.Count, value=1)
                # absorbed_message_id: the local stack's line for this record says so (not "processed").
                logger.info(
                    "already done; this copy is acknowledged",
                    extra={"status": lock.status, "absorbed_message_id": record.message_id},
                )
                return
            metrics.add_metric(name="EventBusy", unit=MetricUnit.Count, value=1)
            raise EventBusyError(f"{envelope.id} is being processed by another copy ({lock.status})")
        outcome = self._run_locked(envelope, entry, attempt, bound, lock.token)
        self._ledger.finish(envelope.id, outcome, token=lock.token, now=time.time())
        if outcome == "unhandled":
            return
        metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=1)
        latency_ms = max(0.0, (time.time() - envelope.received_at.timestamp()) * 1000)
        metrics.add_metric(name="EndToEndLatency", unit=MetricUnit.Milliseconds, value=latency_ms)

    def _lock_seconds(self, bound: float) -> float:
        """How long the once-lock holds: the rest of the invocation (a crashed attempt's
        lock then runs out before SQS redelivers the record)."""
        if self._context is None:
            return bound + RESERVE_SECONDS
        return max(self._context.get_remaining_time_in_millis() / 1000, bound)

    def _run_locked(self, envelope: Envelope, entry: EventRecord, attempt: int, bound: float, token: float) -> Status:
        """Read the body, find the handler and run it: the outcome to record; a failure is
        recorded in the ledger and raised."""
        try:
            # A claim-checked body is read from the body store once, here: the handler and
            # its payload model then see the exact bytes from envelope.raw_body().
            envelope.raw_body(self._bodies)
            # A delivery whose body does not parse as its kind sends it is not acknowledged
            # as unhandled: it fails, so it reaches the dead-letter queue for a human
            # (README, "What a dead letter means").
            envelope.document()
        except (BodyStoreError, ValueError, UnparseableBodyError) as error:  # ValueError: base64 that is not
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            logger.error("the body could not be read", extra={"reason": str(error)})
            self._record_failure(entry, error, attempt, token)
            raise
        registration = self._registry.find(
            envelope.type, source=envelope.source, preset=envelope.preset, kind=envelope.kind
        )
        if registration is None:
            # Acknowledged, not failed: an event nobody handles must not clog the DLQ.
            metrics.add_metric(name="UnhandledType", unit=MetricUnit.Count, value=1)
            logger.info("no handler for this event type; acknowledged")
            return "unhandled"
        bound = min(bound, max(self._remaining(), MIN_HANDLER_SECONDS))  # what the body's read left
        stale: list[Envelope] = []
        event = Event(envelope=envelope, payload=None, ordering=self._ordering, on_stale=stale.append)
        try:
            self._run_bounded(bound, event, registration)
        except HandlerAbandonedError as error:
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            logger.error("handler abandoned past its bound", extra={"error_type": type(error).__name__})
            # It may still be running on its thread: its lock holds until it runs out.
            self._record_failure(entry, error, attempt, token, keep_lock=True)
            raise
        except Exception as error:
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            logger.exception("handler failed", extra={"error_type": type(error).__name__})
            self._record_failure(entry, error, attempt, token)
            raise
        if stale:
            metrics.add_metric(name="StaleSkipped", unit=MetricUnit.Count, value=1)
            logger.info("stale event skipped: a newer one was already applied")
            return "stale"
        return "processed"

    def _time_for_record(self) -> float:
        """How long this record's handler may run; RecordDeferredError when the invocation
        cannot see a whole handler run through (the first record of a batch always gets
        what is left, so a batch always makes progress)."""
        remaining = self._remaining()
        if remaining >= self._handler_timeout:
            self._started_in_batch += 1
            return self._handler_timeout
        if self._started_in_batch == 0 and remaining > 0:
            self._started_in_batch += 1
            return remaining
        metrics.add_metric(name="RecordDeferred", unit=MetricUnit.Count, value=1)
        logger.info("too little time left in this invocation; handed back untouched", extra={"left_s": remaining})
        raise RecordDeferredError(f"{remaining:.1f} s left in the invocation, under the handler bound")

    def _remaining(self) -> float:
        """Seconds of the invocation left for a handler, after the batch's reserve."""
        if self._context is None:
            return self._handler_timeout
        return self._context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS

    def _run_bounded(self, bound: float, event: Event[Any], registration: Registration) -> None:
        """Run the handler for at most `bound` seconds.

        On Lambda the handler runs on the main thread, where an alarm signal stops it:
        the timeout is raised inside the handler and its record fails, so the redelivery
        runs it once more and nothing runs on. Elsewhere (the local stack's poller
        thread) no signal can reach it: it runs on a thread of its own, which is
        abandoned past its bound (and keeps its lock until the lock runs out)."""
        if threading.current_thread() is threading.main_thread():
            self._run(event, registration, bound)
            return
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                self._run(event, registration, None)
            except BaseException as error:  # noqa: BLE001 - handed to the batch's thread, which raises it
                outcome.append(error)
            else:
                outcome.append(None)

        # The handler's thread runs in a copy of this one's context: what the invocation set
        # there (the local runtime's invocation, its log keys) is the handler's too, as on
        # Lambda, where the handler runs on the invocation's own thread.
        worker = threading.Thread(
            target=contextvars.copy_context().run, args=(run,), name=f"handler:{event.envelope.id}"[:64], daemon=True
        )
        worker.start()
        worker.join(bound)
        if not outcome:
            metrics.add_metric(name="HandlerTimedOut", unit=MetricUnit.Count, value=1)
            raise HandlerAbandonedError(f"the handler ran longer than {bound:.1f} s and was abandoned")
        if outcome[0] is not None:
            raise outcome[0]

    @staticmethod
    def _run(event: Event[Any], registration: Registration, bound: float | None) -> None:
        parsed = Event(
            envelope=event.envelope,
            payload=registration.parse(event.envelope),
            ordering=event.ordering,
            on_stale=event.on_stale,
        )
        with _time_limit(bound):
            registration.function(parsed)

    def _envelope(self, record: SQSRecord) -> Envelope:
        try:
            return Envelope.model_validate_json(record.body)
        except ValidationError as error:
            metrics.add_metric(name="PoisonRecord", unit=MetricUnit.Count, value=1)
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])
            logger.error("not a valid envelope", extra={"message_id": record.message_id, "reason": reason})
            poison = EventRecord(
                id=f"message/{record.message_id}",
                source="",
                type="",
                status="received",
                received_at=datetime.now(UTC),
                archive=self._archived.get(record.message_id),
            )
            self._record_failure(poison, PoisonRecordError(reason), _receives(record), None)
            raise PoisonRecordError(reason) from None

    def _record_failure(
        self, entry: EventRecord, error: Exception, attempt: int, token: float | None, *, keep_lock: bool = False
    ) -> None:
        try:
            self._ledger.fail(
                entry,
                error,
                attempt=attempt,
                dead=attempt >= self._max_receives,
                now=time.time(),
                token=token,
                keep_lock=keep_lock,
            )
        except Exception:  # noqa: BLE001 - never mask the handler's own error
            logger.exception("could not record the failure in the ledger")


def warn_of_handlers_that_never_run(registry: HandlerRegistry, sources_file: Path) -> None:
    """Log a warning naming each handler registered for a name that is no configured
    source, preset or kind (a typo, a renamed source): nothing would ever reach it.
    Only a warning: the handlers that can run must still run."""
    try:
        sources = load_sources(sources_file)
    except ConfigurationError as error:
        logger.warning("cannot check the handlers against the sources", extra={"reason": str(error)})
        return
    names = {source.name for source in sources.values()}
    names |= {source.kind for source in sources.values()}
    names |= {source.preset.name for source in sources.values() if source.preset}
    for registration in registry.unmatched(names):
        handler = describe(registration.function)
        logger.warning(
            f"handler {handler} is registered for {registration.name!r}, which is no configured source, "
            "preset or kind: it never runs",
            extra={"handler": handler, "registered_for": registration.name, "event_type": registration.event_type},
        )


def _receives(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)
