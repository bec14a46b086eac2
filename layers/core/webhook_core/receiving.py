"""Accepting one delivery: verify on the raw bytes, claim it in the event ledger, enqueue.

No AWS code here: secrets, ledger and queue are injected adapters.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from webhook_core.aws import HOT_PATH_CLIENT_CONFIG
from webhook_core.bodies import parse_body_or_none
from webhook_core.body_store import S3BodyStore
from webhook_core.captured import CapturedSecrets, CapturedSecretStore
from webhook_core.envelope import Envelope, Verification
from webhook_core.errors import (
    ForbiddenSourceError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    SignatureError,
    SourceUnavailableError,
    UnknownSourceError,
)
from webhook_core.ledger import DynamoDBLedger, Ledger, Outcome, record_of
from webhook_core.observability import MetricUnit, count_once, logger, metrics
from webhook_core.providers.scheme import Scheme
from webhook_core.providers.spec import HandshakeReply, SetupCapture
from webhook_core.queue import EnvelopeQueue, Queue
from webhook_core.rejected import (
    DEFAULT_MAX_BODY_BYTES,
    AwsRejectedRequests,
    RejectedRequest,
    RejectedRequestStore,
    new_id,
)
from webhook_core.secrets import SecretStore, SourceSecrets
from webhook_core.settings import ReceiverSettings
from webhook_core.sources import Source, load_sources

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True, slots=True)
class Delivery:
    """A request as received: lower-case header names and the exact body bytes."""

    source: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    source_ip: str | None = None


# How long a claim holds when the receiver runs outside Lambda (no invocation deadline).
DEFAULT_IN_FLIGHT_SECONDS = 10.0
# How long a captured secret read from the table is used before it is read again: an
# operator's reset reaches warm functions within this.
CAPTURED_CACHE_SECONDS = 60


@lru_cache(maxsize=64)
def _keys(scheme: Scheme, secrets: tuple[str, ...]) -> tuple[bytes | None, ...]:
    return scheme.derive_keys(secrets)


class Receiver:
    def __init__(
        self,
        *,
        sources: Mapping[str, Source],
        secrets: SecretStore,
        ledger: Ledger,
        queue: Queue,
        max_body_bytes: int,
        retry_after_seconds: int = 10,
        clock: Callable[[], float] | None = None,
        captured: CapturedSecretStore | None = None,
        rejected: RejectedRequestStore | None = None,
        rejected_max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._sources = sources
        self._secrets = secrets
        self._ledger = ledger
        self._context: LambdaContext | None = None
        self._queue = queue
        self._max_body_bytes = max_body_bytes
        self.retry_after_seconds = retry_after_seconds
        self._clock = clock
        self._captured = captured
        self._captured_cache: dict[str, tuple[float, str]] = {}
        self._rejected = rejected
        self._rejected_max_body_bytes = rejected_max_body_bytes

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    def bind(self, context: LambdaContext | None) -> None:
        """A claim holds while this invocation may still be sending (its remaining time):
        a copy arriving meanwhile is answered 409; after it, a retry takes the claim over."""
        self._context = context

    @property
    def queue(self) -> Queue:
        return self._queue

    def source(self, name: str, source_ip: str | None = None) -> Source:
        source = self._sources.get(name)
        if source is None:
            raise UnknownSourceError(f"unknown source {name[:64]!r}")
        if not source.admits(source_ip):
            raise ForbiddenSourceError(f"source {source.name!r} does not accept {str(source_ip)[:64]!r}")
        return source

    def check_size(self, size: int) -> None:
        if size > self._max_body_bytes:
            raise PayloadTooLargeError(f"body of {size} bytes exceeds {self._max_body_bytes}")

    def accept(self, delivery: Delivery) -> Outcome | HandshakeReply:
        """Verify, then enqueue once. Raises a WebhookError for every refusal."""
        source = self.source(delivery.source, delivery.source_ip)
        self.check_size(len(delivery.body))
        # Looked up per call, not bound at import: the conformance suite replays vectors at their own time.
        now = self._clock() if self._clock else time.time()

        spec = source.spec
        if spec.unsigned_check is not None:
            ping = spec.unsigned_check(delivery.body, delivery.headers)
            if ping is not None:
                return ping
        if spec.setup_capture is not None:
            handed_over = spec.setup_capture.find(delivery.body, delivery.headers)
            if handed_over is not None:
                return self._capture(source, spec.setup_capture, handed_over)
        keys = _keys(spec.scheme, self._source_secrets(source, now))
        if not any(keys):
            raise SourceUnavailableError(f"no secret of source {source.name!r} is usable for its kind")
        try:
            verified = source.spec.scheme.verify(delivery.headers, delivery.body, keys, now, delivery.query)
        except SignatureError as error:
            self._keep_rejected(source, delivery, error, now)
            raise
        # From here on only what the kind lets be kept is read or stored: a kind whose
        # credential is inside the body (Figma's passcode) has it cut out here, before the
        # envelope, the body store, the ledger's digest or a handshake ever see the body.
        body = spec.kept_body(delivery.body)
        # Parsed as the kind sends it (or as its signature proved), never as the request's
        # unsigned Content-Type says: a replay cannot make a JSON body a form.
        body_format = verified.body_format or source.spec.fields.body_format
        if source.spec.handshake is not None:
            key = keys[verified.secret_index]
            reply = source.spec.handshake(parse_body_or_none(body, body_format), delivery.headers, key) if key else None
            if reply is not None:
                return reply

        facts = source.spec.fields.extract(delivery.headers, body, body_format)
        if facts.id_missing:
            # Verified, so kept (keyed on its content); but the provider always sends an id there.
            metrics.add_metric(name="EventIdMissing", unit=MetricUnit.Count, value=1)
            logger.warning("verified delivery without the event id its kind sends; keyed on its content")
        content_digest = verified.content_digest or hashlib.sha256(body).hexdigest()
        policy = source.spec.dedupe
        event_id = uuid.uuid4().hex if policy == "none" else facts.event_id
        # The envelope id keys the event's ledger record, which is its dedupe key. With the
        # digest policy the id sits where the signature does not reach, so a captured request
        # replayed under a fresh id must still be found: the record is keyed on what the
        # signature binds (the provider's own retry carries the same content), and the
        # provider's id stays in event_id.
        ledger_key = f"sha256-{content_digest}" if policy == "digest" else event_id
        encoded, encoding = Envelope.encode_body(body)
        envelope = Envelope(
            id=f"{source.name}/{ledger_key}",
            event_id=event_id,
            source=source.name,
            kind=source.kind,
            preset=source.preset.name if source.preset else None,
            type=facts.type,
            received_at=datetime.fromtimestamp(now, tz=UTC),
            occurred_at=facts.occurred_at,
            resource_id=facts.resource_id,
            headers=source.spec.fields.kept(delivery.headers),
            body=encoded,
            body_encoding=encoding,
            body_format=body_format,
            verification=Verification(secret_index=verified.secret_index),
        )
        _count_secret_use(source.name, verified.secret_index)
        logger.append_keys(envelope_id=envelope.id, event_type=envelope.type, secret_index=verified.secret_index)
        # The claim's window is the invocation's deadline, read now: the time spent reading
        # secrets and verifying since `now` must not come off it.
        claimed_at = self._clock() if self._clock else time.time()
        outcome, claim = self._ledger.claim(
            record_of(envelope, size=len(body)),
            in_flight_until=self._in_flight_until(claimed_at),
            now=claimed_at,
        )
        if claim is None:
            return outcome
        try:
            self._queue.send(envelope)
        except Exception:
            self._release(envelope.id, claim)
            raise
        return outcome

    def _keep_rejected(self, source: Source, delivery: Delivery, error: SignatureError, now: float) -> None:
        """Keep the refused request for the operator (`webhooks rejected`), within its
        source's cap. Whatever goes wrong here, the answer stays the 401. A key sent in the
        query string is not kept: a refused one may still be the provider's real key (the
        source's secret was set wrong), and the kept object is read by every operator tool."""
        if self._rejected is None:
            return
        # A refused credential inside the body may still be a secret (an old passcode after a
        # rotation): only what the kind lets be kept is. Kept as nothing, it shows as cut.
        body = source.spec.kept_body(delivery.body)
        body_size = len(body) if body else len(delivery.body)
        request = RejectedRequest(
            id=new_id(delivery.source, now),
            source=delivery.source,
            received_at=now,
            reason=error.reason,
            skew_seconds=error.skew_seconds,
            headers=dict(delivery.headers),
            query=source.spec.kept_query(delivery.query),
            body=body[: self._rejected_max_body_bytes],
            body_size=body_size,
            source_ip=delivery.source_ip,
        )
        try:
            kept = self._rejected.keep(request)
        except Exception as exc:  # noqa: BLE001 - keeping serves the operator; the sender's answer is the 401
            metrics.add_metric(name="RejectedNotKept", unit=MetricUnit.Count, value=1)
            logger.warning("rejected request not kept", extra={"error": type(exc).__name__, "detail": str(exc)[:200]})
            return
        if kept:
            logger.append_keys(rejected_id=request.id)

    def _in_flight_until(self, now: float) -> float:
        if self._context is None:
            return now + DEFAULT_IN_FLIGHT_SECONDS
        return now + max(self._context.get_remaining_time_in_millis(), 1_000) / 1000

    def _release(self, envelope_id: str, claim: float) -> None:
        try:
            self._ledger.release(envelope_id, claim)
        except Exception:  # noqa: BLE001 - the send's own error is the answer; the claim then runs out
            logger.exception("could not release the claim; a retry takes it over when it runs out")

    def check(
        self,
        source_name: str,
        method: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        source_ip: str | None = None,
    ) -> HandshakeReply:
        """Answer an endpoint check on GET (Meta, Dropbox, Okta, X), HEAD (Trello) or
        OPTIONS (CloudEvents); `headers` with lower-case names."""
        source = self.source(source_name, source_ip)
        check = source.spec.check_for(method)
        if check is None:
            raise MethodNotAllowedError(f"source {source.name!r} has no {method} endpoint check")
        now = self._clock() if self._clock else time.time()
        if check.authenticated:  # Okta sends the hook's Authorization header with its check
            keys = _keys(source.spec.scheme, self._source_secrets(source, now))
            source.spec.scheme.verify(headers, b"", keys, now, query)
        if check.token:
            tokens = self._secrets.for_source(f"{source.name}/{check.token}")
        elif check.keyed:
            tokens = self._source_secrets(source, now)
        else:
            tokens = ()
        return check.answer(query, headers, tokens)

    def _source_secrets(self, source: Source, now: float) -> tuple[str, ...]:
        """The source's configured secrets; for a source that verifies with the secret its
        provider handed over (Asana), that one while none is configured."""
        capture = source.spec.setup_capture
        if capture is None or not capture.verifies:
            return self._secrets.for_source(source.name)
        try:
            return self._secrets.for_source(source.name)
        except SourceUnavailableError:
            kept = self._captured_secret(source.name, now)
            if kept is None:
                raise
            return (kept,)

    def _captured_secret(self, name: str, now: float) -> str | None:
        cached = self._captured_cache.get(name)
        if cached is not None and now - cached[0] < CAPTURED_CACHE_SECONDS:
            return cached[1]
        kept = self._captured.get(name) if self._captured is not None else None
        if kept is not None:
            self._captured_cache[name] = (now, kept)
        return kept

    def _capture(self, source: Source, capture: SetupCapture, secret: str) -> HandshakeReply:
        """Keep the secret a provider hands over at setup, unsigned: only while the source has
        none configured, and only the first one (a conditional write), so whoever posts
        first cannot be replaced and nobody can post one once the source is set up."""
        try:
            self._secrets.for_source(source.name)
        except SourceUnavailableError:
            pass
        else:
            raise SignatureError("setup_secret_after_setup")
        if self._captured is None or not self._captured.keep(source.name, secret):
            raise SignatureError("setup_secret_already_kept")
        self._captured_cache.pop(source.name, None)
        metrics.add_metric(name="SetupSecretCaptured", unit=MetricUnit.Count, value=1)
        logger.warning("setup secret captured; see `webhooks secrets captured`", extra={"source": source.name})
        return capture.reply(secret)


def _count_secret_use(source: str, secret_index: int) -> None:
    """One count per (source, secret index): when index 1 stops counting for a
    source, nothing uses its old secret any more and it can be removed."""
    count_once("VerifiedWithSecret", source=source, secret_index=str(secret_index))


def create_receiver(settings: ReceiverSettings) -> Receiver:
    """Wire a receiver with default AWS clients (one set per cold start)."""
    return Receiver(
        sources=load_sources(settings.sources_file),
        secrets=SourceSecrets(settings.secret_id, max_age_seconds=settings.secrets_cache_seconds),
        # Unvalidated parameters on the two per-delivery clients: see HOT_PATH_CLIENT_CONFIG.
        ledger=DynamoDBLedger(
            settings.ledger_table, retention_seconds=settings.retention_seconds, client_config=HOT_PATH_CLIENT_CONFIG
        ),
        queue=EnvelopeQueue(
            settings.queue_url, bodies=S3BodyStore(settings.body_bucket), client_config=HOT_PATH_CLIENT_CONFIG
        ),
        max_body_bytes=settings.max_body_bytes,
        retry_after_seconds=settings.retry_after_seconds,
        captured=CapturedSecrets(settings.ledger_table),
        rejected=AwsRejectedRequests(
            settings.ledger_table, settings.body_bucket, per_minute=settings.rejected_per_minute
        ),
        rejected_max_body_bytes=settings.rejected_max_body_bytes,
    )
