"""A kind: its signature scheme, where its events keep their facts, and the
handshakes its provider expects (if any)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import Scheme

# How the receiver tells a provider's retry from a new event (README, "Dedupe"):
# id: the provider's event id, which the signature covers;
# digest: the digest of what the signature binds, because the id sits where the signature
#   does not reach (a header) and a captured request could be replayed under a fresh one;
# none: every delivery is new (ping-style providers whose bodies repeat by design).
DedupePolicy = Literal["id", "digest", "none"]
JSON = "application/json"
# What a credential's value is kept as where the request is kept (rejected requests).
REDACTED = "[redacted]"
TEXT = "text/plain"


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """The provider's endpoint check, answered as it requires and never queued:
    JSON (Slack, Zoom), the challenge as plain text (Twitch, Meta, Dropbox) or an
    empty 204 (Discord's webhook-events PING); with the response headers a check
    answers in (CloudEvents' WebHook-Allowed-Origin, Asana's X-Hook-Secret)."""

    body: dict[str, Any] | str | None
    status: int = 200
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """How a source answers every verified delivery, where its provider demands it
    (Xero: 200 and no body; Okta, Discord: 204): instead of 202 or 200 with JSON."""

    status: int
    empty: bool = True
    # Refusals (401 and every other error) with no body either: Xero's requirements list
    # "no body in the response" for every answer, the 401 of its Intent to receive too.
    empty_refusals: bool = False


# A POST handshake: given the verified body (parsed JSON, or None), the request's
# headers and the key that verified it, the reply when this delivery is the check, else None.
Handshake = Callable[[Any, Mapping[str, str], bytes], HandshakeReply | None]
# A check on another method (GET, HEAD, OPTIONS): given the query string, the request's
# headers (lower-case names) and the check's tokens (Meta's verify token; X's consumer
# secret), the reply, or a WebhookError when the check is not genuine.
GetHandshake = Callable[[Mapping[str, str], Mapping[str, str], tuple[str, ...]], HandshakeReply]
# A request the provider sends unsigned while a subscription is made (WooCommerce's ping):
# given the raw body and the headers, its reply when the request is exactly that, else None.
UnsignedCheck = Callable[[bytes, Mapping[str, str]], HandshakeReply | None]
# The part of a raw body that may be kept, for a kind whose credential travels inside the
# body (Figma's passcode): given the body as received, the same body without the credential,
# or b"" when the credential cannot be told apart from the rest. The receiver keeps only
# this (queued envelope, body store, dedupe digest, kept rejected request), so the secret
# is never stored or shown; a body-signing kind has none (its signature is no secret).
Redact = Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class GetCheck:
    answer: GetHandshake
    # The entry of the secrets document, `<source>/<token>`, that holds the tokens to match; None if none.
    token: str | None = None
    # The source's own credential must be on the check too (Okta sends its Authorization header).
    authenticated: bool = False
    # The check answers with the source's own secrets (X's CRC: an HMAC keyed with the consumer secret).
    keyed: bool = False


@dataclass(frozen=True, slots=True)
class SetupCapture:
    """A secret the provider hands over, unsigned, when a subscription is made, which the
    receiver keeps (first write wins) for the operator (Notion's verification_token) or to
    verify later deliveries with (Asana's X-Hook-Secret)."""

    # Given the raw body and the headers: the secret this request hands over, or None.
    find: Callable[[bytes, Mapping[str, str]], str | None]
    # Given the kept secret: the reply the provider expects.
    reply: Callable[[str], HandshakeReply]
    # Whether the kept secret verifies the source's deliveries while none is configured.
    verifies: bool = False


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    kind: str
    scheme: Scheme
    fields: EventFields
    docs: str = ""
    handshake: Handshake | None = None
    get_check: GetCheck | None = None
    head_check: GetCheck | None = None
    options_check: GetCheck | None = None
    unsigned_check: UnsignedCheck | None = None
    setup_capture: SetupCapture | None = None
    reply: Reply | None = None
    dedupe: DedupePolicy = "digest"
    redact: Redact | None = None

    def kept_body(self, body: bytes) -> bytes:
        """What of `body` may be stored: all of it, unless the kind's credential is inside it."""
        return body if self.redact is None else self.redact(body)

    # Query-string parameters that carry the credential (query_token's key): never kept
    # with a rejected request, where the operator's tools would show it.
    secret_query_parameters: tuple[str, ...] = ()

    def kept_query(self, query: Mapping[str, str]) -> dict[str, str]:
        """The query string as it may be kept: a credential parameter's value replaced by
        REDACTED, so the operator still sees that one was sent."""
        # Spelled otherwise (KEY, key[], "key "), the key is refused but is still the key: any
        # name that is a credential parameter's once case and punctuation are set aside is hidden.
        secret = {_plain_name(name) for name in self.secret_query_parameters}
        return {name: REDACTED if _plain_name(name) in secret else value for name, value in query.items()}

    def check_for(self, method: str) -> GetCheck | None:
        """The endpoint check this source answers on `method` (GET, HEAD, OPTIONS), if any."""
        return {"GET": self.get_check, "HEAD": self.head_check, "OPTIONS": self.options_check}.get(method)

    @property
    def signs_event_id(self) -> bool:
        """Whether the event id is covered by the signature: in the signed body, or a
        header the signed content includes, or the one part of the body a scheme signs
        (Mailgun's token)."""
        if self.fields.id_path is not None and self.fields.id_path == self.scheme.signed_id_path:
            return True
        if not self.scheme.binds_body:
            return False
        if self.fields.id_header:
            return self.fields.id_header == self.scheme.id_header
        return self.fields.id_path is not None


def _plain_name(name: str) -> str:
    return "".join(character for character in name.lower() if character.isalnum())
