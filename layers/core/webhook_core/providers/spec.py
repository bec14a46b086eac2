"""A kind: its signature scheme, where its events keep their facts, and the
handshakes its provider expects (if any)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
TEXT = "text/plain"


@dataclass(frozen=True, slots=True)
class HandshakeReply:
    """The provider's endpoint check, answered as it requires and never queued:
    JSON (Slack, Zoom), the challenge as plain text (Twitch, Meta, Dropbox) or an
    empty 204 (Discord's webhook-events PING)."""

    body: dict[str, Any] | str | None
    status: int = 200
    content_type: str = JSON


# A POST handshake: given the verified body (parsed JSON, or None), the request's
# headers and the key that verified it, the reply when this delivery is the check, else None.
Handshake = Callable[[Any, Mapping[str, str], bytes], HandshakeReply | None]
# A GET handshake: given the query string and the source's handshake tokens (Meta's
# verify token), the reply, or a WebhookError when the check is not genuine.
GetHandshake = Callable[[Mapping[str, str], tuple[str, ...]], HandshakeReply]


@dataclass(frozen=True, slots=True)
class GetCheck:
    answer: GetHandshake
    # The entry of the secrets document, `<source>/<token>`, that holds the tokens to match; None if none.
    token: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    kind: str
    scheme: Scheme
    fields: EventFields
    docs: str = ""
    handshake: Handshake | None = None
    get_check: GetCheck | None = None
    dedupe: DedupePolicy = "digest"

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
