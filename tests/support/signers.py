"""Signed deliveries for every kind, made the way each provider makes them.

Stripe and Standard Webhooks are signed by the providers' official SDKs; GitHub
has no official signing SDK, so it is signed with hmac as its docs show (and the
docs' own example vector is tested separately); the generic hmac kind is signed
with hmac directly. None of this uses the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import nacl.signing
import stripe
import svix.webhooks
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
)
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from tests.support.leaks import WATCH

STRIPE_SECRET = "whsec_test_stripe_0123456789abcdef"
GITHUB_SECRET = "gh-s3cr3t-for-tests"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HMAC_SECRET = "generic-hmac-secret"
SVIX_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SHOPIFY_SECRET = "shpss_test_shopify_client_secret"
PADDLE_SECRET = "pdl_ntfset_01gkpjp8bkh3x5ra5sqt3kq4d7_6nOS1lCOk+test"
ZOOM_SECRET = "zoom-secret-token-for-tests"
TOKEN_SECRET = "glpat-webhook-token-for-tests"
SQUARE_SECRET = "square-signature-key-for-tests"
SQUARE_URL = "https://example.com/webhooks/square"
BASIC_SECRET = "webhooks:correct-horse-battery"
TWILIO_SECRET = "12345678901234567890123456789012"  # an Auth Token's shape
TWILIO_URL = "https://example.com/webhooks/twilio"


def _p256_key(label: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(hashlib.sha256(label.encode()).digest()) % _P256_ORDER, ec.SECP256R1())


def _p256_private(label: str) -> str:
    return base64.b64encode(_p256_key(label).private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())).decode()


def _p256_public(private: str) -> str:
    """SendGrid's verification key for a signing key: base64 DER SubjectPublicKeyInfo."""
    key = load_der_private_key(base64.b64decode(private), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return base64.b64encode(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# SendGrid: the provider holds the ECDSA P-256 signing key; the receiver the public key.
SENDGRID_SIGNING_KEY = _p256_private("sendgrid-signing-key-for-tests")
SENDGRID_PUBLIC_KEY = _p256_public(SENDGRID_SIGNING_KEY)
MANDRILL_SECRET = "mandrill-webhook-key-for-tests"
MANDRILL_URL = "https://example.com/webhooks/mandrill"
# Ed25519: the provider holds the signing seed; the receiver is configured with the public key.
ED25519_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1
ED25519_PUBLIC_KEY = nacl.signing.SigningKey(bytes.fromhex(ED25519_SEED)).verify_key.encode().hex()
SECRETS = {
    "stripe": [STRIPE_SECRET],
    "github": [GITHUB_SECRET],
    "standard": [STANDARD_SECRET],
    "svix": [SVIX_SECRET],
    "slack": [SLACK_SECRET],
    "shopify": [SHOPIFY_SECRET],
    "paddle": [PADDLE_SECRET],
    "zoom": [ZOOM_SECRET],
    "square": [SQUARE_SECRET],
    "token": [TOKEN_SECRET],
    "twilio": [TWILIO_SECRET],
    "basic": [BASIC_SECRET],
    "hmac": [HMAC_SECRET],
    "ed25519": [ED25519_PUBLIC_KEY],
    "mandrill": [MANDRILL_SECRET],
    "sendgrid": [SENDGRID_PUBLIC_KEY],
}
KINDS = tuple(SECRETS)
# Kinds whose signature covers the body; a static token or Basic credentials cannot notice a changed body.
BODY_SIGNED = tuple(kind for kind in KINDS if kind not in {"token", "basic"})
WHSEC_KINDS = ("standard", "svix")


def other_secret(kind: str, label: str) -> str:
    """A secret that is not the test secret, in the format the kind's provider issues."""
    if kind in WHSEC_KINDS:
        return "whsec_" + base64.b64encode(label.encode().ljust(24, b"_")).decode()
    if kind in ("ed25519", "adyen"):  # another seed (ed25519) or HMAC key (adyen): both are hex
        return hashlib.sha256(label.encode()).hexdigest()
    if kind == "sendgrid":  # another ECDSA signing key
        return _p256_private(label)
    return label


def configured(kind: str, secret: str) -> str:
    """What the receiver is configured with for a signing secret: the secret itself,
    except for public-key kinds, where it is the public key of the signing seed."""
    if kind == "ed25519":
        return nacl.signing.SigningKey(bytes.fromhex(secret)).verify_key.encode().hex()
    if kind == "sendgrid":
        return _p256_public(secret)
    return secret


@dataclass(frozen=True)
class Signed:
    body: bytes
    headers: dict[str, str]
    event_id: str
    event_type: str
    query: dict[str, str] = field(default_factory=dict)


def sample_body(kind: str, event_id: str, event_type: str) -> bytes:  # noqa: PLR0912 - one branch per provider
    if kind == "stripe":
        document: dict[str, object] = {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": 1_700_000_000,
            "data": {"object": {"id": "cs_test_a1", "object": "checkout.session"}},
        }
    elif kind == "github":
        # Each push its own commit, as on GitHub: sources keyed on the body's digest must see two events.
        head = hashlib.sha1(event_id.encode(), usedforsecurity=False).hexdigest()
        document = {"ref": "refs/heads/main", "after": head, "repository": {"full_name": "octo/hello"}}
    elif kind in WHSEC_KINDS:
        document = {"type": event_type, "timestamp": "2026-11-25T09:00:00Z", "data": {"id": "obj_1"}}
    elif kind == "slack":
        document = {
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "event": {"type": event_type, "user": "U1", "text": "hello"},
        }
    elif kind == "shopify":
        number = int(hashlib.sha1(event_id.encode(), usedforsecurity=False).hexdigest()[:15], 16)
        document = {"id": number, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508"}
    elif kind == "paddle":
        document = {
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": "2026-11-25T09:00:00.000Z",
            "notification_id": "ntf_01",
            "data": {"id": "txn_01", "status": "completed"},
        }
    elif kind == "square":
        document = {
            "merchant_id": "6SSW7HV8K2ST5",
            "type": event_type,
            "event_id": event_id,
            "created_at": "2026-11-25T09:00:00Z",
            "data": {"type": "payment", "id": "KkAkhdMs"},
        }
    elif kind in {"token", "basic"}:
        document = {"id": event_id, "type": event_type, "object_kind": "push"}
    elif kind == "twilio":
        document = {"type": event_type, "specversion": "1.0", "id": event_id, "data": {"sid": "SM1"}}
    elif kind == "ed25519":
        document = {"version": 1, "application_id": "1", "type": 1, "event": {"type": event_type, "data": {}}}
    elif kind == "sendgrid":  # a batch of events
        batch = [{"email": "a@example.com", "event": event_type, "sg_event_id": event_id, "timestamp": 1_700_000_000}]
        return json.dumps(batch).encode() + b"\r\n"
    elif kind == "mandrill":  # one form parameter holding the JSON array of events
        events = [{"event": event_type, "_id": event_id, "ts": 1_700_000_000, "msg": {"state": "sent"}}]
        return urlencode({"mandrill_events": json.dumps(events)}).encode()
    elif kind == "zoom":
        document = {"event": event_type, "event_ts": 1_700_000_000_000, "payload": {"object": {"id": event_id}}}
    else:
        document = {"hello": "world", "n": 1, "id": event_id}
    return json.dumps(document).encode()


def sign(  # noqa: PLR0912 - one branch per provider, each the provider's own recipe
    kind: str,
    body: bytes | None = None,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    event_id: str | None = None,
    event_type: str | None = None,
) -> Signed:
    """A delivery of `kind` signed with `secret` (default: the test secret) at `timestamp`."""
    secret = secret if secret is not None else SECRETS[kind][0]
    query: dict[str, str] = {}
    timestamp = timestamp if timestamp is not None else int(time.time())
    event_id = (
        event_id
        or {
            "stripe": f"evt_{uuid.uuid4().hex[:24]}",
            "github": str(uuid.uuid4()),
            "standard": f"msg_{uuid.uuid4().hex[:24]}",
            "svix": f"msg_{uuid.uuid4().hex[:24]}",
            "slack": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "shopify": str(uuid.uuid4()),
            "paddle": f"evt_{uuid.uuid4().hex[:26]}",
            "zoom": f"zoom-{uuid.uuid4().hex[:12]}",
            "square": str(uuid.uuid4()),
            "token": str(uuid.uuid4()),
            "basic": f"evt-{uuid.uuid4().hex[:12]}",
            "hmac": f"ev-{uuid.uuid4().hex[:12]}",
            "twilio": f"idem-{uuid.uuid4().hex[:16]}",
            "ed25519": "",
            "mandrill": uuid.uuid4().hex,
            "sendgrid": uuid.uuid4().hex,
        }[kind]
    )
    event_type = event_type or {
        "stripe": "checkout.session.completed",
        "github": "push",
        "slack": "app_mention",
        "shopify": "orders/create",
        "paddle": "transaction.completed",
        "zoom": "meeting.started",
        "token": "Push Hook",
        "square": "payment.updated",
        "twilio": "com.twilio.messaging.message.delivered",
        "ed25519": "APPLICATION_AUTHORIZED",
        "mandrill": "send",
        "sendgrid": "delivered",
    }.get(kind, "invoice.paid")
    body = body if body is not None else sample_body(kind, event_id, event_type)

    if kind == "stripe":
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
        headers = {"Stripe-Signature": header}
    elif kind == "standard":
        signature = StandardWebhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())
        headers = {"webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    elif kind == "svix":
        signature = svix.webhooks.Webhook(secret).sign(
            event_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode()
        )
        headers = {"svix-id": event_id, "svix-timestamp": str(timestamp), "svix-signature": signature}
    elif kind == "slack":
        slack_signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
        assert slack_signature is not None
        headers = {"X-Slack-Signature": slack_signature, "X-Slack-Request-Timestamp": str(timestamp)}
    elif kind == "shopify":
        # shopify.dev: base64 of HMAC-SHA256 over the raw body with the app's client secret.
        digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        headers = {
            "X-Shopify-Hmac-Sha256": digest,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Webhook-Id": f"webhook-{event_id}",
            "X-Shopify-Topic": event_type,
        }
    elif kind == "paddle":
        # developer.paddle.com: h1 = hex HMAC-SHA256 of "{ts}:{body}".
        digest = hmac.new(secret.encode(), f"{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Paddle-Signature": f"ts={timestamp};h1={digest}"}
    elif kind == "zoom":
        # developers.zoom.us: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}".
        digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {"x-zm-signature": f"v0={digest}", "x-zm-request-timestamp": str(timestamp)}
    elif kind == "square":
        # developer.squareup.com: base64 HMAC-SHA256 of notification URL + body with the signature key.
        digest = base64.b64encode(
            hmac.new(secret.encode(), SQUARE_URL.encode() + body, hashlib.sha256).digest()
        ).decode()
        headers = {"x-square-hmacsha256-signature": digest}
    elif kind == "token":
        # GitLab sends the configured secret token as is.
        headers = {"X-Gitlab-Token": secret, "Idempotency-Key": event_id, "X-Gitlab-Event": event_type}
    elif kind == "basic":
        headers = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    elif kind == "github":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-Hub-Signature-256": f"sha256={digest}",
            "X-GitHub-Delivery": event_id,
            "X-GitHub-Event": event_type,
        }
    elif kind == "hmac":
        # The shipped example source: hex HMAC-SHA256 of "{timestamp}.{body}", prefix "sha256=".
        digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {
            "X-Signature": f"sha256={digest}",
            "X-Timestamp": str(timestamp),
            "X-Event-Id": event_id,
            "X-Event-Type": event_type,
        }
    elif kind == "twilio":
        # JSON bodies: Twilio appends bodySHA256 to the URL it signs (twilio's own validator).
        body_hash = hashlib.sha256(body).hexdigest()
        signature = RequestValidator(secret).compute_signature(f"{TWILIO_URL}?bodySHA256={body_hash}", {})
        headers = {"X-Twilio-Signature": signature, "I-Twilio-Idempotency-Token": event_id}
        query = {"bodySHA256": body_hash}
    elif kind == "ed25519":
        # Discord: Ed25519 over timestamp + body (signed with PyNaCl, as Discord's docs verify).
        seed = ED25519_SEED if secret == ED25519_PUBLIC_KEY else secret
        signed = nacl.signing.SigningKey(bytes.fromhex(seed)).sign(str(timestamp).encode() + body)
        headers = {"X-Signature-Ed25519": signed.signature.hex(), "X-Signature-Timestamp": str(timestamp)}
    elif kind == "sendgrid":
        # ECDSA P-256 / SHA-256 over timestamp + body, base64 DER (what sendgrid's EventWebhook checks).
        private = SENDGRID_SIGNING_KEY if secret == SENDGRID_PUBLIC_KEY else secret
        key = load_der_private_key(base64.b64decode(private), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        raw = key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(raw).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
        }
    elif kind == "mandrill":
        # Mandrill's documented recipe (no official library signs): the URL, then each POST
        # variable sorted by key, key then value; base64 HMAC-SHA1 with the webhook key.
        pairs = sorted(parse_qsl(body.decode(), keep_blank_values=True))
        signed_data = MANDRILL_URL + "".join(name + value for name, value in pairs)
        digest = base64.b64encode(hmac.new(secret.encode(), signed_data.encode(), hashlib.sha1).digest()).decode()
        headers = {"X-Mandrill-Signature": digest, "Content-Type": "application/x-www-form-urlencoded"}
    else:
        raise ValueError(kind)
    # A real signature (or credential) was made: it must never show up in a log line or a response.
    WATCH.watch(*(value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER[kind].lower()))
    if kind in {"zoom", "ed25519", "mandrill", "sendgrid"}:  # no event id is sent: the receiver uses the body's SHA-256
        event_id = hashlib.sha256(body).hexdigest()
    return Signed(body=body, headers=headers, event_id=event_id, event_type=event_type, query=query)


SIGNATURE_HEADER = {
    "stripe": "Stripe-Signature",
    "github": "X-Hub-Signature-256",
    "standard": "webhook-signature",
    "svix": "svix-signature",
    "slack": "X-Slack-Signature",
    "shopify": "X-Shopify-Hmac-Sha256",
    "paddle": "Paddle-Signature",
    "zoom": "x-zm-signature",
    "square": "x-square-hmacsha256-signature",
    "token": "X-Gitlab-Token",
    "twilio": "X-Twilio-Signature",
    "basic": "Authorization",
    "hmac": "X-Signature",
    "ed25519": "X-Signature-Ed25519",
    "mandrill": "X-Mandrill-Signature",
    "sendgrid": "X-Twilio-Email-Event-Webhook-Signature",
}
# Where each timestamped kind carries its timestamp: a header, or a key inside the signature header.
TIMESTAMP_HEADER = {
    "stripe": ("Stripe-Signature", "t"),
    "standard": ("webhook-timestamp", None),
    "svix": ("svix-timestamp", None),
    "slack": ("X-Slack-Request-Timestamp", None),
    "paddle": ("Paddle-Signature", "ts"),
    "zoom": ("x-zm-request-timestamp", None),
    "hmac": ("X-Timestamp", None),
    "ed25519": ("X-Signature-Timestamp", None),
    "sendgrid": ("X-Twilio-Email-Event-Webhook-Timestamp", None),
}
TIMESTAMPED = tuple(TIMESTAMP_HEADER)
