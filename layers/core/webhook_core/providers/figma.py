"""Figma webhooks (V2): no header credential and no signature. Each delivery is a JSON
object whose top-level `passcode` is the passcode set when the webhook was made
(https://developers.figma.com/docs/rest-api/webhooks-security); it is compared in
constant time with every active secret of the source.

The passcode is the secret itself, so it must never be stored: `without_passcode`
is the spec's `redact`, which the receiver applies to every body it keeps (the queued
envelope, the body store, the ledger's digest, a kept rejected request). What is kept,
and what handlers get, is the body as Figma sent it, byte for byte, with the top-level
`passcode` member cut out: values, key order, escapes and number spellings untouched
(no JSON round trip can change a float or a large integer), and a retry of the same
event keeps the same bytes, so its digest dedupes it.

Verifying and cutting read the body with one scanner (`_members`), which finds every
top-level member by its decoded name: a body with two `passcode` members (JSON parsers
disagree on which one counts) or a name written with escapes (`"pass\\u0063ode"`) cannot
make the receiver check one value and keep another. Two are refused, and all are cut.

A wrong passcode is answered 401 like any other kind's failed signature, not the 400
Figma's page asks for: a 400 stops the webhook at once, so a passcode rotated at Figma
before the source's secrets would switch the webhook off; a 401 is retried (Figma
retries a non-200 answer 3 times) and the request is kept for `webhooks rejected`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, matching_secret
from webhook_core.providers.spec import HandshakeReply, ProviderSpec, Reply

DOCS = "https://developers.figma.com/docs/rest-api/webhooks-security"
PASSCODE = "passcode"  # the name of the body's member that holds the credential
# Figma's passcodes are at most 100 characters; bounding what is compared bounds the work.
MAX_PASSCODE = 4096
# Figma's events have about a dozen top-level members; scanning each is Python work, so an
# unsigned body of a million of them would cost seconds of CPU (an outside attack's finding).
MAX_MEMBERS = 1000
# The debug event Figma sends when a webhook is made (webhooks-events: PING).
PING = "PING"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Member:
    """One top-level member of a JSON object: its decoded name and where its text is."""

    name: str
    start: int  # the opening quote of its name
    value_start: int
    end: int  # just past its value


def _members(text: str) -> list[Member] | None:
    """Every top-level member of `text` in order, or None when `text` is not exactly one
    JSON object (as `json.loads` reads it: the same string and value grammar)."""
    try:
        return _scan(text)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None


def _skip(text: str, position: int) -> int:
    return _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]


def _expect(text: str, position: int, character: str) -> int:
    if text[position : position + 1] != character:
        raise ValueError(f"expected {character!r} at {position}")
    return position + 1


def _scan(text: str) -> list[Member]:
    position = _skip(text, _expect(text, _skip(text, 0), "{"))
    members: list[Member] = []
    if text[position : position + 1] == "}":
        position += 1
    else:
        while True:
            start = position
            _expect(text, position, '"')  # a name is a string, decoded as a value is
            name, position = _DECODER.raw_decode(text, position)
            value_start = _skip(text, _expect(text, _skip(text, position), ":"))
            _, position = _DECODER.raw_decode(text, value_start)
            members.append(Member(name, start, value_start, position))
            if len(members) > MAX_MEMBERS:
                raise ValueError("more members than any Figma event has")
            position = _skip(text, position)
            if text[position : position + 1] != ",":
                position = _expect(text, position, "}")
                break
            position = _skip(text, position + 1)
    if _skip(text, position) != len(text):
        raise ValueError("more after the object")
    return members


def _read(body: bytes) -> tuple[str, list[Member]] | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    members = _members(text)
    return None if members is None else (text, members)


def without_passcode(body: bytes) -> bytes:
    """The body to keep: `body` with every top-level `passcode` member cut out, the rest
    byte for byte. A body that is not one JSON object cannot be told apart from a passcode
    it might hold, so nothing of it is kept (b"")."""
    read = _read(body)
    if read is None:
        return b""
    text, members = read
    if not any(member.name == PASSCODE for member in members):
        return body
    kept = [text[: members[0].start]]
    first = True
    for position, member in enumerate(members):
        if member.name == PASSCODE:
            continue
        if not first:  # the separator that stood before this member (", " or ",\n  ")
            kept.append(text[members[position - 1].end : member.start])
        kept.append(text[member.start : member.end])
        first = False
    kept.append(text[members[-1].end :])
    return "".join(kept).encode("utf-8")


@dataclass(frozen=True, slots=True)
class PasscodeScheme(TextSecretsUntimed):
    """The passcode in the JSON body, compared with each secret as text."""

    # Where the credential is, for the tools that describe a scheme: in the body.
    signature_header: str = ""
    tolerance_seconds: int = 0
    timestamp_header: str | None = None
    id_header: str | None = None
    encoding: str = "token"

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        read = _read(body)
        if read is None:  # not a JSON object: no passcode to be found (as Mailgun's kind says)
            raise SignatureError("missing_signature")
        text, members = read
        found = [member for member in members if member.name == PASSCODE]
        if not found:
            raise SignatureError("missing_signature")
        if len(found) > 1:
            raise SignatureError("malformed_signature")
        member = found[0]
        value = json.loads(text[member.value_start : member.end])
        if not isinstance(value, str):
            raise SignatureError("malformed_signature")
        if not value:
            raise SignatureError("missing_signature")
        presented = value.encode("utf-8", "surrogatepass")[:MAX_PASSCODE]
        matched_index = matching_secret(presented, keys)
        return Verified(secret_index=matched_index, body_format="json")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """What Figma puts in the body: the passcode itself."""
        return secret

    def sign_body(self, body: bytes, secret: str) -> bytes:
        """`body` (a JSON object) with the passcode Figma would put in it, where the body
        has one (Figma's examples list it among the other fields), else last."""
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("a Figma body is a JSON object")
        document[PASSCODE] = secret
        return json.dumps(document).encode()


def ping(document: Any, headers: Mapping[str, str], key: bytes) -> HandshakeReply | None:
    """Figma's PING, sent when a webhook is made: verified like any delivery (so a wrong
    passcode shows at once in Figma's request log as a 401), answered 200 and never queued,
    as Discord's PING: it says nothing about a file."""
    if isinstance(document, dict) and document.get("event_type") == PING:
        return HandshakeReply(None, status=200)
    return None


def spec() -> ProviderSpec:
    return ProviderSpec(
        kind="figma",
        docs=DOCS,
        scheme=PasscodeScheme(),
        fields=EventFields(
            # Figma sends no delivery id (webhooks-events): deliveries dedupe on the digest of
            # the kept body, which a retry repeats (its `timestamp` is the event's, not the try's).
            type_path="event_type",
            occurred_at_path="timestamp",
            occurred_at_format="iso8601",
            resource_id_path="file_key",
            kept_headers=("content-type", "user-agent"),
        ),
        handshake=ping,
        # Figma treats any status but 200 as a failure and retries it (its OpenAPI callbacks).
        reply=Reply(status=200, empty=False),
        redact=without_passcode,
    )
