"""The versioned envelope every accepted delivery becomes on the queue."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from webhook_core.bodies import BodyFormat, parse_body

# SQS accepts only XML's characters. JSON escapes the control characters and strict
# UTF-8 decoding admits no surrogates, which leaves U+FFFE and U+FFFF: a body with
# either travels base64. (A regex over the allowed ranges costs ~6 ms to compile.)
_NOT_SQS_SAFE = ("\ufffe", "\uffff")


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secret_index: int = Field(ge=0, description="Which of the source's active secrets matched (0 = newest).")


class Envelope(BaseModel):
    """One verified delivery. `id` is `<source>/<provider event id>`: stable across
    the provider's retries, so the processor can run each event once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    id: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    kind: str = Field(min_length=1)
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
    verification: Verification

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

    def raw_body(self) -> bytes:
        if self.body_encoding == "base64":
            return base64.b64decode(self.body)
        return self.body.encode("utf-8")

    def document(self) -> Any:
        """The body parsed as its kind sends it: decoded JSON, or a form's parameters
        as a dict of each one's first value. Raises bodies.UnparseableBodyError."""
        return parse_body(self.raw_body(), self.body_format)
