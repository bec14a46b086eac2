"""The versioned envelope every accepted delivery becomes on the queue."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from webhook_core.bodies import BodyFormat, parse_body
from webhook_core.errors import BodyStoreError

if TYPE_CHECKING:
    from webhook_core.body_store import BodyStore

# SQS accepts only XML's characters. JSON escapes the control characters and strict
# UTF-8 decoding admits no surrogates, which leaves U+FFFE and U+FFFF: a body with
# either travels base64. (A regex over the allowed ranges costs ~6 ms to compile.)
_NOT_SQS_SAFE = ("\ufffe", "\uffff")


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secret_index: int = Field(ge=0, description="Which of the source's active secrets matched (0 = newest).")


class BodyRef(BaseModel):
    """Where a claim-checked body waits, and what it must be when read back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, description="The body store's key: bodies/<sha256>.")
    size: int = Field(ge=0, description="The body's length in bytes.")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="The body's SHA-256, hex.")

    @classmethod
    def of(cls, raw: bytes) -> BodyRef:
        digest = hashlib.sha256(raw).hexdigest()
        # Content-addressed: a retry after a failed enqueue rewrites the same object
        # instead of leaving another, no provider-chosen id is spelled into a key, and
        # the key itself names the bytes the processor checks it reads.
        return cls(key=f"bodies/{digest}", size=len(raw), sha256=digest)

    def check(self, raw: bytes) -> bytes:
        if len(raw) != self.size or hashlib.sha256(raw).hexdigest() != self.sha256:
            raise BodyStoreError(f"the body read from {self.key} is not the one referenced ({len(raw)} bytes)")
        return raw


class Envelope(BaseModel):
    """One verified delivery. `id` is `<source>/<provider event id>`: stable across
    the provider's retries, so the processor can run each event once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    id: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    # The preset the source was made from, if any: handlers may be registered for it.
    # Optional, so envelopes queued before it existed (or replayed from the DLQ) stay valid.
    preset: str | None = None
    type: str = Field(min_length=1)
    received_at: datetime
    occurred_at: datetime | None = None
    resource_id: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: str
    body_encoding: Literal["text", "base64"] = "text"
    # How the body parses: the kind's format (JSON, or form parameters for Twilio and
    # other form senders), never the request's Content-Type.
    body_format: BodyFormat = "json"
    # Set when the body was too large for a queue message: it waits in the body store
    # (S3) and `body` is empty. raw_body() reads it from there once.
    body_ref: BodyRef | None = None
    verification: Verification

    _claimed_body: bytes | None = PrivateAttr(default=None)

    @staticmethod
    def encode_body(raw: bytes) -> tuple[str, Literal["text", "base64"]]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii"), "base64"
        if any(character in text for character in _NOT_SQS_SAFE):
            return base64.b64encode(raw).decode("ascii"), "base64"
        return text, "text"

    def to_message(self, max_bytes: int) -> str:
        """The SQS message body. JSON escaping can grow a text body up to six
        times, so one that would not fit travels base64-encoded instead."""
        message = self.model_dump_json()
        if len(message.encode()) > max_bytes and self.body_encoding == "text":
            raw = self.raw_body()
            message = self.model_copy(
                update={"body": base64.b64encode(raw).decode("ascii"), "body_encoding": "base64"}
            ).model_dump_json()
        return message

    def by_reference(self, reference: BodyRef) -> Envelope:
        """This envelope with its body by reference (the claim-check): the body must be
        in the body store under `reference.key` before the copy is sent."""
        raw = self.raw_body()
        checked = self.model_copy(update={"body": "", "body_encoding": "text", "body_ref": reference})
        checked._claimed_body = raw
        return checked

    def raw_body(self, bodies: BodyStore | None = None) -> bytes:
        """The exact bytes the provider sent: decoded from the message, or for a
        claim-checked body read from `bodies` (checked against its size and SHA-256)
        the first time and kept, so later calls need no store. The one decoder of an
        envelope's body: the processor and the DLQ tools both read bodies here."""
        if self.body_ref is None:
            if self.body_encoding == "base64":
                # Strict: the receiver writes canonical base64; anything else is not a body
                # to guess at (binascii.Error, a ValueError).
                return base64.b64decode(self.body, validate=True)
            return self.body.encode("utf-8")
        if self._claimed_body is None:
            if bodies is None:
                raise BodyStoreError(f"{self.id}: the body is in the body store and no store was given to read it")
            self._claimed_body = self.body_ref.check(bodies.get(self.body_ref.key))
        return self._claimed_body

    def document(self) -> Any:
        """The body parsed as its kind sends it: decoded JSON, or a form's parameters
        as a dict of each one's first value. Raises bodies.UnparseableBodyError (and
        BodyStoreError when a claim-checked body was not read first: see raw_body)."""
        return parse_body(self.raw_body(), self.body_format)
