"""Hostile input over a real socket: each request gets a clear 4xx (or the gateway's own
refusal), nothing is written or queued (but a 401's capped keep for `webhooks rejected`),
and the stack keeps serving."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_local_stack import SOURCES, post, secret
from tests.support.devstack import DevStack
from webhook_core.rejected import COUNTER_PREFIX
from webhook_core.settings import MAX_BODY_LIMIT
from webhooks_cli import signing


def _stores(stack: DevStack) -> tuple[int, int]:
    """(ledger table items, queued messages) in the stack's emulator. A 401 is kept for
    `webhooks rejected` (its counter item, capped per source and minute): not counted here."""
    state = json.loads(stack.state_file.read_text())
    dynamodb: Any = stack.aws("dynamodb")
    sqs: Any = stack.aws("sqs")
    table = next(name for name in dynamodb.list_tables()["TableNames"] if name.endswith("LedgerTable"))
    records = dynamodb.scan(
        TableName=table,
        Select="COUNT",
        FilterExpression="NOT begins_with(id, :rejected)",
        ExpressionAttributeValues={":rejected": {"S": COUNTER_PREFIX}},
    )["Count"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=state["queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return records, sum(int(value) for value in attributes.values())


def _request(stack: DevStack, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
    host, port = stack.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _raw(stack: DevStack, data: bytes) -> int:
    """Bytes no HTTP library would send (header injection, duplicated headers)."""
    host, port = stack.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


HOSTILE: dict[str, Any] = {
    "body over the size limit": lambda s: _request(s, "POST", "/webhooks/github", b"x" * (MAX_BODY_LIMIT + 1)),
    "invalid UTF-8 body": lambda s: _request(s, "POST", "/webhooks/github", b"\xff\xfe\xfa" * 100),
    "not JSON": lambda s: _request(s, "POST", "/webhooks/stripe", b"<xml>hello</xml>"),
    "deeply nested JSON": lambda s: _request(s, "POST", "/webhooks/stripe", nested(100_000)),
    "a huge header": lambda s: _request(s, "POST", "/webhooks/github", b"{}", {"X-Hub-Signature-256": "a" * 60_000}),
    "an unknown source": lambda s: _request(s, "POST", "/webhooks/nobody", b"{}"),
    "a source name with traversal": lambda s: _request(s, "POST", "/webhooks/..%2F..%2Fetc", b"{}"),
    "a wrong method": lambda s: _request(s, "PUT", "/webhooks/github", b"{}"),
    "DELETE": lambda s: _request(s, "DELETE", "/webhooks/github"),
    "a path outside the API": lambda s: _request(s, "POST", "/admin", b"{}"),
    "header injection (CRLF in a value)": lambda s: _raw(
        s,
        b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\n"
        b" X-GitHub-Event: push\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ),
    "duplicated signature headers": lambda s: _raw(
        s,
        b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\n"
        b"X-Hub-Signature-256: sha256=11\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    ),
    "a GET with a hostile challenge": lambda s: _request(s, "GET", "/webhooks/github?challenge=%3Cscript%3E"),
}


@pytest.fixture
def unchanged(dev_stack: DevStack) -> Iterator[None]:
    before = _stores(dev_stack)
    yield
    assert _stores(dev_stack) == before  # nothing written, nothing queued


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_a_clear_4xx_and_changes_nothing(dev_stack: DevStack, case: str) -> None:
    status = HOSTILE[case](dev_stack)
    assert 400 <= status < 500, (case, status)


def test_the_stack_keeps_serving_after_all_of_it(dev_stack: DevStack) -> None:
    for case in HOSTILE.values():
        case(dev_stack)
    delivery = signing.sign(SOURCES["github"], secret(dev_stack, "github"))
    status, body = post(f"{dev_stack.url}/webhooks/github", delivery.body, delivery.headers)
    assert (status, body["status"]) == (202, "accepted")
