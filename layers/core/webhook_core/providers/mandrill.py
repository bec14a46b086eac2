"""Mandrill (Mailchimp Transactional): `X-Mandrill-Signature`, the base64 HMAC-SHA1 of
the webhook URL exactly as configured in Mandrill, followed by the POST parameters
sorted by name (each name then its value), keyed with the webhook's key.

Mandrill posts one parameter, `mandrill_events`, a JSON array of up to 1,000 events;
the type is the first event's `event` (message events) or `type` (sync events). No
event id is signed, and a message's events share its `_id`, so deliveries are told
apart by the digest of the parameters the signature covers.
"""

from __future__ import annotations

from webhook_core.providers.fields import EventFields
from webhook_core.providers.forms import FormScheme
from webhook_core.providers.spec import ProviderSpec

DOCS = "https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests"
EVENTS_PARAMETER = "mandrill_events"
TYPE_PATHS = ("0.event", "0.type")


def fields() -> EventFields:
    return EventFields(
        type_path=TYPE_PATHS[0],
        type_fallback_paths=TYPE_PATHS[1:],
        occurred_at_path="0.ts",
        resource_id_path="0._id",
        body_format="form",
        json_parameter=EVENTS_PARAMETER,
    )


def spec(url: str) -> ProviderSpec:
    return ProviderSpec(
        kind="mandrill",
        docs=DOCS,
        scheme=FormScheme(url=url, signature_header="x-mandrill-signature"),
        fields=fields(),
    )
