"""Processing one SQS record: parse the envelope, find its handler, run it once.

Each record is processed on its own: a failure is recorded (for the DLQ tools)
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

import hashlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from pydantic import ValidationError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.bodies import UnparseableBodyError
from webhook_core.body_store import BodyStore, S3BodyStore
from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError, ConfigurationError
from webhook_core.observability import MetricUnit, logger, metrics
from webhook_core.registry import Event, HandlerRegistry, Registration, describe
from webhook_core.sources import load_sources
from webhook_core.state import ProcessorState

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

    from webhook_core.settings import ProcessorSettings

PROCESSED_KEY_PREFIX = "processed"
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


class PoisonRecordError(Exception):
    """The message is not a valid envelope: no handler can ever take it."""


def processed_record_key(envelope_id: str) -> str:
    """The key of an envelope's idempotency record, as Powertools computes it
    (so `webhooks dlq replay --force` can clear it)."""
    data = json.dumps({"envelope_id": envelope_id}, sort_keys=True)
    return f"{PROCESSED_KEY_PREFIX}#{hashlib.sha256(data.encode()).hexdigest()}"


class Processor:
    def __init__(
        self,
        *,
        registry: HandlerRegistry,
        state: ProcessorState,
        table_name: str,
        ttl_seconds: int,
        handler_timeout_seconds: float = 10.0,
        client: DynamoDBClient | None = None,
        bodies: BodyStore | None = None,
    ) -> None:
        self._registry = registry
        self._state = state
        self._handler_timeout = handler_timeout_seconds
        self._context: LambdaContext | None = None
        self._started_in_batch = 0
        self._bodies = bodies
        self._config = IdempotencyConfig(
            raise_on_no_idempotency_key=True, expires_after_seconds=ttl_seconds, hash_function="sha256"
        )
        self._run_once = idempotent_function(
            self._run,
            data_keyword_argument="key",
            persistence_store=DynamoDBPersistenceLayer(
                table_name=table_name, boto3_client=client or boto3.client("dynamodb", config=CLIENT_CONFIG)
            ),
            config=self._config,
            key_prefix=PROCESSED_KEY_PREFIX,
        )

    @classmethod
    def from_settings(cls, settings: ProcessorSettings, registry: HandlerRegistry) -> Processor:
        warn_of_handlers_that_never_run(registry, settings.sources_file)
        client = boto3.client("dynamodb", config=CLIENT_CONFIG)
        return cls(
            registry=registry,
            state=ProcessorState(settings.state_table, ttl_seconds=settings.state_ttl_seconds, client=client),
            table_name=settings.state_table,
            ttl_seconds=settings.state_ttl_seconds,
            handler_timeout_seconds=settings.handler_timeout_seconds,
            client=client,
            bodies=S3BodyStore(settings.body_bucket),
        )

    @property
    def state(self) -> ProcessorState:
        return self._state

    def bind(self, context: LambdaContext | None) -> None:
        """Tie the in-progress expiry to this invocation's remaining time, so a
        crashed attempt's record expires and the retry runs the handler."""
        self._config.register_lambda_context(context)  # type: ignore[arg-type]

    def process_batch(self, event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        """Process an SQS batch; the response names exactly the records that failed."""
        self.bind(context)
        self._context, self._started_in_batch = context, 0
        # Every record is reported on its own, even when all fail: SQS then retries
        # each and counts its receives toward the dead-letter queue the same way.
        batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(event=event, record_handler=self.process, processor=batch, context=context)

    def process(self, record: SQSRecord) -> None:
        envelope = self._envelope(record)
        attempt = _receives(record)
        logger.append_keys(envelope_id=envelope.id, event_type=envelope.type, attempt=attempt)
        # Before any work on the record, a claim-checked body's read included: a record the
        # invocation cannot see through is handed back untouched.
        bound = self._time_for_record()
        try:
            # A claim-checked body is read from the body store once, here: the handler and
            # its payload model then see the exact bytes from envelope.raw_body().
            envelope.raw_body(self._bodies)
        except (BodyStoreError, ValueError) as error:  # ValueError: base64 that is not
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            logger.error("the body could not be read", extra={"reason": str(error)})
            self._record_failure(envelope.id, error, attempt)
            raise
        try:
            _check_body(envelope)
        except UnparseableBodyError as error:
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            logger.error("verified body does not parse", extra={"reason": str(error)})
            self._record_failure(envelope.id, error, attempt)
            raise
        registration = self._registry.find(
            envelope.type, source=envelope.source, preset=envelope.preset, kind=envelope.kind
        )
        if registration is None:
            # Acknowledged, not failed: an event nobody handles must not clog the DLQ.
            metrics.add_metric(name="UnhandledType", unit=MetricUnit.Count, value=1)
            logger.info("no handler for this event type; acknowledged")
            return
        bound = min(bound, max(self._remaining(), MIN_HANDLER_SECONDS))  # what the body's read left
        try:
            self._run_bounded(bound, envelope, registration)
        except Exception as error:
            metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
            logger.exception("handler failed", extra={"error_type": type(error).__name__})
            self._record_failure(envelope.id, error, attempt)
            raise
        if attempt > 1:
            self._forget_failure(envelope.id)
        metrics.add_metric(name="Processed", unit=MetricUnit.Count, value=1)
        latency_ms = max(0.0, (time.time() - envelope.received_at.timestamp()) * 1000)
        metrics.add_metric(name="EndToEndLatency", unit=MetricUnit.Milliseconds, value=latency_ms)

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

    def _run_bounded(self, bound: float, envelope: Envelope, registration: Registration) -> None:
        """Run the handler under its once-lock for at most `bound` seconds.

        On Lambda the handler runs on the main thread, where an alarm signal stops it:
        the timeout is raised inside the handler, its once-lock is released and its
        record fails, so the redelivery runs it once more and nothing runs on. Elsewhere
        (the local stack's poller thread) no signal can reach it: it runs on a thread of
        its own, which is abandoned past its bound."""
        if threading.current_thread() is threading.main_thread():
            self._run_once(key={"envelope_id": envelope.id}, envelope=envelope, registration=registration, bound=bound)
            return
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                self._run_once(
                    key={"envelope_id": envelope.id}, envelope=envelope, registration=registration, bound=None
                )
            except BaseException as error:  # noqa: BLE001 - handed to the batch's thread, which raises it
                outcome.append(error)
            else:
                outcome.append(None)

        worker = threading.Thread(target=run, name=f"handler:{envelope.id}"[:64], daemon=True)
        worker.start()
        worker.join(bound)
        if not outcome:
            metrics.add_metric(name="HandlerTimedOut", unit=MetricUnit.Count, value=1)
            raise HandlerTimeoutError(f"the handler ran longer than {bound:.1f} s and was abandoned")
        if outcome[0] is not None:
            raise outcome[0]

    def _run(
        self, *, key: dict[str, str], envelope: Envelope, registration: Registration, bound: float | None
    ) -> dict[str, Any]:
        event = Event(
            envelope=envelope,
            payload=registration.parse(envelope),
            ordering=self._state,
            on_stale=_count_stale,
        )
        with _time_limit(bound):
            registration.function(event)
        return {"envelope_id": envelope.id}

    def _envelope(self, record: SQSRecord) -> Envelope:
        try:
            return Envelope.model_validate_json(record.body)
        except ValidationError as error:
            metrics.add_metric(name="PoisonRecord", unit=MetricUnit.Count, value=1)
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])
            logger.error("not a valid envelope", extra={"message_id": record.message_id, "reason": reason})
            try:
                self._state.record_failure(f"message/{record.message_id}", PoisonRecordError(reason), _receives(record))
            except Exception:  # noqa: BLE001 - the record fails either way; this only loses the note
                logger.exception("could not record the failure")
            raise PoisonRecordError(reason) from None

    def _record_failure(self, envelope_id: str, error: Exception, attempt: int) -> None:
        try:
            self._state.record_failure(envelope_id, error, attempt)
        except Exception:  # noqa: BLE001 - never mask the handler's own error
            logger.exception("could not record the failure")

    def _forget_failure(self, envelope_id: str) -> None:
        try:
            self._state.clear_failure(envelope_id)
        except Exception:  # noqa: BLE001 - a stale note is harmless
            logger.warning("could not clear the failure record")


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


def _check_body(envelope: Envelope) -> None:
    """A delivery whose body does not parse as its kind sends it is not acknowledged
    as unhandled: it fails, so it reaches the dead-letter queue for a human (README, "What a dead letter means").
    Raises UnparseableBodyError."""
    envelope.document()


def _receives(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or 1)


def _count_stale(envelope: Envelope) -> None:
    metrics.add_metric(name="StaleSkipped", unit=MetricUnit.Count, value=1)
    logger.info("stale event skipped: a newer one was already applied")
