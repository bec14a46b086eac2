"""Providers' endpoint checks, by name, so a source or preset can pick one.

POST checks arrive signed and are verified before they are answered; GET checks
carry no signature, so they answer only what the provider's protocol makes safe:
Meta's challenge only with the right verify token, Dropbox's echo only as inert
plain text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from webhook_core.errors import BadRequestError, SignatureError
from webhook_core.providers.spec import TEXT, GetCheck, Handshake, HandshakeReply
from webhook_core.text import sent_bytes

# A challenge is an opaque token; anything else is not echoed back.
_CHALLENGE = re.compile(r"[A-Za-z0-9._~+/=-]{1,256}")


def slack_url_verification(document: Any, headers: Mapping[str, str], key: bytes) -> HandshakeReply | None:
    if isinstance(document, dict) and document.get("type") == "url_verification":
        return HandshakeReply({"challenge": str(document.get("challenge", ""))})
    return None


def zoom_url_validation(document: Any, headers: Mapping[str, str], key: bytes) -> HandshakeReply | None:
    if not isinstance(document, dict) or document.get("event") != "endpoint.url_validation":
        return None
    payload = document.get("payload")
    plain = payload.get("plainToken") if isinstance(payload, dict) else None
    if not isinstance(plain, str):
        return None
    encrypted = hmac.new(key, sent_bytes(plain), hashlib.sha256).hexdigest()
    return HandshakeReply({"plainToken": plain, "encryptedToken": encrypted})


def discord_ping(document: Any, headers: Mapping[str, str], key: bytes) -> HandshakeReply | None:
    """Webhook events: PING is `type 0`, acknowledged with an empty 204. Interactions:
    PING is `type 1` without an event, answered with PONG (`{"type": 1}`)."""
    if not isinstance(document, dict):
        return None
    if document.get("type") == 0:
        return HandshakeReply(None, status=204)
    if document.get("type") == 1 and "event" not in document:
        return HandshakeReply({"type": 1})
    return None


def twitch_challenge(document: Any, headers: Mapping[str, str], key: bytes) -> HandshakeReply | None:
    if headers.get("twitch-eventsub-message-type") != "webhook_callback_verification":
        return None
    challenge = document.get("challenge") if isinstance(document, dict) else None
    if not isinstance(challenge, str) or not _CHALLENGE.fullmatch(challenge):
        raise BadRequestError("the verification challenge is missing or not a token")
    return HandshakeReply(challenge, content_type=TEXT)


def meta_subscribe(query: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
    """`hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: the challenge, only for our token."""
    mode, token, challenge = (query.get(f"hub.{name}") for name in ("mode", "verify_token", "challenge"))
    if mode != "subscribe" or token is None or challenge is None or not _CHALLENGE.fullmatch(challenge):
        raise BadRequestError("not a subscription check: hub.mode, hub.verify_token and hub.challenge are needed")
    matched = False
    for expected in tokens:  # every token compared, in constant time
        matched |= hmac.compare_digest(sent_bytes(token), sent_bytes(expected))
    if not matched:
        raise SignatureError("verify_token_mismatch")
    return HandshakeReply(challenge, content_type=TEXT)


def echo_challenge(query: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
    """Dropbox (and Nylas): `?challenge=…` echoed as plain text, so it cannot act as a page."""
    challenge = query.get("challenge")
    if challenge is None or not _CHALLENGE.fullmatch(challenge):
        raise BadRequestError("not a verification request: the challenge parameter is missing or not a token")
    return HandshakeReply(challenge, content_type=TEXT)


HANDSHAKES: dict[str, Handshake] = {
    "slack": slack_url_verification,
    "zoom": zoom_url_validation,
    "discord": discord_ping,
    "twitch": twitch_challenge,
}
GET_CHECKS: dict[str, GetCheck] = {
    "meta": GetCheck(meta_subscribe, token="verify_token"),  # noqa: S106 - the name of an entry, not a value
    "challenge": GetCheck(echo_challenge),
}
