"""The local gateway reads `Transfer-Encoding: chunked` bodies as API Gateway does
(RFC 9112 §7.1): a signed delivery sent in chunks is verified over exactly the bytes
sent, malformed framing is a 400, and a body over the 10 MB limit a 413 before the
gateway reads it all."""

from __future__ import annotations

import json
import socket

import pytest

from tests.e2e.test_hostile_input import _stores
from tests.e2e.test_local_stack import SOURCES, secret
from tests.support.apigw import signature_headers
from tests.support.devstack import DevStack
from tests.support.leaks import WATCH
from webhooks_cli import signing

pytestmark = pytest.mark.e2e
MAX_PAYLOAD = 10 * 1024 * 1024


def exchange(stack: DevStack, head: bytes, *parts: bytes) -> tuple[int, bytes]:
    """Send a request's head and body framing as given; the status and body of the answer."""
    host, port = stack.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(head)
        for part in parts:
            connection.sendall(part)
        connection.shutdown(socket.SHUT_WR)  # all sent: what the gateway still waits for never comes
        answer = b""
        while True:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
            head_end = answer.find(b"\r\n\r\n")
            if head_end >= 0:
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in answer[:head_end].split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if len(answer) >= head_end + 4 + length:
                    break
    status = int(answer.split(b" ", 2)[1])
    return status, answer[answer.find(b"\r\n\r\n") + 4 :]


def chunked_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def in_chunks(body: bytes, sizes: list[int]) -> bytes:
    """`body` in chunks of the given sizes (the rest in one more), with a chunk extension,
    upper- and lower-case hex, and a trailer section the gateway must skip."""
    framed, start = b"", 0
    for index, size in enumerate([*sizes, len(body) - sum(sizes)]):
        piece = body[start : start + size]
        start += size
        size_line = f"{len(piece):X}" if index % 2 else f'{len(piece):x};name=value;quoted="a;b"'
        framed += size_line.encode() + b"\r\n" + piece + b"\r\n"
    return framed + b"0\r\nX-Trailer: ignored\r\n\r\n"


def test_a_signed_delivery_sent_in_chunks_is_verified_over_exactly_its_bytes(dev_stack: DevStack) -> None:
    # The signature covers the body's exact bytes, so a 202 shows the receiver got them.
    # A chunk boundary splits a two-byte character; the body holds a CRLF of its own.
    body = '{"zen": "gr\u00fc\u00dfe", "crlf": "a\r\nb", "pad": "0123456789"}'.encode()
    delivery = signing.sign(SOURCES["github"], secret(dev_stack, "github"), body=body)
    assert delivery.body == body
    WATCH.watch(*(value for name, value in delivery.headers.items() if name.lower() in signature_headers()))
    split = body.index("\u00fc".encode()) + 1
    status, answer = exchange(
        dev_stack, chunked_head("/webhooks/github", delivery.headers), in_chunks(body, [split, 1, 7])
    )
    assert (status, json.loads(answer)["status"]) == (202, "accepted"), answer


@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not hex
        b"-2\r\n{}\r\n0\r\n\r\n",  # a sign
        b"0x2\r\n{}\r\n0\r\n\r\n",  # a prefix
        b"1_0\r\n{}\r\n0\r\n\r\n",  # what int(..., 16) would take
        b";ext\r\n{}\r\n0\r\n\r\n",  # no size at all
        b"2\r\n{}}\r\n0\r\n\r\n",  # more data than the size said
        b"2\r\n{}\r\n0\r\n",  # the trailer section never ends (the client closes)
    ],
    ids=["not hex", "signed", "0x prefix", "underscore", "no size", "overlong chunk", "unterminated"],
)
def test_malformed_chunked_framing_is_a_400_that_writes_nothing(dev_stack: DevStack, framing: bytes) -> None:
    before = _stores(dev_stack)
    status, _ = exchange(dev_stack, chunked_head("/webhooks/github", {"X-Hub-Signature-256": "sha256=00"}), framing)
    assert status == 400
    assert _stores(dev_stack) == before


def test_a_chunk_declaring_more_than_the_limit_is_a_413_before_its_data_is_sent(dev_stack: DevStack) -> None:
    # Only the size line goes out: an answer at all shows the gateway did not wait for 10 MB.
    status, answer = exchange(dev_stack, chunked_head("/webhooks/github", {}), f"{MAX_PAYLOAD + 1:x}\r\n".encode())
    assert (status, json.loads(answer)) == (413, {"message": "Request Too Long"})


def test_chunks_adding_up_to_more_than_the_limit_are_a_413(dev_stack: DevStack) -> None:
    half = MAX_PAYLOAD // 2
    first = f"{half:x}\r\n".encode() + b"a" * half + b"\r\n"
    status, _ = exchange(dev_stack, chunked_head("/webhooks/github", {}), first, f"{half + 1:x}\r\n".encode())
    assert status == 413


def test_a_body_of_exactly_the_limit_in_chunks_gets_past_the_gateway(dev_stack: DevStack) -> None:
    half = MAX_PAYLOAD // 2
    chunk = f"{half:x}\r\n".encode() + b"a" * half + b"\r\n"
    status, answer = exchange(dev_stack, chunked_head("/webhooks/github", {}), chunk, chunk, b"0\r\n\r\n")
    # The receiver's own refusal (an error object), not the gateway's {"message": …}.
    assert 400 <= status < 500
    assert "error" in json.loads(answer), answer
