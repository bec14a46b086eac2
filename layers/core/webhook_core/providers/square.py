"""Square: `x-square-hmacsha256-signature: <base64>` HMAC-SHA256 of the subscription's
notification URL followed by the body, with the subscription's signature key."""

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec


def spec(notification_url: str) -> ProviderSpec:
    return ProviderSpec(
        kind="square",
        docs="https://developer.squareup.com/docs/webhooks/step3validate",
        scheme=SignatureScheme(
            signature_header="x-square-hmacsha256-signature",
            encoding="base64",
            signed_content="{url}{body}",
            url=notification_url,
        ),
        fields=EventFields(
            id_path="event_id",
            type_path="type",
            occurred_at_path="created_at",
            occurred_at_format="iso8601",
            resource_id_path="data.id",
        ),
    )
