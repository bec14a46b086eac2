"""API Gateway REST proxy events, built from the committed example in events/."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def signature_headers() -> frozenset[str]:
    """The header of every kind and preset that carries a signature or credential."""
    from webhooks_cli.catalog import preset_sources

    headers = {"authorization"}
    for source in preset_sources().values():
        scheme = source.spec.scheme
        headers |= {scheme.signature_header, *getattr(scheme, "alternative_headers", ())}
    return frozenset(headers)


@cache
def _base_event() -> dict[str, Any]:
    return json.loads((EVENTS / "apigw-rest-webhook.json").read_text())  # type: ignore[no-any-return]


def rest_event(
    source: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    base64_encoded: bool = True,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends for `POST /webhooks/{source}`. With the API's
    `*/*` binary media type every body arrives base64-encoded."""
    event = copy.deepcopy(_base_event())
    all_headers = {**event["headers"], **(headers or {})}
    request_id = str(uuid.uuid4())
    event.update(
        path=f"/webhooks/{source}",
        httpMethod=method,
        headers=all_headers,
        multiValueHeaders={name: [value] for name, value in all_headers.items()},
        pathParameters={"source": source},
        body=base64.b64encode(body).decode() if base64_encoded else body.decode("utf-8"),
        isBase64Encoded=base64_encoded,
        queryStringParameters=query or None,
        multiValueQueryStringParameters={name: [value] for name, value in query.items()} if query else None,
    )
    event["requestContext"].update(path=f"/dev/webhooks/{source}", httpMethod=method, requestId=request_id)
    return event


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
