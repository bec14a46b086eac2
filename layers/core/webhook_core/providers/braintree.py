"""Braintree webhooks: a form post of two parameters, `bt_payload` (the notification, XML in
base64 with its line breaks) and `bt_signature` (`<public key>|<hex signature>` pairs joined
with `&`, one per API key of the merchant). The signature is the hex HMAC-SHA1 of the
payload text keyed with the SHA-1 digest of the API private key; Braintree's SDKs also
accept it over the payload followed by a newline, which some frameworks strip
(braintree's WebhookNotificationGateway; https://developer.paypal.com/braintree/docs/guides/webhooks/parse).

Each secret is a private key. Every listed signature is tried, whatever public key it
names: the public key only tells the SDK which private key to use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import encodebytes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import MAX_CANDIDATES, NO_QUERY, TextSecretsUntimed, Verified
from webhook_core.providers.spec import ProviderSpec

DOCS = "https://developer.paypal.com/braintree/docs/guides/webhooks/parse"
SIGNATURE_PARAMETER = "bt_signature"
PAYLOAD_PARAMETER = "bt_payload"
# What the SDK admits in a payload: base64 and its line breaks.
_PAYLOAD = re.compile(r"[A-Za-z0-9+=/\n]+")
# A hexdigest, as the SDK compares it: lower case.
_HEX_SHA1 = re.compile(r"[0-9a-f]{40}")
# A Braintree form post has these two parameters; far more is not Braintree's.
MAX_PARAMETERS = 100


@dataclass(frozen=True, slots=True)
class BraintreeScheme(TextSecretsUntimed):
    # Where the signature is, for the tools that describe a scheme: a form parameter.
    signature_header: str = ""
    timestamp_header: str | None = None
    id_header: str | None = None
    tolerance_seconds: int = 0
    encoding: str = "hex"
    algorithm: str = "sha1"
    signed_content: str = "{bt_payload} (or it followed by a newline), keyed with SHA-1(private key)"

    @property
    def binds_body(self) -> bool:
        return True

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        return tuple(signing_key(secret) if secret.strip() else None for secret in secrets)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signature, payload = _parameters(body)
        candidates = [
            bytes.fromhex(value)
            for _, separator, value in (pair.partition("|") for pair in signature.split("&")[:MAX_CANDIDATES])
            if separator and _HEX_SHA1.fullmatch(value)
        ]
        if not candidates:
            raise SignatureError("malformed_signature")
        sent = payload.encode("ascii")
        contents = (sent, sent + b"\n")
        for index, key in enumerate(keys):
            if key is None:
                continue
            # Every content is compared with every candidate: no early exit reveals which matched.
            signed: bytes | None = None
            for content in contents:
                expected = hmac.new(key, content, hashlib.sha1).digest()
                matched = False
                for candidate in candidates:
                    matched |= hmac.compare_digest(expected, candidate)
                if matched and signed is None:
                    signed = content
            if signed is not None:
                # Keyed on what was signed: the payload with or without the newline a
                # framework stripped, and the parameters in any order, are one delivery.
                digest = hashlib.sha256(signed).hexdigest()
                return Verified(secret_index=index, content_digest=digest, body_format="form")
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """A `bt_signature` for the form post `body` (its public key a stand-in)."""
        _, payload = _parameters(body, signed=False)
        return f"public|{_signature(payload, secret)}"

    def sign_body(self, notification: bytes, secret: str, public_key: str = "webhooks-cli") -> bytes:
        """The form post Braintree makes of a notification's XML."""
        payload = encodebytes(notification).decode("ascii")
        return urlencode(
            {SIGNATURE_PARAMETER: f"{public_key}|{_signature(payload, secret)}", PAYLOAD_PARAMETER: payload}
        ).encode()


def signing_key(secret: str) -> bytes:
    """The HMAC key Braintree signs with: the SHA-1 digest of the API private key."""
    return hashlib.sha1(secret.strip().encode()).digest()  # noqa: S324 - Braintree's own key derivation


def _signature(payload: str, secret: str) -> str:
    return hmac.new(signing_key(secret), payload.encode("ascii"), hashlib.sha1).hexdigest()


def _parameters(body: bytes, *, signed: bool = True) -> tuple[str, str]:
    """The one bt_signature and the one bt_payload of the form post: two of either would
    leave it open which one the handlers read (the form parser keeps the first)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
    except (UnicodeDecodeError, ValueError):
        raise SignatureError("missing_signature") from None
    signatures = [value for name, value in pairs if name == SIGNATURE_PARAMETER]
    payloads = [value for name, value in pairs if name == PAYLOAD_PARAMETER]
    if not payloads or (signed and not signatures):
        raise SignatureError("missing_signature")
    if len(signatures) > 1 or len(payloads) > 1 or not _PAYLOAD.fullmatch(payloads[0]):
        raise SignatureError("malformed_signature")
    return (signatures[0] if signatures else ""), payloads[0]


def spec() -> ProviderSpec:
    return ProviderSpec(
        kind="braintree",
        docs=DOCS,
        scheme=BraintreeScheme(),
        fields=EventFields(
            type_path="notification.kind",
            occurred_at_path="notification.timestamp",
            occurred_at_format="iso8601",
            body_format="form",
            xml_parameter=PAYLOAD_PARAMETER,
        ),
    )
