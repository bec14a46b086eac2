"""Paddle Billing: `Paddle-Signature: ts=<ts>;h1=<hex>` (several h1 during a secret
rotation), HMAC-SHA256 of `{ts}:{body}` with the notification destination's secret."""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec(tolerance_seconds: int = 5) -> ProviderSpec:
    return ProviderSpec(
        kind="paddle",
        docs="https://developer.paddle.com/webhooks/signature-verification",
        scheme=SignatureScheme(
            signature_header="paddle-signature",
            signature_format="keyed_list",
            list_separator=";",
            signature_keys=("h1",),
            timestamp_key="ts",
            signed_content="{timestamp}:{body}",
            tolerance_seconds=tolerance_seconds,
        ),
        fields=EventFields(
            id_path="event_id",
            type_path="event_type",
            occurred_at_path="occurred_at",
            occurred_at_format="iso8601",
            resource_id_path="data.id",
        ),
    )
