"""API Gateway REST proxy events for a signed delivery (what `sam local invoke -e` takes)."""

from __future__ import annotations

import base64
import copy
import time
import uuid
from typing import Any

from webhooks_cli.signing import Delivery


def rest_event(base: dict[str, Any], delivery: Delivery, stage: str = "dev") -> dict[str, Any]:
    """`base` (events/apigw-rest-webhook.json) filled in for `POST /webhooks/{source}`.
    The API's binary media type is */*, so the body is base64-encoded as AWS sends it."""
    event = copy.deepcopy(base)
    headers = {**event.get("headers", {}), **delivery.headers}
    now = time.time()
    event.update(
        path=f"/webhooks/{delivery.source}",
        httpMethod=delivery.method,
        queryStringParameters=delivery.query or None,
        multiValueQueryStringParameters={name: [value] for name, value in delivery.query.items()} or None,
        headers=headers,
        multiValueHeaders={name: [value] for name, value in headers.items()},
        pathParameters={"source": delivery.source},
        body=base64.b64encode(delivery.body).decode("ascii"),
        isBase64Encoded=True,
    )
    context = event.setdefault("requestContext", {})
    context.update(
        path=f"/{stage}/webhooks/{delivery.source}",
        stage=stage,
        httpMethod=delivery.method,
        requestId=str(uuid.uuid4()),
        requestTimeEpoch=int(now * 1000),
        requestTime=time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
    )
    return event
