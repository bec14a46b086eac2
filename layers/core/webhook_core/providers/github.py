"""GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body. No timestamp in the scheme."""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec() -> ProviderSpec:
    return ProviderSpec(
        kind="github",
        docs="https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
        scheme=SignatureScheme(signature_header="x-hub-signature-256", prefix="sha256="),
        fields=EventFields(
            id_header="x-github-delivery",
            type_header="x-github-event",
            resource_id_path="repository.full_name",
            kept_headers=(
                "content-type",
                "user-agent",
                "x-github-event",
                "x-github-delivery",
                "x-github-hook-id",
                "x-github-hook-installation-target-id",
            ),
        ),
    )
