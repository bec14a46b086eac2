"""Public-key signatures (Discord, Telnyx): an Ed25519 signature over
`{timestamp}{body}` (or the provider's template), checked against the provider's
public key. Each "secret" of such a source is that public key, in hex or base64.

`cryptography` is imported on first use, so a stack without such a source never
pays for loading it on a cold start.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from webhook_core.errors import SignatureError
from webhook_core.providers.scheme import (
    NO_QUERY,
    PLACEHOLDER,
    Encoding,
    TimestampFormat,
    Verified,
    decode_signature,
    fill_template,
    format_timestamp,
    parse_timestamp,
)

KeyEncoding = Literal["hex", "base64"]
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


@dataclass(frozen=True, slots=True)
class Ed25519Scheme:
    signature_header: str = "x-signature-ed25519"
    timestamp_header: str | None = "x-signature-timestamp"
    encoding: Encoding = "hex"
    key_encoding: KeyEncoding = "hex"
    signed_content: str = "{timestamp}{body}"
    timestamp_format: TimestampFormat = "seconds"
    tolerance_seconds: int = 300
    id_header: str | None = None
    algorithm: str = "ed25519"
    _template: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = set(PLACEHOLDER.findall(self.signed_content))
        if "body" not in names or not names <= {"body", "timestamp"}:
            raise ValueError("signed_content must include {body} and may include {timestamp}, nothing else")
        if ("timestamp" in names) != (self.timestamp_header is not None):
            raise ValueError("a timestamp header and {timestamp} in signed_content go together")
        object.__setattr__(self, "_template", tuple(PLACEHOLDER.split(self.signed_content)))

    @property
    def has_timestamp(self) -> bool:
        return self.timestamp_header is not None

    @property
    def binds_body(self) -> bool:
        return True

    @property
    def signed_id_path(self) -> str | None:
        return None

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """Each public key as its 32 raw bytes; one that does not decode to that is None."""
        return tuple(_public_key_bytes(secret.strip(), self.key_encoding) for secret in secrets)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - see the module docstring
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: PLC0415

        header = headers.get(self.signature_header)
        if not header:
            raise SignatureError("missing_signature")
        signature = decode_signature(header.strip(), self.encoding)
        if signature is None or len(signature) != SIGNATURE_BYTES:
            raise SignatureError("malformed_signature")
        raw_timestamp = ""
        if self.timestamp_header is not None:
            raw_timestamp, sent_at = parse_timestamp(headers.get(self.timestamp_header), self.timestamp_format)
            if abs(now - sent_at) > self.tolerance_seconds:
                raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
        content = self._content(body, raw_timestamp)
        for index, key in enumerate(keys):
            if key is None:
                continue
            try:
                Ed25519PublicKey.from_public_bytes(key).verify(signature, content)
            except InvalidSignature:
                continue
            return Verified(secret_index=index, timestamp=int(sent_at) if raw_timestamp else None)
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """Signing needs the private key: `secret` here is the hex of its 32-byte seed."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

        try:
            seed = bytes.fromhex(secret)
        except ValueError:
            raise ValueError("an Ed25519 signing key is the hex of a 32-byte seed") from None
        private = Ed25519PrivateKey.from_private_bytes(seed)
        signature = private.sign(self._content(body, format_timestamp(timestamp, self.timestamp_format)))
        return signature.hex() if self.encoding == "hex" else base64.b64encode(signature).decode("ascii")

    def signed_query(self, body: bytes) -> dict[str, str]:
        return {}

    def _content(self, body: bytes, timestamp: str) -> bytes:
        return fill_template(self._template, {"body": body, "timestamp": timestamp.encode()})


def public_key_of(seed_hex: str, key_encoding: KeyEncoding = "hex") -> str:
    """The public key (as the provider shows it) of a signing seed: for dev stacks and tests."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import Encoding as KeyFormat  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import PublicFormat  # noqa: PLC0415

    public = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)).public_key()
    raw = public.public_bytes(KeyFormat.Raw, PublicFormat.Raw)
    return raw.hex() if key_encoding == "hex" else base64.b64encode(raw).decode("ascii")


def _public_key_bytes(secret: str, key_encoding: KeyEncoding) -> bytes | None:
    """The key's 32 bytes; None for one that is not a usable public key: the wrong size,
    not a point of the curve, or a point of small order, with which anyone can forge
    (the signature R = that point, S = 0 verifies for every message)."""
    try:
        raw = bytes.fromhex(secret) if key_encoding == "hex" else base64.b64decode(secret, validate=True)
    except (ValueError, binascii.Error):
        return None
    if len(raw) != PUBLIC_KEY_BYTES or not is_strong_public_key(raw):
        return None
    return raw


# The curve edwards25519 (RFC 8032 §5.1): -x^2 + y^2 = 1 + d x^2 y^2 over GF(p).
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_MINUS_ONE = pow(2, (_P - 1) // 4, _P)


def is_strong_public_key(encoded: bytes) -> bool:
    """Whether 32 bytes are the canonical encoding of a curve point whose order is not
    small (8 times it is not the identity). libsodium refuses the same keys; a key
    made by any Ed25519 implementation from a private key always passes. Pure Python:
    `cryptography` checks neither, and three doublings cost microseconds, once per key."""
    point = _decode_point(encoded)
    if point is None:
        return False
    for _ in range(3):
        point = _add(point, point)
    return point != (0, 1)


def _decode_point(encoded: bytes) -> tuple[int, int] | None:
    # RFC 8032 §5.1.3, rejecting non-canonical encodings.
    value = int.from_bytes(encoded, "little")
    sign, y = value >> 255, value & ((1 << 255) - 1)
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P != 0:
        x = x * _SQRT_MINUS_ONE % _P
        if (v * x * x - u) % _P != 0:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(first: tuple[int, int], second: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = first, second
    product = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + product, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - product, _P - 2, _P) % _P
    return x3, y3
