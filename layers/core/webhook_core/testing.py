"""In-memory stand-ins for the receiver's stores, with the same contract as the AWS
adapters: for unit tests of the receiving logic (here and in users' own tests)
without moto or a network."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from webhook_core.certificates import CertificateFetcher, CertificateUnavailableError, install
from webhook_core.dedupe import Outcome
from webhook_core.envelope import Envelope
from webhook_core.errors import BodyStoreError, DeliveryInProgressError, QueueError, SourceUnavailableError
from webhook_core.queue import MAX_MESSAGE_BYTES
from webhook_core.text import sqs_safe

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass
class InMemoryDedupe:
    """Keys of accepted deliveries: completed ones answer duplicate, in-flight ones 409,
    and a failed enqueue releases its key, as the DynamoDB adapter does."""

    completed: dict[tuple[str, str], str] = field(default_factory=dict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    def bind(self, context: LambdaContext | None) -> None:
        return None

    def once(self, source: str, key: str, envelope_id: str, enqueue: Callable[[], object]) -> Outcome:
        record = (source, key)
        if record in self.completed:
            return Outcome(envelope_id=self.completed[record], duplicate=True)
        if record in self.in_flight:
            raise DeliveryInProgressError(f"{envelope_id} is still in progress")
        self.in_flight.add(record)
        try:
            enqueue()
        finally:
            self.in_flight.discard(record)
        self.completed[record] = envelope_id
        return Outcome(envelope_id=envelope_id, duplicate=False)


@dataclass
class InMemoryQueue:
    """Envelopes sent, checked as SQS would check them: a message it would refuse
    (too large in bytes, a character it cannot carry) is a QueueError here too."""

    envelopes: list[Envelope] = field(default_factory=list)
    max_bytes: int = MAX_MESSAGE_BYTES

    def send(self, envelope: Envelope) -> str:
        message = envelope.to_message(self.max_bytes - 4_096)
        attributes = (envelope.source, envelope.type)
        if len(message.encode("utf-8", "surrogatepass")) > self.max_bytes:
            raise QueueError("message too large")
        if not all(sqs_safe(text) for text in (message, *attributes)):
            raise QueueError("InvalidMessageContents")
        self.envelopes.append(Envelope.model_validate(json.loads(message)))
        return f"message-{len(self.envelopes)}"


@dataclass
class StaticSecrets:
    """Each source's secrets, newest first, as the Secrets Manager document holds them."""

    document: Mapping[str, Sequence[str]]

    def for_source(self, source: str) -> tuple[str, ...]:
        secrets = tuple(self.document.get(source, ()))
        if not secrets:
            raise SourceUnavailableError(f"no secret is configured for source {source!r}")
        return secrets


@dataclass
class InMemoryBodyStore:
    """Claim-checked bodies by key, as the S3 adapter keeps them; `fail_puts` makes the
    next that many puts fail, as S3 would."""

    objects: dict[str, bytes] = field(default_factory=dict)
    puts: int = 0
    gets: int = 0
    fail_puts: int = 0

    def put(self, key: str, body: bytes) -> None:
        self.puts += 1
        if self.fail_puts:
            self.fail_puts -= 1
            raise BodyStoreError("put_object failed: InternalError")
        self.objects[key] = bytes(body)

    def get(self, key: str) -> bytes:
        self.gets += 1
        if key not in self.objects:
            raise BodyStoreError(f"get_object of {key} failed: NoSuchKey")
        return self.objects[key]


@dataclass
class InMemoryCapturedSecrets:
    """Secrets captured at a subscription's setup, first write wins, as the DynamoDB adapter keeps them."""

    secrets: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def keep(self, source: str, secret: str) -> bool:
        if source in self.secrets:
            return False
        self.secrets[source] = secret
        return True

    def get(self, source: str) -> str | None:
        self.reads += 1
        return self.secrets.get(source)


@dataclass
class FakeCertificates:
    """Serves documents by URL in place of the network, for the certificate fetcher
    (SNS's and PayPal's signing certificates, SNS's SubscribeURL): `install()` makes
    the process's fetcher use it. Every URL asked for is recorded in `fetched`."""

    documents: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        self.fetched.append(url)
        if url not in self.documents:
            raise CertificateUnavailableError(f"no document at {url}")
        return self.documents[url][: max_bytes + 1]

    def install(self) -> CertificateFetcher:
        fetcher = CertificateFetcher(self)
        install(fetcher)
        return fetcher
