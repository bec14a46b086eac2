"""Answers DynamoDB, SQS and Secrets Manager calls in-process, before anything is
sent, so a benchmark measures our code and botocore, not a network or moto."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HeadersDict


class _Raw:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _answer(target: str, request_body: dict[str, Any], secret_string: str) -> dict[str, Any]:
    operation = target.rsplit(".", 1)[-1]
    if operation == "SendMessage":
        digest = hashlib.md5(request_body["MessageBody"].encode(), usedforsecurity=False).hexdigest()
        return {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": digest}
    if operation == "GetSecretValue":
        return {"ARN": request_body["SecretId"], "Name": "source-secrets", "SecretString": secret_string}
    return {}  # PutItem, UpdateItem, DeleteItem: an empty success


def install(secret_string: str, session: boto3.session.Session | None = None) -> list[str]:
    """Answer every call of clients created from `session` (default: boto3's) from now on;
    the list returned records each call made (`dynamodb:UpdateItem`), for counting round trips."""
    if session is None:
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    assert session is not None

    def before_send(request: Any, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if not target:  # S3 (the archive's and claim-check's PUTs): a plain 200, no body
            return AWSResponse(request.url, 200, HeadersDict({"ETag": '"0"'}), _Raw(b""))  # type: ignore[arg-type]
        body = json.loads(request.body or b"{}")
        content = json.dumps(_answer(target, body, secret_string)).encode()
        return AWSResponse(request.url, 200, HeadersDict({"Content-Type": "application/x-amz-json-1.0"}), _Raw(content))  # type: ignore[arg-type]

    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}:{model.name}")

    # botocore sends nothing when a before-send handler returns a response.
    session.events.register("before-send", before_send)  # type: ignore[arg-type]
    session.events.register("before-call", record)
    return calls
