"""Providers' endpoint checks, by name, so a source or preset can pick one.

POST checks arrive signed and are verified before they are answered; GET checks
carry no signature, so they answer only what the provider's protocol makes safe:
Meta's challenge only with the right verify token, Dropbox's echo only as inert
plain text, Okta's challenge only with the source's Authorization header, X's CRC
an HMAC of the token (which proves we hold the secret, and reveals nothing of it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from webhook_core.errors import BadRequestError, ForbiddenSourceError, SignatureError
from webhook_core.providers.spec import TEXT, GetCheck, Handshake, HandshakeReply, SetupCapture, UnsignedCheck
from webhook_core.text import sent_bytes

# A challenge is an opaque token; anything else is not echoed back.
_CHALLENGE = re.compile(r"[A-Za-z0-9._~+/=-]{1,256}")
# A DNS name, as CloudEvents' WebHook-Request-Origin carries it.
_ORIGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_RATE = re.compile(r"[1-9][0-9]{0,8}")


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


def event_grid_validation(document: Any, headers: Mapping[str, str], key: bytes) -> HandshakeReply | None:
    """Azure Event Grid's synchronous handshake: a POST marked `aeg-event-type:
    SubscriptionValidation` (deliveries say `Notification`), its body an array whose event is
    `Microsoft.EventGrid.SubscriptionValidationEvent`, answered 200 `{"validationResponse": code}`
    (https://learn.microsoft.com/azure/event-grid/end-point-validation-event-grid-events-schema,
    https://learn.microsoft.com/azure/event-grid/receive-events, "Message headers", for the header).
    Both marks are required and must agree: a validation body under a `Notification` header,
    or the header over an ordinary event, is refused (400) and nothing is queued.
    Event Grid signs nothing: the event is answered only once the source's token verified."""
    marked = headers.get("aeg-event-type", "").strip().lower() == "subscriptionvalidation"
    first = document[0] if isinstance(document, list) and len(document) == 1 else None
    validation = isinstance(first, dict) and first.get("eventType") == "Microsoft.EventGrid.SubscriptionValidationEvent"
    if marked != validation:
        raise BadRequestError(
            "a subscription validation needs both aeg-event-type: SubscriptionValidation and "
            "a single Microsoft.EventGrid.SubscriptionValidationEvent"
        )
    if not isinstance(first, dict) or not validation:
        return None
    data = first.get("data")
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not _CHALLENGE.fullmatch(code):
        raise BadRequestError("the validation event carries no validation code")
    return HandshakeReply({"validationResponse": code})


def meta_subscribe(query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
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


def echo_challenge(query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
    """Dropbox (and Nylas): `?challenge=…` echoed as plain text, so it cannot act as a page."""
    challenge = query.get("challenge")
    if challenge is None or not _CHALLENGE.fullmatch(challenge):
        raise BadRequestError("not a verification request: the challenge parameter is missing or not a token")
    return HandshakeReply(challenge, content_type=TEXT)


def okta_verification(query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
    """Okta's one-time GET: `X-Okta-Verification-Challenge` answered `{"verification": …}`
    (https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request).
    Okta sends the hook's Authorization header with it, which the receiver checks first."""
    challenge = headers.get("x-okta-verification-challenge")
    if challenge is None or not _CHALLENGE.fullmatch(challenge):
        raise BadRequestError("not a verification request: X-Okta-Verification-Challenge is missing or not a token")
    return HandshakeReply({"verification": challenge})


def x_crc(query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
    """X's challenge-response check: `?crc_token=…` answered `{"response_token": "sha256=" +
    base64(HMAC-SHA256(consumer secret, crc_token))}`
    (https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks).
    Keyed with the newest secret: X signs with the app's current consumer secret."""
    token = query.get("crc_token")
    if token is None or not _CHALLENGE.fullmatch(token):
        raise BadRequestError("not a challenge-response check: crc_token is missing or not a token")
    digest = hmac.new(tokens[0].encode(), token.encode(), hashlib.sha256).digest()
    return HandshakeReply({"response_token": "sha256=" + base64.b64encode(digest).decode("ascii")})


def head_ok(query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
    """Trello's HEAD on the callback URL when a webhook is made: a 200 is all it asks
    (https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#creating-a-webhook)."""
    return HandshakeReply(None, status=200)


def mailchimp_validation(
    query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]
) -> HandshakeReply:
    """Mailchimp's GET on the webhook URL when a webhook is saved: it must answer 200
    (https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/). It
    requests the URL as configured, key included, and the receiver checks that key
    before this answers (an authenticated check): a URL without it is refused 401, so
    an endpoint answers 200 to nobody who does not hold the key."""
    return HandshakeReply(None, status=200)


def cloudevents_abuse_protection(origins: tuple[str, ...]) -> GetCheck:
    """CloudEvents' webhook validation: `OPTIONS` with `WebHook-Request-Origin` (and maybe
    `WebHook-Request-Rate`), granted with `WebHook-Allowed-Origin` and `WebHook-Allowed-Rate`
    (https://github.com/cloudevents/spec/blob/main/cloudevents/http-webhook.md#4-abuse-protection).
    Only the origins the source names are granted: consent for anyone else would let any
    sender be pointed at this endpoint."""

    def answer(query: Mapping[str, str], headers: Mapping[str, str], tokens: tuple[str, ...]) -> HandshakeReply:
        origin = headers.get("webhook-request-origin", "").strip()
        if not _ORIGIN.fullmatch(origin):
            raise BadRequestError("not a validation request: WebHook-Request-Origin is missing or not a DNS name")
        if origin.lower() not in origins:
            raise ForbiddenSourceError(f"origin {origin[:64]!r} is not one this source accepts")
        rate = headers.get("webhook-request-rate", "").strip()
        granted = {
            "WebHook-Allowed-Origin": origin,
            # API Gateway's stage throttling is the limit; any requested rate is granted as asked.
            "WebHook-Allowed-Rate": rate if _RATE.fullmatch(rate) else "*",
            "Allow": "POST, OPTIONS",
        }
        return HandshakeReply(None, status=200, headers=granted)

    return GetCheck(answer)


def woocommerce_ping(body: bytes, headers: Mapping[str, str]) -> HandshakeReply | None:
    """WooCommerce posts `webhook_id=<n>`, unsigned, when a webhook is saved, and keeps it
    only if the answer is 200 (WC_Webhook::deliver_ping, https://github.com/woocommerce/woocommerce/blob/trunk/
    plugins/woocommerce/includes/class-wc-webhook.php). Exactly that body and no
    signature header: answered 200, and nothing is written or queued."""
    if "x-wc-webhook-signature" in headers or not re.fullmatch(rb"webhook_id=[0-9]{1,20}", body):
        return None
    return HandshakeReply(None, status=200)


def monday_challenge(body: bytes, headers: Mapping[str, str]) -> HandshakeReply | None:
    """monday.com checks a board webhook's URL when it is made: a POST whose JSON body is
    `{"challenge": <random token>}`, answered with the same JSON
    (https://developer.monday.com/api-reference/docs/webhooks#url-verification). It may
    come unsigned, and echoing a token tells its sender nothing it did not send: only
    exactly that body is answered, and nothing is written or queued."""
    if len(body) > 1024:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    token = document.get("challenge") if isinstance(document, dict) and len(document) == 1 else None
    if not isinstance(token, str) or not _CHALLENGE.fullmatch(token):
        return None
    return HandshakeReply({"challenge": token}, status=200)


def notion_verification_token(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Notion's first POST to a new subscription: unsigned, its body `{"verification_token": …}`
    (https://developers.notion.com/reference/webhooks#step-2-verifying-the-subscription)."""
    if "x-notion-signature" in headers or len(body) > 1024:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    token = document.get("verification_token") if isinstance(document, dict) and len(document) == 1 else None
    return token if isinstance(token, str) and _CHALLENGE.fullmatch(token) else None


def asana_hook_secret(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Asana's handshake when a webhook is made: a POST with `X-Hook-Secret`, unsigned
    (https://developers.asana.com/reference/createwebhook)."""
    secret = headers.get("x-hook-secret")
    if secret is None or "x-hook-signature" in headers or not _CHALLENGE.fullmatch(secret):
        return None
    return secret


HANDSHAKES: dict[str, Handshake] = {
    "slack": slack_url_verification,
    "zoom": zoom_url_validation,
    "discord": discord_ping,
    "twitch": twitch_challenge,
    "eventgrid": event_grid_validation,
}
GET_CHECKS: dict[str, GetCheck] = {
    "meta": GetCheck(meta_subscribe, token="verify_token"),  # noqa: S106 - the name of an entry, not a value
    "challenge": GetCheck(echo_challenge),
    "okta": GetCheck(okta_verification, authenticated=True),
    "crc": GetCheck(x_crc, keyed=True),
    "mailchimp": GetCheck(mailchimp_validation, authenticated=True),
}
HEAD_CHECKS: dict[str, GetCheck] = {"ok": GetCheck(head_ok)}
UNSIGNED_CHECKS: dict[str, UnsignedCheck] = {"woocommerce": woocommerce_ping, "monday": monday_challenge}
SETUP_CAPTURES: dict[str, SetupCapture] = {
    # Notion: kept for the operator, who pastes it into Notion and then sets it as the secret.
    "notion": SetupCapture(notion_verification_token, reply=lambda secret: HandshakeReply(None, status=200)),
    # Asana: echoed back, and it verifies the source's deliveries from then on.
    "asana": SetupCapture(
        asana_hook_secret,
        reply=lambda secret: HandshakeReply(None, status=200, headers={"X-Hook-Secret": secret}),
        verifies=True,
    ),
}
