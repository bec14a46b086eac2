"""The signature engine: one verifier that every HMAC-based kind configures.

A kind is data (a `SignatureScheme` plus `EventFields`), never new verification
code, so adding a provider means writing its spec and its test vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from webhook_core.bodies import BodyFormat
from webhook_core.errors import SignatureError
from webhook_core.text import sent_bytes

Algorithm = Literal["sha1", "sha256", "sha512"]
# base64url: URL-safe base64 without padding, as Sanity writes it.
Encoding = Literal["hex", "base64", "base64url"]
SignatureFormat = Literal["plain", "list", "keyed_list", "versioned_list"]
KeyFormat = Literal["text", "base64", "whsec_base64"]
# How the timestamp is written: Unix seconds, Unix milliseconds (HubSpot, Webflow) or
# RFC 3339 (Twitch, Zendesk). The signed content always uses the text exactly as sent.
TimestampFormat = Literal["seconds", "millis", "iso8601"]
NO_QUERY: Mapping[str, str] = {}

PLACEHOLDER = re.compile(r"\{(body|timestamp|id|url)\}")
ANY_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# A header can list a few signatures during a provider's own key rotation; more
# than this is not a real delivery, and bounding it bounds the work per request.
MAX_CANDIDATES = 16


class Scheme(Protocol):
    """What the receiver and the tools ask of any kind's scheme (HMAC, token, …)."""

    @property
    def signature_header(self) -> str: ...

    @property
    def timestamp_header(self) -> str | None: ...

    @property
    def id_header(self) -> str | None: ...

    @property
    def tolerance_seconds(self) -> int: ...

    @property
    def encoding(self) -> str: ...

    @property
    def has_timestamp(self) -> bool: ...

    @property
    def binds_body(self) -> bool:
        """Whether the signature covers the body (a static token or Basic credentials do not)."""
        ...

    @property
    def signed_id_path(self) -> str | None:
        """Where in the body an id the signature covers is, for schemes that sign a part
        of the body and not the rest (Mailgun's token); None for the others."""
        ...

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]: ...

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified: ...

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str: ...

    def signed_query(self, body: bytes) -> dict[str, str]:
        """Query parameters the sender adds to the URL for this body (Twilio's bodySHA256)."""
        ...

    def __hash__(self) -> int: ...


class TextSecretsUntimed:
    """What schemes share whose secrets are keys as they are and that sign no timestamp
    (a static token, Basic credentials, Twilio's Auth Token)."""

    __slots__ = ()

    @property
    def has_timestamp(self) -> bool:
        return False

    @property
    def binds_body(self) -> bool:
        return False

    @property
    def signed_id_path(self) -> str | None:
        return None

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        return tuple(secret.encode() if secret else None for secret in secrets)

    def signed_query(self, body: bytes) -> dict[str, str]:
        return {}


class SignsBodyWithTimestamp:
    """What schemes share that sign the body with a timestamp, name no id inside the body
    and add nothing to the URL (SendGrid, PayPal; SNS signs its fields, not the bytes)."""

    __slots__ = ()

    @property
    def has_timestamp(self) -> bool:
        return True

    @property
    def binds_body(self) -> bool:
        return True

    @property
    def signed_id_path(self) -> str | None:
        return None

    def signed_query(self, body: bytes) -> dict[str, str]:
        return {}


def accepted_names(secrets: Sequence[str], pattern: re.Pattern[str]) -> tuple[bytes | None, ...]:
    """Secrets that are names the provider signs rather than keys (SNS TopicArns, PayPal
    webhook ids): each as its bytes, one that is not such a name None."""
    return tuple(secret.strip().encode() if pattern.fullmatch(secret.strip()) else None for secret in secrets)


@dataclass(frozen=True, slots=True)
class Verified:
    """Proof that a request is genuine: which of the source's secrets matched.

    A scheme whose signature does not bind the raw bytes (Twilio's form posts sign
    the sorted parameters) names the digest of what it does bind, so a reordered
    copy of a delivery is still the same delivery; and a scheme that proves how the
    body is encoded (Twilio's signed bodySHA256: JSON) says so."""

    secret_index: int
    timestamp: int | None = None
    content_digest: str | None = None
    body_format: BodyFormat | None = None


@dataclass(frozen=True, slots=True)
class SignatureScheme:
    """How a sender signs a request, as the provider documents it.

    signed_content is a template over the raw body and the values the scheme
    signs with it: `{body}`, `{timestamp}`, `{id}` (the event id header).
    Header names are matched case-insensitively.
    """

    signature_header: str
    # Other headers that carry a signature, read after signature_header in this order:
    # another name for the same signature (Shopify's Events deliveries, `Shopify-Hmac-Sha256`)
    # or one signature per key (DocuSign's `X-DocuSign-Signature-2`, Box's secondary key).
    # Every signature found in any of them is compared with every key.
    alternative_headers: tuple[str, ...] = ()
    algorithm: Algorithm = "sha256"
    encoding: Encoding = "hex"
    signature_format: SignatureFormat = "plain"
    # plain: the header is `<prefix><signature>`; list: `<prefix><signature>` items separated
    # by list_separator, one per secret the provider signs with (Cronofy while an
    # application has several active client secrets).
    prefix: str = ""
    # keyed_list (Stripe `t=…,v1=…`): keys whose values are signatures, and the separator.
    signature_keys: tuple[str, ...] = ()
    list_separator: str = ","
    timestamp_key: str | None = None
    # versioned_list (Standard Webhooks `v1,<sig> v1,<sig>`): the version accepted.
    version: str = "v1"
    timestamp_header: str | None = None
    id_header: str | None = None
    signed_content: str = "{body}"
    # The public URL the provider signs with (Square: the notification URL), configured
    # per source: behind API Gateway the request's own Host and path are not what was signed.
    url: str = ""
    key_format: KeyFormat = "text"
    timestamp_format: TimestampFormat = "seconds"
    tolerance_seconds: int = 300
    _template: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = scheme_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        object.__setattr__(self, "_template", tuple(PLACEHOLDER.split(self.signed_content)))

    @property
    def has_timestamp(self) -> bool:
        return self.timestamp_header is not None or self.timestamp_key is not None

    @property
    def binds_body(self) -> bool:
        return True

    @property
    def signed_id_path(self) -> str | None:
        return None

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """Turn configured secrets into HMAC keys; an undecodable one becomes None."""
        return tuple(_derive_key(secret, self.key_format) for secret in secrets)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        """Return which key signed this request, or raise SignatureError.

        `headers` must have lower-case names. Every candidate signature is
        compared with every key in constant time.
        """
        sent = [value for name in (self.signature_header, *self.alternative_headers) if (value := headers.get(name))]
        if not sent:
            raise SignatureError("missing_signature")
        candidates: list[bytes] = []
        header_timestamp: str | None = None
        for header in sent:
            found, timestamp_in_header = self._parse_header(header)
            candidates += found
            header_timestamp = header_timestamp or timestamp_in_header
        del candidates[MAX_CANDIDATES:]
        if not candidates:
            raise SignatureError("malformed_signature")

        timestamp: int | None = None
        raw_timestamp = ""
        if self.has_timestamp:
            sent_timestamp = (
                header_timestamp if self.timestamp_key is not None else headers.get(self.timestamp_header or "")
            )
            raw_timestamp, sent_at = parse_timestamp(sent_timestamp, self.timestamp_format)
            if abs(now - sent_at) > self.tolerance_seconds:
                raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
            timestamp = int(sent_at)

        event_id = headers.get(self.id_header, "") if self.id_header else ""
        if self.id_header and not event_id:
            raise SignatureError("missing_signed_header")
        content = self._signed_content(body, raw_timestamp, event_id)

        digest = getattr(hashlib, self.algorithm)
        for index, key in enumerate(keys):
            if key is None:
                continue
            expected = hmac.new(key, content, digest).digest()
            # No early exit inside the candidate loop: each comparison is constant-time
            # and the number of comparisons does not depend on which one matched.
            matched = False
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
            if matched:
                return Verified(secret_index=index, timestamp=timestamp)
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """The header value this scheme's sender would send (for tests and tools)."""
        key = _derive_key(secret, self.key_format)
        if key is None:
            raise ValueError("secret is not in this scheme's encoding")
        content = self._signed_content(body, format_timestamp(timestamp, self.timestamp_format), event_id)
        mac = hmac.new(key, content, getattr(hashlib, self.algorithm)).digest()
        encoded = encode_signature(mac, self.encoding)
        if self.signature_format == "keyed_list":
            parts = []
            if self.timestamp_key is not None:
                parts.append(f"{self.timestamp_key}={format_timestamp(timestamp, self.timestamp_format)}")
            parts.append(f"{self.signature_keys[0]}={encoded}")
            return self.list_separator.join(parts)
        if self.signature_format == "versioned_list":
            return f"{self.version},{encoded}"
        return f"{self.prefix}{encoded}"

    def signed_query(self, body: bytes) -> dict[str, str]:
        return {}

    def _signed_content(self, body: bytes, timestamp: str, event_id: str) -> bytes:
        values = {
            "body": body,
            "timestamp": timestamp.encode(),
            "id": sent_bytes(event_id),
            "url": self.url.encode(),
        }
        return fill_template(self._template, values)

    def _parse_header(self, header: str) -> tuple[list[bytes], str | None]:
        encoded: list[str] = []
        timestamp: str | None = None
        if self.signature_format in {"plain", "list"}:
            items = (
                [header]
                if self.signature_format == "plain"
                else header.split(self.list_separator, MAX_CANDIDATES)[:MAX_CANDIDATES]
            )
            for item in items:
                value = item.strip()
                if value.startswith(self.prefix):
                    encoded.append(value[len(self.prefix) :])
        elif self.signature_format == "keyed_list":
            for item in header.split(self.list_separator):
                key, sep, value = item.strip().partition("=")
                if not sep:
                    continue
                if key == self.timestamp_key:
                    timestamp = value
                elif key in self.signature_keys:
                    encoded.append(value)
        else:
            for item in header.split():
                version, sep, value = item.partition(",")
                if sep and version == self.version:
                    encoded.append(value)
        decoded = [decode_signature(value, self.encoding) for value in encoded[:MAX_CANDIDATES]]
        return [value for value in decoded if value], timestamp


def fill_template(parts: Sequence[str], values: Mapping[str, bytes]) -> bytes:
    """The signed bytes from a template split by PLACEHOLDER: split() with one capture
    group alternates literal text and placeholder names."""
    return b"".join(values[part] if position % 2 else part.encode() for position, part in enumerate(parts))


def scheme_problems(scheme: SignatureScheme) -> list[str]:
    """What is wrong with a scheme, in words a source's author can act on."""
    problems = []
    names = ANY_PLACEHOLDER.findall(scheme.signed_content)
    unknown = sorted(set(names) - {"body", "timestamp", "id", "url"})
    if unknown:
        problems.append(
            f"signed_content has unknown placeholders {unknown}; use {{body}}, {{timestamp}}, {{id}}, {{url}}"
        )
    if "body" not in names:
        problems.append("signed_content must include {body}")
    if scheme.has_timestamp and "timestamp" not in names:
        problems.append("a timestamp that is not in signed_content is not signed; add {timestamp}")
    if "timestamp" in names and not scheme.has_timestamp:
        problems.append("signed_content uses {timestamp} but no timestamp header is configured")
    if "url" in names and not scheme.url:
        problems.append("signed_content uses {url} but no url is configured")
    if "id" in names and scheme.id_header is None:
        problems.append("signed_content uses {id} but no id header is configured")
    if len({scheme.signature_header, *scheme.alternative_headers}) != 1 + len(scheme.alternative_headers):
        problems.append("alternative_headers must differ from the signature header and from each other")
    if scheme.signature_format == "keyed_list" and not scheme.signature_keys:
        problems.append("a keyed_list signature needs signature_keys")
    if scheme.timestamp_format != "seconds" and not scheme.has_timestamp:
        problems.append("timestamp_format is set but no timestamp header is configured")
    if scheme.tolerance_seconds < 1:
        problems.append("tolerance_seconds must be at least 1")
    return problems


def _derive_key(secret: str, encoding: KeyFormat) -> bytes | None:
    if not secret:
        return None
    if encoding == "text":
        return secret.encode()
    # Standard Webhooks: `whsec_` followed by the base64 of the key bytes; some
    # providers (Airtable) hand out the base64 alone.
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def encode_signature(mac: bytes, encoding: Encoding) -> str:
    if encoding == "hex":
        return mac.hex()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")
    return base64.b64encode(mac).decode("ascii")


def matching_secret(presented: bytes, expected: Iterable[bytes | None]) -> int:
    """The index of the first of `expected` (one per secret, None for a secret the kind
    cannot use) equal to `presented`: every one is compared, in constant time, so the time
    taken does not say which matched; `signature_mismatch` when none does."""
    matched_index = -1
    for index, candidate in enumerate(expected):
        if candidate is not None and hmac.compare_digest(presented, candidate) and matched_index < 0:
            matched_index = index
    if matched_index < 0:
        raise SignatureError("signature_mismatch")
    return matched_index


def header_signature(
    headers: Mapping[str, str], name: str, encoding: Encoding = "base64", *, max_bytes: int | None = None
) -> bytes:
    """The signature the header `name` carries, decoded: `missing_signature` when the
    header is absent or empty, `malformed_signature` when it is not one (not canonically
    encoded, or longer than `max_bytes`, which bounds the work a request can cause)."""
    header = headers.get(name)
    if not header:
        raise SignatureError("missing_signature")
    signature = decode_signature(header.strip(), encoding)
    if signature is None or (max_bytes is not None and len(signature) > max_bytes):
        raise SignatureError("malformed_signature")
    return signature


def decode_signature(value: str, encoding: Encoding) -> bytes | None:
    """Only the canonical encoding of a signature is one: bytes.fromhex would skip
    spaces and base64 ignores the padding bits of its last character, either of
    which would let a changed header still verify."""
    if encoding == "hex":
        return bytes.fromhex(value) if _HEX.fullmatch(value) else None
    if encoding == "base64url":
        # Unpadded: a length of 1 mod 4 is no encoding at all.
        if not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
            return None
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return decoded if encode_signature(decoded, "base64url") == value else None
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if base64.b64encode(decoded).decode("ascii") == value else None


MAX_TIMESTAMP_CHARS = 40


def parse_timestamp(raw: str | None, timestamp_format: TimestampFormat = "seconds") -> tuple[str, float]:
    """The timestamp as sent (what the provider signed) and as Unix seconds."""
    if raw is None or not raw.strip():
        raise SignatureError("missing_timestamp")
    value = raw.strip()
    if not value.isascii() or len(value) > MAX_TIMESTAMP_CHARS:
        raise SignatureError("malformed_timestamp")
    if timestamp_format == "iso8601":
        return value, _iso_seconds(value)
    if not value.isdigit() or len(value) > (15 if timestamp_format == "millis" else 12):
        raise SignatureError("malformed_timestamp")
    return value, int(value) / 1000 if timestamp_format == "millis" else float(int(value))


def format_timestamp(timestamp: int | None, timestamp_format: TimestampFormat = "seconds") -> str:
    """How a sender writes `timestamp` (Unix seconds) in this format."""
    if timestamp is None:
        return "None"
    if timestamp_format == "millis":
        return str(timestamp * 1000)
    if timestamp_format == "iso8601":
        return datetime.fromtimestamp(timestamp, tz=UTC).isoformat().replace("+00:00", "Z")
    return str(timestamp)


_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def _iso_seconds(value: str) -> float:
    # RFC 3339 as Twitch writes it can carry nanoseconds, which datetime cannot parse.
    match = _ISO.fullmatch(value)
    if match is None:
        raise SignatureError("malformed_timestamp")
    whole, fraction, zone = match.groups()
    try:
        parsed = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        raise SignatureError("malformed_timestamp") from None
    return parsed.timestamp() + (float(fraction) if fraction else 0.0)
