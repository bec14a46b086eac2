"""The signature debugger's logic (README, "The signature debugger"): the requests the
receiver kept when it answered 401 for their signature, why each fails (diagnosed here
and now against the current secrets, never on the receiver's hot path), and accepting
one once its cause is fixed. `webhooks rejected …` and the inspector both use it."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from webhook_core.body_store import S3BodyStore
from webhook_core.captured import CapturedSecrets
from webhook_core.diagnosis import diagnose
from webhook_core.errors import DeliveryInProgressError, SignatureError, SourceUnavailableError, WebhookError
from webhook_core.ledger import DynamoDBLedger
from webhook_core.providers.spec import HandshakeReply
from webhook_core.queue import EnvelopeQueue
from webhook_core.receiving import Delivery, Receiver
from webhook_core.rejected import AwsRejectedRequests, RejectedRequest
from webhook_core.secrets import SourceSecrets
from webhook_core.settings import MAX_BODY_LIMIT
from webhook_core.sources import Source, load_sources
from webhooks_cli.errors import CliError

if TYPE_CHECKING:
    from webhooks_cli.project import Project
    from webhooks_cli.targets import Target

METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"
# How long a listing keeps a kept request it read before reading it again (to see a mark
# another operator's replay made).
REREAD_SECONDS = 30.0
# Headers whose value is (or carries) a signature or credential: shown cut to this many characters.
SIGNATURE_HEADER = re.compile(r"sig|hmac|auth|token|secret|x-hub|verif|key", re.IGNORECASE)
SHOWN_SIGNATURE_CHARS = 10


def skew_text(request: RejectedRequest) -> str:
    return "" if request.skew_seconds is None else f"{request.skew_seconds:+.0f}s"


def header_value(name: str, value: str) -> str:
    """A header as shown to the operator: a signature or credential cut short."""
    if SIGNATURE_HEADER.search(name) and len(value) > SHOWN_SIGNATURE_CHARS:
        return f"{value[:SHOWN_SIGNATURE_CHARS]}… ({len(value)} characters)"
    return value


def body_text(request: RejectedRequest) -> str:
    """The kept body, pretty if it is JSON, else as text."""
    try:
        return json.dumps(json.loads(request.body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON (or cut): as text
        return request.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Explained:
    """Why a kept request fails now (or that it verifies now, and `replay` accepts it)."""

    text: str
    verifies: bool


@dataclass(frozen=True)
class Accepted:
    """What a replay of a kept request did."""

    request_id: str
    outcome: Literal["accepted", "duplicate", "handshake"]
    envelope_id: str | None = None

    def sentence(self) -> str:
        if self.outcome == "handshake":
            return f"{self.request_id}: a provider handshake, answered; nothing queued"
        if self.outcome == "duplicate":
            return f"{self.request_id}: duplicate of {self.envelope_id}, already accepted; nothing queued"
        return f"{self.request_id}: accepted as {self.envelope_id} and queued"


class Rejections:
    """The kept rejected requests of one stack."""

    def __init__(self, target: Target, project: Project) -> None:
        self.target = target
        self.project = project
        resources = target.resources
        self.store = AwsRejectedRequests(
            resources.ledger_table,
            resources.body_bucket,
            dynamodb=target.client("dynamodb"),
            s3_factory=lambda: target.client("s3"),
        )
        self._read: dict[str, tuple[float, RejectedRequest | None]] = {}

    def newest(self, *, source: str | None = None, since: datetime | None = None, limit: int) -> list[RejectedRequest]:
        """The newest `limit` kept requests, oldest first. Each is read once and then kept
        for REREAD_SECONDS (a page refreshing every few seconds lists them again and again;
        only a replay's mark changes a kept request)."""
        now = time.monotonic()
        chosen = self.store.ids(source=source, since=since)[-limit:]
        for request_id in chosen:
            read = self._read.get(request_id)
            if read is None or now - read[0] > REREAD_SECONDS:
                self._read[request_id] = (now, self.store.get(request_id))
        for request_id in [key for key in self._read if key not in chosen]:
            del self._read[request_id]
        return [request for request in (self._read[key][1] for key in chosen) if request is not None]

    def get(self, request_id: str) -> RejectedRequest:
        request = self.store.get(request_id)
        if request is None:
            raise CliError(
                f"no rejected request {request_id!r} is kept (they expire); `webhooks rejected list` shows them"
            )
        return request

    def source_of(self, request: RejectedRequest) -> Source:
        sources = load_sources(self.project.sources_file)
        if request.source not in sources:
            raise CliError(f"source {request.source!r} is no longer in {self.project.sources_file.name}")
        return sources[request.source]

    def _secrets(self) -> SourceSecrets:
        return SourceSecrets(
            self.target.resources.secret_id, max_age_seconds=0, client=self.target.client("secretsmanager")
        )

    def explain(self, request: RejectedRequest) -> Explained:
        """Verify it again now, at its receive time, with the current secrets."""
        source = self.source_of(request)
        try:
            secrets = self._secrets().for_source(source.name)
        except SourceUnavailableError:
            return Explained("the source has no secret now: `webhooks secrets set` one", verifies=False)
        diagnosis = diagnose(source, secrets, request)
        return Explained(diagnosis.explanation(), verifies=diagnosis.verifies)

    def replay(self, request_id: str) -> Accepted:
        """Verify a kept request again at its original receive time with the source's
        current secrets; if it verifies now, accept it once through the normal path
        (ledger claim and queue: replaying it again is a duplicate). CliError says why not."""
        request = self.get(request_id)
        if request.accepted_as:
            return Accepted(request.id, "duplicate", request.accepted_as)
        source = self.source_of(request)
        if request.body_cut:
            raise CliError(
                f"{request.id}: only {len(request.body):,} of its {request.body_size:,} bytes were kept; "
                "it cannot be verified again (the provider's own retry or resend is the way)"
            )
        target, resources = self.target, self.target.resources
        dynamodb = target.client("dynamodb")
        retention_days = int(self.project.parameter_default("RetentionDays"))
        receiver = Receiver(
            sources={source.name: source},
            secrets=self._secrets(),
            ledger=DynamoDBLedger(resources.ledger_table, retention_seconds=retention_days * 86_400, client=dynamodb),
            queue=EnvelopeQueue(
                resources.queue_url,
                client=target.client("sqs"),
                bodies=S3BodyStore(resources.body_bucket, client_factory=lambda: target.client("s3")),
            ),
            max_body_bytes=MAX_BODY_LIMIT,
            # Verified as of when it arrived: a timestamp that was in tolerance then still is,
            # one that was not still is not.
            clock=lambda: request.received_at,
            captured=CapturedSecrets(resources.ledger_table, client=dynamodb),
        )
        delivery = Delivery(
            source=request.source,
            headers=request.headers,
            body=request.body,
            query=request.query,
            source_ip=request.source_ip,  # the source's allowed_ips, checked as when it arrived
        )
        try:
            with _without_metrics():
                outcome = receiver.accept(delivery)
        except SignatureError:
            raise CliError(f"{request.id} still does not verify: {self.explain(request).text}") from None
        except DeliveryInProgressError:
            raise CliError(f"{request.id}: its event is still being accepted; run this again shortly") from None
        except WebhookError as exc:
            raise CliError(f"{request.id} was not accepted: {exc.detail}") from None
        if isinstance(outcome, HandshakeReply):
            return Accepted(request.id, "handshake")
        # Marked, so the lists say it is done; the event is in the ledger whatever this write does.
        self.store.mark_accepted(request, outcome.envelope_id)
        self._read.pop(request.id, None)
        return Accepted(request.id, "duplicate" if outcome.duplicate else "accepted", outcome.envelope_id)


@contextmanager
def _without_metrics() -> Iterator[None]:
    """The receiver's code runs here in a tool: it publishes no CloudWatch metrics, so
    their blobs never reach the command's output (restored after, for whoever runs next).
    The environment is process-wide: the inspector serves one request at a time through here."""
    previous = os.environ.get(METRICS_DISABLED)
    os.environ[METRICS_DISABLED] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(METRICS_DISABLED, None)
        else:
            os.environ[METRICS_DISABLED] = previous
