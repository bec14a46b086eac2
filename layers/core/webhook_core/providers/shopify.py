"""Shopify: `X-Shopify-Hmac-Sha256: <base64>` HMAC-SHA256 of the body with the app's client secret."""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec() -> ProviderSpec:
    return ProviderSpec(
        kind="shopify",
        docs="https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook",
        scheme=SignatureScheme(signature_header="x-shopify-hmac-sha256", encoding="base64"),
        fields=EventFields(
            id_header="x-shopify-webhook-id",
            type_header="x-shopify-topic",
            resource_id_path="admin_graphql_api_id",
            kept_headers=(
                "content-type",
                "user-agent",
                "x-shopify-topic",
                "x-shopify-webhook-id",
                "x-shopify-shop-domain",
                "x-shopify-api-version",
                "x-shopify-triggered-at",
            ),
        ),
    )
