"""Stripe: `Stripe-Signature: t=<ts>,v1=<hex>` over `{t}.{body}` with the whsec_ text as key."""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec(tolerance_seconds: int = 300) -> ProviderSpec:
    return ProviderSpec(
        kind="stripe",
        docs="https://docs.stripe.com/webhooks#verify-manually",
        scheme=SignatureScheme(
            signature_header="stripe-signature",
            signature_format="keyed_list",
            signature_keys=("v1",),
            timestamp_key="t",
            signed_content="{timestamp}.{body}",
            tolerance_seconds=tolerance_seconds,
        ),
        fields=EventFields(
            id_path="id",
            type_path="type",
            occurred_at_path="created",
            resource_id_path="data.object.id",
        ),
    )
