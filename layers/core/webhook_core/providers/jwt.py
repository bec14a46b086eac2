"""A JSON Web Token (RFC 7519) in a header, HS256 (HMAC-SHA256) with a shared secret:
monday.com's `Authorization` header on every request to an app's endpoint, signed with
the app's Signing Secret (board webhooks, integration actions) or its Client Secret
(app lifecycle webhooks), as https://developer.monday.com/apps/docs/authorization-header
prescribes checking it: the signature, `exp`, and `aud` against the endpoint's URL.

Only HS256 is accepted, whatever the token's header names: a token naming `none` or
another algorithm is refused before any key is tried (the "alg" confusion attacks).
The token carries no digest of the body, so, as with a static token, a captured
request could be replayed with another body until the token expires; deliveries are
deduplicated on the body's digest, and `exp` (required) bounds the replay window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, matching_secret
from webhook_core.providers.spec import ProviderSpec

DOCS = "https://datatracker.ietf.org/doc/html/rfc7519"
ALGORITHM = "HS256"
# A token longer than this is not a real one; bounding it bounds the work.
MAX_TOKEN = 8192
# How long a token `sign` makes stays valid: monday.com's tokens live 300 s (exp - iat).
SIGNED_LIFETIME = 300


@dataclass(frozen=True, slots=True)
class JwtScheme(TextSecretsUntimed):
    """`audience`: the `aud` the token must name (monday.com: the endpoint's URL); None
    leaves `aud` unchecked. `tolerance_seconds`: the clock skew allowed on `exp`, `nbf`
    and `iat`."""

    signature_header: str = "authorization"
    audience: str | None = None
    tolerance_seconds: int = 60
    timestamp_header: str | None = None
    id_header: str | None = None
    encoding: str = "jwt"

    @property
    def has_timestamp(self) -> bool:  # the token's exp and iat, not a header
        return True

    @property
    def algorithm(self) -> str:  # what the tools show
        return "jwt-hs256"

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        value = headers.get(self.signature_header, "").strip()
        if not value:
            raise SignatureError("missing_signature")
        token = _without_bearer(value)
        if len(token) > MAX_TOKEN:
            raise SignatureError("malformed_signature")
        signing_input, signature, header, claims = _parts(token)
        if header.get("alg") != ALGORITHM:
            raise SignatureError("malformed_signature")
        expected = (None if key is None else hmac.new(key, signing_input, hashlib.sha256).digest() for key in keys)
        matched_index = matching_secret(signature, expected)
        self._check_claims(claims, now)
        return Verified(secret_index=matched_index)

    def _check_claims(self, claims: dict[str, Any], now: float) -> None:
        expires = _numeric_date(claims, "exp")
        if expires is None:  # a token that never expires could be replayed for ever
            raise SignatureError("missing_timestamp")
        if now > expires + self.tolerance_seconds:
            raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - expires)
        for claim in ("nbf", "iat"):
            not_before = _numeric_date(claims, claim)
            if not_before is not None and not_before > now + self.tolerance_seconds:
                raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - not_before)
        if self.audience is not None:
            audience = claims.get("aud")
            named = audience if isinstance(audience, list) else [audience]
            if self.audience not in named:
                raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """A token as monday.com makes one (for `webhooks send`): issued at `timestamp`."""
        issued = int(timestamp or 0)
        claims: dict[str, Any] = {"iat": issued, "exp": issued + SIGNED_LIFETIME}
        if self.audience is not None:
            claims["aud"] = self.audience
        return encode(claims, secret.encode())


def encode(claims: dict[str, Any], key: bytes) -> str:
    header = _segment(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _segment(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_segment(hmac.new(key, signing_input, hashlib.sha256).digest())}"


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _without_bearer(value: str) -> str:
    # monday.com sends the bare token; other senders put it after "Bearer ".
    scheme, _, rest = value.partition(" ")
    return rest.strip() if rest and scheme.lower() == "bearer" else value


def _decoded(segment: str) -> bytes:
    """A base64url segment without padding, canonical only: one token has one spelling."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("malformed_signature") from None
    if _segment(raw) != segment:
        raise SignatureError("malformed_signature")
    return raw


def _parts(token: str) -> tuple[bytes, bytes, dict[str, Any], dict[str, Any]]:
    """(signing input, signature, header, claims) of a compact JWS, or SignatureError."""
    segments = token.split(".")
    if len(segments) != 3 or not all(segments) or not token.isascii():  # header.payload.signature
        raise SignatureError("malformed_signature")
    documents = []
    for segment in segments[:2]:
        try:
            document = json.loads(_decoded(segment))
        except (ValueError, RecursionError):
            raise SignatureError("malformed_signature") from None
        if not isinstance(document, dict):
            raise SignatureError("malformed_signature")
        documents.append(document)
    signing_input = f"{segments[0]}.{segments[1]}".encode("ascii")
    return signing_input, _decoded(segments[2]), documents[0], documents[1]


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # JSON's NaN or Infinity would compare as neither before nor after now.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SignatureError("malformed_timestamp")
    return float(value)


def spec(fields: EventFields, *, header: str, audience: str | None, tolerance_seconds: int) -> ProviderSpec:
    return ProviderSpec(
        kind="jwt",
        docs=DOCS,
        scheme=JwtScheme(signature_header=header.lower(), audience=audience, tolerance_seconds=tolerance_seconds),
        fields=fields,
    )
