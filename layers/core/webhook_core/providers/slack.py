"""Slack Events API: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`,
HMAC-SHA256 with the app's signing secret; answers the signed `url_verification` challenge."""

from __future__ import annotations

from webhook_core.providers.fields import EventFields
from webhook_core.providers.handshakes import HANDSHAKES
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec(tolerance_seconds: int = 300) -> ProviderSpec:
    return ProviderSpec(
        kind="slack",
        docs="https://api.slack.com/authentication/verifying-requests-from-slack",
        scheme=SignatureScheme(
            signature_header="x-slack-signature",
            prefix="v0=",
            timestamp_header="x-slack-request-timestamp",
            signed_content="v0:{timestamp}:{body}",
            tolerance_seconds=tolerance_seconds,
        ),
        # Retries (X-Slack-Retry-Num) carry the same event_id, so they dedupe.
        fields=EventFields(
            id_path="event_id",
            type_path="event.type",
            occurred_at_path="event_time",
            kept_headers=("content-type", "user-agent", "x-slack-retry-num", "x-slack-retry-reason"),
        ),
        handshake=HANDSHAKES["slack"],
    )
