"""Amazon SNS over HTTPS: the JSON body carries an RSA signature (SignatureVersion 1:
SHA1withRSA, 2: SHA256withRSA) over SNS's canonical string, `Name\\nValue\\n` for each
signed field in the documented order:

- Notification: Message, MessageId, Subject (if present), Timestamp, TopicArn, Type;
- SubscriptionConfirmation and UnsubscribeConfirmation: Message, MessageId,
  SubscribeURL, Timestamp, Token, TopicArn, Type.

The certificate is fetched only from `https://sns.<region>.amazonaws.com[.cn]/…pem`
(webhook_core.certificates: allowed hosts, size and time limits, cached). Anyone can
make a topic and subscribe any URL, so a valid signature alone proves nothing about
whose topic it is: each "secret" of an SNS source is a TopicArn it accepts (newest
first, like secrets), and a message from any other topic is refused before any fetch.

A SubscriptionConfirmation is verified, then confirmed by fetching its signed
SubscribeURL (only from an SNS host), or with `subscription: "log"` left for the
operator (logged with the URL's host only); it is never queued. The event id is the
signed MessageId (the same on SNS's retries); the type is the Subject, else the Type.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from webhook_core import certificates
from webhook_core.certificates import HostRule
from webhook_core.errors import SignatureError
from webhook_core.observability import logger
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import (
    NO_QUERY,
    SignsBodyWithTimestamp,
    Verified,
    accepted_names,
    decode_signature,
    parse_timestamp,
)
from webhook_core.providers.spec import HandshakeReply, ProviderSpec

DOCS = "https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html"
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
# Path segments that never start with a dot (no `..`), ending in `.pem`.
CERTIFICATE_RULE = HostRule(host=SNS_HOST, path=re.compile(r"(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}){1,8}\.pem"))
SUBSCRIBE_RULE = HostRule(host=SNS_HOST, path=re.compile(r"/?"))
TOPIC_ARN = re.compile(r"arn:aws(-cn|-us-gov|-iso|-iso-b)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
NOTIFICATION = "Notification"
CONFIRMATIONS = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
SIGNED_FIELDS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    CONFIRMATIONS[0]: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    CONFIRMATIONS[1]: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
OPTIONAL_FIELDS = frozenset({"Subject"})
DIGESTS = {"1": "SHA1", "2": "SHA256"}
# An RSA signature of a 2048- or 4096-bit key; bounding it bounds the work per request.
MAX_SIGNATURE_BYTES = 1024
SubscriptionMode = Literal["confirm", "log"]


@dataclass(frozen=True, slots=True)
class SnsScheme(SignsBodyWithTimestamp):
    # SNS publishes with the Timestamp of the first attempt and retries the same message,
    # for as long as the topic's delivery policy says: the window is wide, and the signed
    # MessageId keeps replays out for the dedupe record's life.
    tolerance_seconds: int = 86_400
    signature_header: str = ""
    timestamp_header: str | None = None
    id_header: str | None = None
    encoding: str = "base64"
    algorithm: str = "rsa-sha1 (v1) or rsa-sha256 (v2)"
    signed_content: str = "SNS's canonical string of the message's signed fields"

    @property
    def binds_body(self) -> bool:
        # The signed fields, not the raw bytes (MessageAttributes, UnsubscribeURL are not signed).
        return False

    @property
    def signed_id_path(self) -> str | None:
        return "MessageId"

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """Each accepted TopicArn; anything that is not an SNS topic ARN is None."""
        return accepted_names(secrets, TOPIC_ARN)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        message = _message(body)
        kind = message.get("Type")
        if kind not in SIGNED_FIELDS:
            raise SignatureError("malformed_signature")
        digest = DIGESTS.get(str(message.get("SignatureVersion", "")))
        encoded = message.get("Signature")
        url = message.get("SigningCertURL")
        if digest is None or not isinstance(encoded, str) or not isinstance(url, str):
            raise SignatureError("malformed_signature")
        signature = decode_signature(encoded, "base64")
        if signature is None or len(signature) > MAX_SIGNATURE_BYTES:
            raise SignatureError("malformed_signature")
        content = canonical_string(message)
        topic = str(message["TopicArn"]).encode()
        index = next((position for position, key in enumerate(keys) if key == topic), None)
        if index is None:
            raise SignatureError("topic_not_accepted")
        _, sent_at = parse_timestamp(str(message["Timestamp"]), "iso8601")
        if abs(now - sent_at) > self.tolerance_seconds:
            raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
        _verify_rsa(certificates.fetcher().certificate(url, CERTIFICATE_RULE), signature, content, digest)
        return Verified(
            secret_index=index,
            timestamp=int(sent_at),
            content_digest=hashlib.sha256(content).hexdigest(),
            body_format="json",
        )

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        raise ValueError("SNS signs with Amazon's private key; tests sign with their own certificate")


def canonical_string(message: Mapping[str, Any]) -> bytes:
    """SNS's string to sign: `Name\\nValue\\n` for each signed field of the message's
    type, in the documented order; a missing field is malformed, except Subject."""
    parts: list[str] = []
    for name in SIGNED_FIELDS[str(message.get("Type"))]:
        value = message.get(name)
        if value is None and name in OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise SignatureError("malformed_signature")
        parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode("utf-8", "surrogatepass")


def _message(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        raise SignatureError("missing_signature") from None
    if not isinstance(message, dict):
        raise SignatureError("missing_signature")
    if "Signature" not in message:
        raise SignatureError("missing_signature")
    return message


def _verify_rsa(certificate: Any, signature: bytes, content: bytes, digest: str) -> None:
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - loaded only for such a source
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise SignatureError("malformed_certificate")
    algorithm = hashes.SHA1() if digest == "SHA1" else hashes.SHA256()  # noqa: S303 - SNS's SignatureVersion 1
    try:
        public.verify(signature, content, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError):
        raise SignatureError("signature_mismatch") from None


def subscription(
    mode: SubscriptionMode, document: Any, headers: Mapping[str, str], key: bytes
) -> HandshakeReply | None:
    """A verified (Un)SubscribeConfirmation: answered, never queued."""
    if not isinstance(document, dict) or document.get("Type") not in CONFIRMATIONS:
        return None
    url = str(document.get("SubscribeURL", ""))
    if document["Type"] == CONFIRMATIONS[1]:
        logger.info("sns unsubscribe confirmation received; nothing to do")
        return HandshakeReply({"status": "unsubscribed"})
    if mode == "log":
        host = url.split("/")[2] if url.count("/") >= 2 else ""
        # The SubscribeURL carries the token that confirms the subscription: neither is kept or
        # logged, so the operator confirms by asking SNS again once the source confirms.
        logger.warning(
            "sns subscription awaiting confirmation; the source keeps no SubscribeURL: set its subscription "
            'to "confirm" and choose Request confirmation on the pending subscription in the SNS console',
            extra={"subscribe_host": host},
        )
        return HandshakeReply({"status": "awaiting confirmation"})
    certificates.fetcher().get(url, SUBSCRIBE_RULE)
    logger.info("sns subscription confirmed")
    return HandshakeReply({"status": "confirmed"})


def spec(tolerance_seconds: int = 86_400, mode: SubscriptionMode = "confirm") -> ProviderSpec:
    return ProviderSpec(
        kind="sns",
        docs=DOCS,
        scheme=SnsScheme(tolerance_seconds=tolerance_seconds),
        fields=EventFields(
            id_path="MessageId",
            type_path="Subject",
            type_fallback_paths=("Type",),
            occurred_at_path="Timestamp",
            occurred_at_format="iso8601",
            kept_headers=("content-type", "user-agent", "x-amz-sns-message-type", "x-amz-sns-subscription-arn"),
        ),
        handshake=functools.partial(subscription, mode),
    )
