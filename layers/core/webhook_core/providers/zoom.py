"""Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}`, HMAC-SHA256
with the app's secret token; answers `endpoint.url_validation` with the token pair."""

from __future__ import annotations

from webhook_core.providers.fields import EventFields
from webhook_core.providers.handshakes import HANDSHAKES
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


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
        handshake=HANDSHAKES["zoom"],
    )
