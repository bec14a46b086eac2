"""Signed deliveries for every kind, made the way each provider makes them.

Stripe and Standard Webhooks are signed by the providers' official SDKs; GitHub
has no official signing SDK, so it is signed with hmac as its docs show (and the
docs' own example vector is tested separately); the generic hmac kind is signed
with hmac directly. None of this uses the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from standardwebhooks.webhooks import Webhook as StandardWebhook

STRIPE_SECRET = "whsec_test_stripe_0123456789abcdef"
GITHUB_SECRET = "gh-s3cr3t-for-tests"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HMAC_SECRET = "generic-hmac-secret"
SECRETS = {"stripe": [STRIPE_SECRET], "github": [GITHUB_SECRET], "standard": [STANDARD_SECRET], "hmac": [HMAC_SECRET]}
KINDS = tuple(SECRETS)


@dataclass(frozen=True)
class Signed:
    body: bytes
    headers: dict[str, str]
    event_id: str
    event_type: str


def sample_body(kind: str, event_id: str, event_type: str) -> bytes:
    if kind == "stripe":
        document: dict[str, object] = {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": 1_700_000_000,
            "data": {"object": {"id": "cs_test_a1", "object": "checkout.session"}},
        }
    elif kind == "github":
        document = {"ref": "refs/heads/main", "repository": {"full_name": "octo/hello"}}
    elif kind == "standard":
        document = {"type": event_type, "timestamp": "2026-11-25T09:00:00Z", "data": {"id": "obj_1"}}
    else:
        document = {"hello": "world", "n": 1}
    return json.dumps(document).encode()


def sign(
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
    timestamp = timestamp if timestamp is not None else int(time.time())
    event_id = (
        event_id
        or {
            "stripe": f"evt_{uuid.uuid4().hex[:24]}",
            "github": str(uuid.uuid4()),
            "standard": f"msg_{uuid.uuid4().hex[:24]}",
            "hmac": f"ev-{uuid.uuid4().hex[:12]}",
        }[kind]
    )
    event_type = event_type or {"stripe": "checkout.session.completed", "github": "push"}.get(kind, "invoice.paid")
    body = body if body is not None else sample_body(kind, event_id, event_type)

    if kind == "stripe":
        header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)
        headers = {"Stripe-Signature": header}
    elif kind == "standard":
        signature = StandardWebhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())
        headers = {"webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}
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
    else:
        raise ValueError(kind)
    return Signed(body=body, headers=headers, event_id=event_id, event_type=event_type)


SIGNATURE_HEADER = {
    "stripe": "Stripe-Signature",
    "github": "X-Hub-Signature-256",
    "standard": "webhook-signature",
    "hmac": "X-Signature",
}
TIMESTAMPED = ("stripe", "standard", "hmac")
