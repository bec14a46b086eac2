"""Shopify: `X-Shopify-Hmac-Sha256: <base64>` HMAC-SHA256 of the body with the app's client secret.

Shopify's newer Events deliveries send the same signature as `Shopify-Hmac-Sha256`
(no `X-` prefix): either header is read. The event id is `X-Shopify-Event-Id`, the
header Shopify names for spotting duplicates (several webhooks of one event share it);
the webhook's own id, `X-Shopify-Webhook-Id`, is kept in the envelope's headers.
"""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec() -> ProviderSpec:
    return ProviderSpec(
        kind="shopify",
        docs="https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook",
        scheme=SignatureScheme(
            signature_header="x-shopify-hmac-sha256",
            alternative_headers=("shopify-hmac-sha256",),
            encoding="base64",
        ),
        fields=EventFields(
            id_header="x-shopify-event-id",
            type_header="x-shopify-topic",
            resource_id_path="admin_graphql_api_id",
            kept_headers=(
                "content-type",
                "user-agent",
                "x-shopify-topic",
                "x-shopify-event-id",
                "x-shopify-webhook-id",
                "x-shopify-shop-domain",
                "x-shopify-api-version",
                "x-shopify-triggered-at",
            ),
        ),
    )
