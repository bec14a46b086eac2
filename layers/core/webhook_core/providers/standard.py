"""Standard Webhooks (also Svix's scheme): `webhook-signature: v1,<base64>` over
`{webhook-id}.{webhook-timestamp}.{body}`, key = base64 after the `whsec_` prefix."""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec(
    tolerance_seconds: int = 300, header_prefix: str = "webhook", kind: str = "standard", type_path: str = "type"
) -> ProviderSpec:
    return ProviderSpec(
        kind=kind,
        docs="https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
        scheme=SignatureScheme(
            signature_header=f"{header_prefix}-signature",
            signature_format="versioned_list",
            encoding="base64",
            version="v1",
            timestamp_header=f"{header_prefix}-timestamp",
            id_header=f"{header_prefix}-id",
            signed_content="{id}.{timestamp}.{body}",
            key_format="whsec_base64",
            tolerance_seconds=tolerance_seconds,
        ),
        fields=EventFields(
            id_header=f"{header_prefix}-id",
            type_path=type_path,
            occurred_at_path="timestamp",
            occurred_at_format="iso8601",
            kept_headers=("content-type", "user-agent", f"{header_prefix}-id", f"{header_prefix}-timestamp"),
        ),
    )
