"""How a delivery's body is read: the one decoder the receiver (for an event's
facts), the processor (for handlers) and the tools share.

The format is the kind's (or what its signature proved), never the request's
unsigned Content-Type, which anyone replaying a captured request can change."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qsl

# raw: a sender whose bodies are neither (plain text, XML): handlers get the bytes.
BodyFormat = Literal["json", "form", "raw"]
# A form post with more fields than this is not a provider's (Twilio sends a few dozen).
MAX_FORM_FIELDS = 1000


class UnparseableBodyError(ValueError):
    """The body is not what its kind sends (not JSON, not a form, nested too deep)."""


def parse_body(body: bytes, body_format: BodyFormat) -> Any:
    """JSON as decoded, a form post as a dict of each field's first value, or the bytes
    as they are; raises UnparseableBodyError."""
    if body_format == "raw":
        return body
    if body_format == "form":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except (UnicodeDecodeError, ValueError) as exc:
            raise UnparseableBodyError(f"the body is not a form post: {exc}") from None
        document: dict[str, str] = {}
        for name, value in pairs:
            document.setdefault(name, value)
        return document
    try:
        return json.loads(body)
    except RecursionError:
        raise UnparseableBodyError("the body is not JSON: nested too deep to parse") from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise UnparseableBodyError(f"the body is not JSON: {exc}") from None


def parse_body_or_none(body: bytes, body_format: BodyFormat) -> Any:
    try:
        return parse_body(body, body_format)
    except UnparseableBodyError:
        return None
