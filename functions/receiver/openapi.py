"""Print the receiver's OpenAPI document, generated from its routes (`make openapi`).

Besides the route, the document describes what the processor's handlers receive: the
`Envelope` (components.schemas.Envelope, from the pydantic model itself) as an OpenAPI
3.1 top-level webhook, since it reaches the handlers from the queue, not over HTTP."""

from __future__ import annotations

import json
import sys
from typing import Any

from functions.receiver.app import app
from webhook_core import __version__
from webhook_core.envelope import Envelope

TITLE = "Serverless webhook receiver"
SCHEMA_REF = "#/components/schemas/{model}"
ENVELOPE_WEBHOOK = "envelope"


def envelope_schemas() -> dict[str, Any]:
    """The Envelope's JSON schema and those it refers to (BodyRef, Verification), each
    a component of its own: pydantic's `$defs` hoisted into components.schemas."""
    schema = Envelope.model_json_schema(ref_template=SCHEMA_REF)
    nested = schema.pop("$defs", {})
    return {**nested, Envelope.__name__: schema}


def envelope_webhook() -> dict[str, Any]:
    return {
        "post": {
            "summary": "What a handler receives: one envelope per accepted delivery",
            "description": (
                "Not an HTTP call: this is what the processor's handlers get from the queue, "
                "one envelope per SQS record (the message body is the envelope as JSON). A "
                "handler sees it as `event.envelope`; `id` is `<source>/<provider event id>`, "
                "stable across the provider's retries. The README's section 'Write a handler' "
                "says how handlers are chosen and what a failure does."
            ),
            "operationId": "handle_envelope",
            "requestBody": {
                "required": True,
                "description": "The SQS record's body",
                "content": {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model=Envelope.__name__)}}},
            },
            "responses": {
                "200": {"description": "The handler returned: the record is processed and leaves the queue"},
                "500": {
                    "description": (
                        "The handler raised: the record alone fails, SQS delivers it again, and after "
                        "MaxReceiveCount receives it moves to the dead-letter queue"
                    )
                },
            },
        }
    }


def document() -> str:
    generated: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=__version__,
            description=(
                "POST a provider's webhook to /webhooks/{source}; the README's section "
                "'The receiver contract' lists every answer. The webhook `envelope` "
                "describes what the processor's handlers receive from the queue."
            ),
        )
    )
    generated.setdefault("components", {}).setdefault("schemas", {}).update(envelope_schemas())
    generated["webhooks"] = {ENVELOPE_WEBHOOK: envelope_webhook()}
    return json.dumps(generated, indent=2)


if __name__ == "__main__":
    sys.stdout.write(document() + "\n")
