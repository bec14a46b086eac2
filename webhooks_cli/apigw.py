"""API Gateway REST proxy events, built from the committed example in events/: the one
builder for `webhooks sam-events` (what `sam local invoke -e` takes) and the tests."""

from __future__ import annotations

import base64
import copy
import time
import uuid
from typing import Any

from webhooks_cli.signing import Delivery


def proxy_event(
    base: dict[str, Any],
    source: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    method: str = "POST",
    query: dict[str, str] | None = None,
    base64_encoded: bool = True,
    stage: str = "dev",
) -> dict[str, Any]:
    """`base` (events/apigw-rest-webhook.json) filled in for `METHOD /webhooks/{source}`.
    The API's binary media type is */*, so every body arrives base64-encoded."""
    event = copy.deepcopy(base)
    all_headers = {**event.get("headers", {}), **(headers or {})}
    now = time.time()
    event.update(
        path=f"/webhooks/{source}",
        httpMethod=method,
        queryStringParameters=query or None,
        multiValueQueryStringParameters={name: [value] for name, value in query.items()} if query else None,
        headers=all_headers,
        multiValueHeaders={name: [value] for name, value in all_headers.items()},
        pathParameters={"source": source},
        body=base64.b64encode(body).decode("ascii") if base64_encoded else body.decode("utf-8"),
        isBase64Encoded=base64_encoded,
    )
    context = event.setdefault("requestContext", {})
    context.update(
        path=f"/{stage}/webhooks/{source}",
        stage=stage,
        httpMethod=method,
        requestId=str(uuid.uuid4()),
        requestTimeEpoch=int(now * 1000),
        requestTime=time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
    )
    return event


def rest_event(base: dict[str, Any], delivery: Delivery, stage: str = "dev") -> dict[str, Any]:
    """The event API Gateway sends for a signed delivery."""
    return proxy_event(
        base,
        delivery.source,
        delivery.body,
        delivery.headers,
        method=delivery.method,
        query=delivery.query,
        stage=stage,
    )
