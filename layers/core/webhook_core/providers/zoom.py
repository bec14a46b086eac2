"""Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}`, HMAC-SHA256
with the app's secret token; answers `endpoint.url_validation` with the token pair."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def url_validation(document: Any, key: bytes) -> dict[str, Any] | None:
    if not isinstance(document, dict) or document.get("event") != "endpoint.url_validation":
        return None
    payload = document.get("payload")
    plain = payload.get("plainToken") if isinstance(payload, dict) else None
    if not isinstance(plain, str):
        return None
    return {"plainToken": plain, "encryptedToken": hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()}


def spec(tolerance_seconds: int = 300) -> ProviderSpec:
    return ProviderSpec(
        kind="zoom",
        docs="https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
        scheme=SignatureScheme(
            signature_header="x-zm-signature",
            prefix="v0=",
            timestamp_header="x-zm-request-timestamp",
            signed_content="v0:{timestamp}:{body}",
            tolerance_seconds=tolerance_seconds,
        ),
        fields=EventFields(
            type_path="event",
            occurred_at_path="event_ts",
            occurred_at_format="epoch_millis",
            resource_id_path="payload.object.id",
        ),
        handshake=url_validation,
    )
