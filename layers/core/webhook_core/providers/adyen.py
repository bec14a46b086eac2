"""Adyen standard webhooks: the signature travels inside the JSON body, one per item.

Adyen posts `{"live": "…", "notificationItems": [{"NotificationRequestItem": {…}}, …]}`.
Each item carries `additionalData.hmacSignature`: the base64 HMAC-SHA256, keyed with the
hex-decoded HMAC key of the webhook, of eight of its fields joined with `:`
(`pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
eventCode:success`, `value` and `currency` from `amount`, an absent field empty), as
https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures
and Adyen's SDK (Adyen.util.generate_notification_sig) compute it.

Every item must verify, under one key: Adyen's SDK checks the first item only, which
would let a forged item ride in a batch behind a genuine one. The rest of each item
(additionalData, reason, eventDate, paymentMethod, …) is not signed, so a delivery is
deduplicated on what the signatures cover: a captured notification replayed with other
unsigned data is the same delivery, never a new event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, decode_signature
from webhook_core.providers.spec import ProviderSpec

DOCS = "https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures"
ITEMS = "notificationItems"
ITEM = "NotificationRequestItem"
SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
FIRST_ITEM = f"{ITEMS}.0.{ITEM}"
# Adyen batches a few items at most; bounding them bounds the work per request.
MAX_ITEMS = 64
_HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")
SHA256_BYTES = 32


@dataclass(frozen=True, slots=True)
class AdyenScheme(TextSecretsUntimed):
    # Where the signature is, for the tools that describe a scheme: inside each item.
    signature_header: str = ""
    timestamp_header: str | None = None
    id_header: str | None = None
    tolerance_seconds: int = 0
    encoding: str = "base64"
    algorithm: str = "sha256"
    signed_content: str = ":".join(f"{{{name}}}" for name in SIGNED_FIELDS) + " of each item"

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """The HMAC key as Adyen shows it is hex; anything else is no key."""
        return tuple(
            bytes.fromhex(secret.strip()) if _HEX_KEY.fullmatch(secret.strip()) else None for secret in secrets
        )

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signed = [(signing_string(item), _signature_of(item)) for item in _items(body)]
        for index, key in enumerate(keys):
            if key is None:
                continue
            # Every item is compared, whatever the earlier ones gave: the work does not
            # depend on which item fails.
            matched = True
            for content, signature in signed:
                expected = hmac.new(key, content, hashlib.sha256).digest()
                matched &= hmac.compare_digest(expected, signature)
            if matched:
                covered = hashlib.sha256(b"\n".join(content for content, _ in signed)).hexdigest()
                return Verified(secret_index=index, content_digest=covered, body_format="json")
        raise SignatureError("signature_mismatch")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """The signature of the first item of `body`, as Adyen makes it."""
        return self._signature(_items(body)[0], secret)

    def sign_body(self, body: bytes, secret: str) -> bytes:
        """`body` with every item's `additionalData.hmacSignature` as Adyen would set it."""
        _items(body)  # a body that is not a notification has nothing to sign
        document = json.loads(body)
        for entry in document[ITEMS]:
            item = entry[ITEM]
            item.setdefault("additionalData", {})["hmacSignature"] = self._signature(item, secret)
        return json.dumps(document).encode()

    def _signature(self, item: dict[str, Any], secret: str) -> str:
        (key,) = self.derive_keys([secret])
        if key is None:
            raise ValueError("an Adyen HMAC key is hexadecimal")
        return base64.b64encode(hmac.new(key, signing_string(item), hashlib.sha256).digest()).decode("ascii")


def signing_string(item: dict[str, Any]) -> bytes:
    """The eight signed fields of an item joined with `:`; an absent one is empty."""
    amount = item.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    values = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    return ":".join(_field_text(values.get(name)) for name in SIGNED_FIELDS).encode("utf-8", "surrogatepass")


def _field_text(value: Any) -> str:
    # Adyen sends these as JSON strings, the amount's value as an integer (minor units).
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SignatureError("malformed_signature")


def _items(body: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise SignatureError("missing_signature") from None
    listed = document.get(ITEMS) if isinstance(document, dict) else None
    if listed is None:
        raise SignatureError("missing_signature")
    if not isinstance(listed, list) or not listed or len(listed) > MAX_ITEMS:
        raise SignatureError("malformed_signature")
    items: list[dict[str, Any]] = []
    for entry in listed:
        item = entry.get(ITEM) if isinstance(entry, dict) else None
        if not isinstance(item, dict):
            raise SignatureError("malformed_signature")
        items.append(item)
    return items


def _signature_of(item: dict[str, Any]) -> bytes:
    additional = item.get("additionalData")
    sent = additional.get("hmacSignature") if isinstance(additional, dict) else None
    if sent is None:
        raise SignatureError("missing_signature")
    decoded = decode_signature(sent, "base64") if isinstance(sent, str) else None
    if decoded is None:
        raise SignatureError("malformed_signature")
    return decoded


def spec() -> ProviderSpec:
    return ProviderSpec(
        kind="adyen",
        docs=DOCS,
        scheme=AdyenScheme(),
        fields=EventFields(
            type_path=f"{FIRST_ITEM}.eventCode",
            occurred_at_path=f"{FIRST_ITEM}.eventDate",
            occurred_at_format="iso8601",
            resource_id_path=f"{FIRST_ITEM}.pspReference",
        ),
    )
