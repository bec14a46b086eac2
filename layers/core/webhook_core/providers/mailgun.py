"""Mailgun: the signature travels inside the JSON body, not in a header:
`{"signature": {"timestamp": "…", "token": "…", "signature": "<hex>"}, "event-data": {…}}`,
the signature being the hex HMAC-SHA256 of `{timestamp}{token}` keyed with the
domain's HTTP webhook signing key. An event on a subaccount's domain also carries
`parent-signature`, the same HMAC with the primary account's key: either verifies.

The signature covers the timestamp and the token only, not the event. So, as
Mailgun's docs advise, a delivery is refused outside the timestamp tolerance and
its token is its id: the dedupe record (kept far longer than any tolerance) turns a
captured request replayed with other event data into a duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, parse_timestamp
from webhook_core.providers.spec import ProviderSpec

DOCS = "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks"
SIGNATURE_KEY = "signature"
SIGNATURE_FIELDS = ("signature", "parent-signature")
TOKEN_PATH = "signature.token"  # noqa: S105 - where the token is, not a credential
# Mailgun's tokens are 50 characters; bounding them bounds the work per request.
MAX_TOKEN_CHARS = 256
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class MailgunScheme(TextSecretsUntimed):
    tolerance_seconds: int = 900
    # Where the signature is, for the tools that describe a scheme: the body's signature object.
    signature_header: str = ""
    timestamp_header: str | None = None
    id_header: str | None = None
    encoding: str = "hex"
    algorithm: str = "sha256"
    signed_content: str = "{signature.timestamp}{signature.token}"

    @property
    def has_timestamp(self) -> bool:
        return True

    @property
    def signed_id_path(self) -> str | None:
        return TOKEN_PATH

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signature = _signature_object(body)
        timestamp, token = signature.get("timestamp"), signature.get("token")
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamp = str(timestamp)
        if not isinstance(timestamp, str) or not isinstance(token, str):
            raise SignatureError("malformed_signature")
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise SignatureError("malformed_signature")
        candidates = [
            bytes.fromhex(value)
            for value in (signature.get(name) for name in SIGNATURE_FIELDS)
            if isinstance(value, str) and _HEX_SHA256.fullmatch(value)
        ]
        if not candidates:
            raise SignatureError("malformed_signature")
        raw_timestamp, sent_at = parse_timestamp(timestamp)
        if abs(now - sent_at) > self.tolerance_seconds:
            raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
        content = (raw_timestamp + token).encode("utf-8", "surrogatepass")
        for index, key in enumerate(keys):
            if key is None:
                continue
            expected = hmac.new(key, content, hashlib.sha256).digest()
            matched = False
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
            if matched:
                return Verified(secret_index=index, timestamp=int(sent_at), body_format="json")
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """The hex signature of a timestamp and token (`event_id`), as Mailgun makes it."""
        return hmac.new(secret.encode(), f"{timestamp}{event_id}".encode(), hashlib.sha256).hexdigest()

    def sign_body(self, body: bytes, secret: str, *, timestamp: int, token: str | None = None) -> bytes:
        """`body` (a JSON object) with the signature object Mailgun would put in it."""
        document = json.loads(body)
        token = token or secrets.token_hex(25)
        signature = self.sign(body, secret, timestamp=timestamp, event_id=token)
        document[SIGNATURE_KEY] = {"timestamp": str(timestamp), "token": token, "signature": signature}
        return json.dumps(document).encode()


def _signature_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise SignatureError("missing_signature") from None
    signature = document.get(SIGNATURE_KEY) if isinstance(document, dict) else None
    if signature is None:
        raise SignatureError("missing_signature")
    if not isinstance(signature, dict):
        raise SignatureError("malformed_signature")
    return signature


def spec(tolerance_seconds: int = 900) -> ProviderSpec:
    return ProviderSpec(
        kind="mailgun",
        docs=DOCS,
        scheme=MailgunScheme(tolerance_seconds=tolerance_seconds),
        fields=EventFields(
            id_path=TOKEN_PATH,
            type_path="event-data.event",
            occurred_at_path="event-data.timestamp",
            resource_id_path="event-data.id",
        ),
    )
