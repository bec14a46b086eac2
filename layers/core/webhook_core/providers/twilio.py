"""Twilio: `X-Twilio-Signature`, the base64 HMAC of the public webhook URL followed by
the POST parameters sorted by name (each name then its value), keyed with the Auth
Token. JSON bodies are not parameters: Twilio appends `bodySHA256=<hex SHA-256 of
the body>` to the URL it signs, and the body must hash to it. HMAC-SHA1 unless a
Webhooks Rule signs with a SharedKey, which `X-Twilio-Webhooks-Signature-Settings`
announces (`algorithm=HMAC_SHA256`).

The URL is configured per source, never taken from the request: behind API Gateway
the Host header and the stage path are not what Twilio signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.forms import matching_key, sign_form, signed_form, url_variants
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, header_signature
from webhook_core.providers.spec import ProviderSpec

SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
BODY_HASH_PARAMETER = "bodySHA256"
_ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
# What a form post's type is read from, in order: what users route messages and calls on.
# (Event Streams and bodySHA256 JSON bodies name theirs in `type`.)
TYPE_PARAMETERS = ("MessageStatus", "SmsStatus", "CallStatus")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class TwilioScheme(TextSecretsUntimed):
    url: str
    signature_header: str = "x-twilio-signature"
    timestamp_header: str | None = None
    id_header: str | None = None
    tolerance_seconds: int = 0
    encoding: str = "base64"
    algorithm: str = "sha1"

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signature = header_signature(headers, self.signature_header)
        digest = _ALGORITHMS.get(_settings_algorithm(headers.get(SETTINGS_HEADER, "")))
        if digest is None:
            raise SignatureError("unsupported_algorithm")

        body_hash = query.get(BODY_HASH_PARAMETER)
        content_digest: str | None = None
        if body_hash is not None:
            # A hex SHA-256, or not Twilio's: checked before any comparison, which
            # would raise on text that is not ASCII.
            if not _SHA256_HEX.fullmatch(body_hash.strip()):
                raise SignatureError("malformed_signature")
            if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), body_hash.strip().lower()):
                raise SignatureError("signature_mismatch")
            contents = [url.encode() for url in url_variants(self._url_with_body_hash(body_hash.strip()))]
        else:
            # The signature binds the sorted parameters, not the bytes: a reordered copy
            # is the same delivery.
            contents, content_digest = signed_form(url_variants(self.url), body)

        index = matching_key(contents, signature, keys, digest)
        if index is None:
            raise SignatureError("signature_mismatch")
        return Verified(
            secret_index=index,
            content_digest=content_digest,
            body_format="json" if body_hash is not None else "form",
        )

    @property
    def binds_body(self) -> bool:
        return True

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """The signature of a JSON body (the URL carries its bodySHA256)."""
        url = self._url_with_body_hash(hashlib.sha256(body).hexdigest())
        mac = hmac.new(secret.encode(), url.encode(), getattr(hashlib, self.algorithm)).digest()
        return base64.b64encode(mac).decode("ascii")

    def sign_form(self, body: bytes, secret: str) -> str:
        """The signature of a form post: the URL followed by its sorted parameters."""
        return sign_form(self.url, body, secret, self.algorithm)

    def signed_query(self, body: bytes) -> dict[str, str]:
        return {BODY_HASH_PARAMETER: hashlib.sha256(body).hexdigest()}

    def _url_with_body_hash(self, body_hash: str) -> str:
        separator = "&" if urlsplit(self.url).query else "?"
        return f"{self.url}{separator}{BODY_HASH_PARAMETER}={body_hash}"


def _settings_algorithm(settings: str) -> str:
    # No header (or no algorithm in it) is the Auth Token and HMAC-SHA1.
    for part in settings.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def spec(url: str, fields: EventFields | None = None) -> ProviderSpec:
    return ProviderSpec(
        kind="twilio",
        docs="https://www.twilio.com/docs/usage/webhooks/webhooks-security",
        scheme=TwilioScheme(url=url),
        fields=fields
        or EventFields(
            id_header="i-twilio-idempotency-token",
            type_path="type",
            type_fallback_paths=TYPE_PARAMETERS,
            kept_headers=("content-type", "user-agent", "i-twilio-idempotency-token", SETTINGS_HEADER),
            body_format="form",
        ),
    )
