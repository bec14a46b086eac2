"""PayPal: `PAYPAL-TRANSMISSION-SIG`, the base64 SHA256withRSA signature (`PAYPAL-AUTH-ALGO`)
of `{transmission id}|{transmission time}|{webhook id}|{CRC32 of the raw body, decimal}`,
checked with the certificate at `PAYPAL-CERT-URL`, fetched only from PayPal's API hosts
(`https://api.paypal.com/…`, `https://api.sandbox.paypal.com/…`) and cached
(webhook_core.certificates); the certificate must name a `*.paypal.com` subject, as
PayPal's own SDK checks.

PayPal has no shared secret. What it signs that is the receiver's own is the webhook ID
(from the app's webhook settings): each "secret" of a PayPal source is a webhook ID it
accepts, newest first, so that a re-created webhook (a new ID) can overlap the old one,
and a delivery meant for another webhook (another app, another listener) never verifies.

The body is bound only by a CRC32, which anyone can make match; the transmission id is
signed outright. So the transmission id is the delivery's id (dedupe policy `id`): a
captured transmission replayed with another body is a duplicate, never a new event.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhook_core import certificates
from webhook_core.certificates import HostRule
from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import (
    NO_QUERY,
    SignsBodyWithTimestamp,
    Verified,
    accepted_names,
    header_signature,
    parse_timestamp,
)
from webhook_core.providers.spec import ProviderSpec

DOCS = "https://developer.paypal.com/api/rest/webhooks/rest/#link-verifysignature"
SIGNATURE_HEADER = "paypal-transmission-sig"
TIMESTAMP_HEADER = "paypal-transmission-time"
ID_HEADER = "paypal-transmission-id"
CERT_URL_HEADER = "paypal-cert-url"
ALGORITHM_HEADER = "paypal-auth-algo"
CERTIFICATE_RULE = HostRule(
    host=re.compile(r"api(\.sandbox)?\.paypal\.com"), path=re.compile(r"/v1/notifications/certs/[A-Za-z0-9_-]{1,200}")
)
WEBHOOK_ID = re.compile(r"[A-Za-z0-9]{1,50}")
# PayPal's schema: a transmission id of at most 50 characters, a signature of at most 500.
TRANSMISSION_ID = re.compile(r"[A-Za-z0-9_-]{1,50}")
MAX_SIGNATURE_BYTES = 1024
PAYPAL_SUBJECT = re.compile(r"(.+\.)?paypal\.com")


@dataclass(frozen=True, slots=True)
class PayPalScheme(SignsBodyWithTimestamp):
    # PayPal retries a delivery for up to 3 days; the signed transmission id keeps replays out.
    tolerance_seconds: int = 86_400
    signature_header: str = SIGNATURE_HEADER
    timestamp_header: str | None = TIMESTAMP_HEADER
    id_header: str | None = ID_HEADER
    encoding: str = "base64"
    algorithm: str = "SHA256withRSA"
    signed_content: str = "{transmission id}|{transmission time}|{webhook id}|{crc32(body)}"

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """Each accepted webhook ID; anything that is not one is None."""
        return accepted_names(secrets, WEBHOOK_ID)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signature = header_signature(headers, self.signature_header, max_bytes=MAX_SIGNATURE_BYTES)
        if headers.get(ALGORITHM_HEADER, "").strip() != self.algorithm:
            raise SignatureError("unsupported_algorithm")
        transmission_id = headers.get(ID_HEADER, "").strip()
        if not TRANSMISSION_ID.fullmatch(transmission_id):
            raise SignatureError("missing_signed_header")
        raw_time, sent_at = parse_timestamp(headers.get(TIMESTAMP_HEADER), "iso8601")
        if abs(now - sent_at) > self.tolerance_seconds:
            raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
        url = headers.get(CERT_URL_HEADER, "").strip()
        if not url:
            raise SignatureError("missing_signature")
        certificate = certificates.fetcher().certificate(url, CERTIFICATE_RULE)
        public = _paypal_public_key(certificate)
        checksum = zlib.crc32(body) & 0xFFFFFFFF
        for index, key in enumerate(keys):
            if key is None:
                continue
            content = f"{transmission_id}|{raw_time}|{key.decode()}|{checksum}".encode()
            if _rsa_sha256_valid(public, signature, content):
                return Verified(secret_index=index, timestamp=int(sent_at))
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        raise ValueError("PayPal signs with its own private key; tests sign with their own certificate")


def _paypal_public_key(certificate: Any) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415 - loaded only for such a source
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    names = [attribute.value for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not any(isinstance(name, str) and PAYPAL_SUBJECT.fullmatch(name.lower()) for name in names):
        raise SignatureError("untrusted_certificate")
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise SignatureError("malformed_certificate")
    return public


def _rsa_sha256_valid(public: Any, signature: bytes, content: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

    try:
        public.verify(signature, content, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def spec(tolerance_seconds: int = 86_400) -> ProviderSpec:
    return ProviderSpec(
        kind="paypal",
        docs=DOCS,
        scheme=PayPalScheme(tolerance_seconds=tolerance_seconds),
        fields=EventFields(
            id_header=ID_HEADER,
            type_path="event_type",
            occurred_at_path="create_time",
            occurred_at_format="iso8601",
            resource_id_path="resource.id",
            kept_headers=("content-type", "user-agent", ID_HEADER, TIMESTAMP_HEADER, CERT_URL_HEADER),
        ),
    )
