"""SendGrid's signed Event Webhook: `X-Twilio-Email-Event-Webhook-Signature`, the
base64 of an ECDSA P-256 / SHA-256 signature (DER) over the timestamp header's text
followed by the raw body, checked against the account's verification key: the base64
DER SubjectPublicKeyInfo SendGrid shows under Mail Settings. Each "secret" of such a
source is that public key.

The body is a JSON array of events (a batch): the first event's `sg_event_id` does not
name the batch, so deliveries are told apart by the digest of the body, which the
signature covers. `cryptography` is imported on first use, as for Ed25519.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import (
    NO_QUERY,
    SignsBodyWithTimestamp,
    Verified,
    header_signature,
    parse_timestamp,
)
from webhook_core.providers.spec import ProviderSpec

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

DOCS = "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features"
SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
# A DER ECDSA P-256 signature is at most 72 bytes; a public key's SubjectPublicKeyInfo 91.
MAX_SIGNATURE_BYTES = 80
MAX_KEY_BYTES = 512


@dataclass(frozen=True, slots=True)
class EcdsaScheme(SignsBodyWithTimestamp):
    signature_header: str = SIGNATURE_HEADER
    timestamp_header: str | None = TIMESTAMP_HEADER
    tolerance_seconds: int = 300
    id_header: str | None = None
    encoding: str = "base64"
    algorithm: str = "ecdsa-p256-sha256"
    signed_content: str = "{timestamp}{body}"

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """Each public key as its DER bytes; one that is not a P-256 public key is None."""
        return tuple(_public_key_der(secret.strip()) for secret in secrets)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - see the module docstring
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

        signature = header_signature(headers, self.signature_header, max_bytes=MAX_SIGNATURE_BYTES)
        raw_timestamp, sent_at = parse_timestamp(headers.get(self.timestamp_header or ""))
        if abs(now - sent_at) > self.tolerance_seconds:
            raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
        content = raw_timestamp.encode() + body
        for index, key in enumerate(keys):
            if key is None:
                continue
            try:
                _public_key(key).verify(signature, content, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            return Verified(secret_index=index, timestamp=int(sent_at))
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """Signing needs the private key: `secret` here is its base64 DER (PKCS #8)."""
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import load_der_private_key  # noqa: PLC0415

        try:
            private = load_der_private_key(base64.b64decode(secret, validate=True), password=None)
        except (ValueError, TypeError, binascii.Error):
            raise ValueError("an ECDSA signing key is the base64 of its DER (PKCS #8)") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError("an ECDSA signing key is the base64 of its DER (PKCS #8)")
        signature = private.sign(f"{timestamp}".encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")


def new_signing_key() -> tuple[str, str]:
    """(private key, public key) as SendGrid would hold and show them: for dev stacks and tests."""
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    public = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii"), base64.b64encode(public).decode("ascii")


def _public_key_der(secret: str) -> bytes | None:
    try:
        der = base64.b64decode(secret, validate=True)
    except (ValueError, binascii.Error):
        return None
    if not der or len(der) > MAX_KEY_BYTES:
        return None
    try:
        _public_key(der)
    except ValueError:
        return None
    return der


@functools.lru_cache(maxsize=32)
def _public_key(der: bytes) -> EllipticCurvePublicKey:
    """The P-256 public key of a SubjectPublicKeyInfo; ValueError for anything else."""
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import load_der_public_key  # noqa: PLC0415

    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 public key")
    return key


def spec(tolerance_seconds: int = 300) -> ProviderSpec:
    return ProviderSpec(
        kind="sendgrid",
        docs=DOCS,
        scheme=EcdsaScheme(tolerance_seconds=tolerance_seconds),
        fields=EventFields(
            type_path="0.event",
            occurred_at_path="0.timestamp",
            resource_id_path="0.sg_message_id",
        ),
    )
