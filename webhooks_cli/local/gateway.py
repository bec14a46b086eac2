"""An API Gateway (REST, Lambda proxy) stand-in on 127.0.0.1: each request becomes
the event AWS would send, and the receiver's answer becomes the HTTP response."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any
from urllib.parse import parse_qs, urlsplit

from webhooks_cli.local.runtime import Invocation, LocalFunction

MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway's own limit
# A chunk-size line (with its extensions) or a trailer line longer than this is not framing.
MAX_FRAMING_LINE = 8 * 1024
MAX_TRAILER_LINES = 100
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]+")
DECIMAL = re.compile(r"[0-9]+")  # not str.isdigit(), which takes "²" and other digits int() refuses


class RefusedBodyError(Exception):
    """A request body the gateway refuses before any route, as API Gateway's front does."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_body(headers: Message, stream: BufferedIOBase, limit: int = MAX_PAYLOAD) -> bytes:
    """The request body, framed by Transfer-Encoding: chunked or by Content-Length
    (RFC 9112 §6.3: chunked wins when both are given); RefusedBodyError past `limit` bytes
    (413) or when the framing is not valid (400)."""
    codings = [coding.strip().lower() for coding in ",".join(headers.get_all("Transfer-Encoding") or []).split(",")]
    if codings != [""]:
        if codings != ["chunked"]:
            # Any other coding, alone or after chunked, leaves the body's length unknowable
            # here (RFC 9112 §6.3): refused rather than guessed.
            raise RefusedBodyError(400, "Bad Request")
        return _read_chunked(stream, limit)
    length_header = headers.get("Content-Length") or "0"
    if not DECIMAL.fullmatch(length_header):
        raise RefusedBodyError(400, "Bad Request")
    length = int(length_header)
    if length > limit:
        raise RefusedBodyError(413, "Request Too Long")
    body = stream.read(length) if length else b""
    if len(body) != length:
        raise RefusedBodyError(400, "Bad Request")
    return body


def _read_chunked(stream: BufferedIOBase, limit: int) -> bytes:
    """RFC 9112 §7.1: chunk-size lines in hex with optional `;extensions` (ignored),
    each chunk's data and its CRLF, a zero-size last chunk, then trailer lines (ignored)
    up to an empty line. A chunk that would pass `limit` is refused from its size line,
    before its data is read."""
    body = bytearray()
    while True:
        size_text = _framing_line(stream).split(b";", 1)[0].rstrip(b" \t")  # BWS before `;`
        if not CHUNK_SIZE.fullmatch(size_text):
            raise RefusedBodyError(400, "Bad Request")
        size = int(size_text, 16)
        if len(body) + size > limit:
            raise RefusedBodyError(413, "Request Too Long")
        if size == 0:
            break
        data = stream.read(size)
        if len(data) != size or stream.read(2) != b"\r\n":
            raise RefusedBodyError(400, "Bad Request")
        body += data
    for _ in range(MAX_TRAILER_LINES):
        if not _framing_line(stream):
            return bytes(body)
    raise RefusedBodyError(400, "Bad Request")


def _framing_line(stream: BufferedIOBase) -> bytes:
    """One CRLF-terminated line of chunked framing, without its CRLF."""
    line = stream.readline(MAX_FRAMING_LINE + 1)
    if len(line) > MAX_FRAMING_LINE or not line.endswith(b"\r\n"):
        raise RefusedBodyError(400, "Bad Request")
    return line[:-2]


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # e.g. /webhooks/{source}
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, method: str, resource: str) -> Route:
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource))
        return cls(method.upper(), resource, re.compile(f"^{regex}$"))


@dataclass(frozen=True)
class Answered:
    """One request and its answer, for the dev line: what the caller was told, and what
    only the receiver's logs say (which check refused it; the event's type)."""

    method: str
    path: str
    status: int
    answer: str
    seconds: float
    # The receiver's own reason for a refusal (a SignatureError's reason, …): never in the answer.
    reason: str | None = None
    # What the receiver recorded: "accepted" (new) or "duplicate", the event's type and id.
    recorded: str | None = None
    event_type: str | None = None
    envelope_id: str | None = None


def answered_from(
    method: str, path: str, *, status: int, answer: str, seconds: float, invocation: Invocation | None = None
) -> Answered:
    """What the receiver logged during the invocation, read for the dev line: its refusal
    ("refused", with the detail) and what it recorded (accepted or duplicate)."""
    reason = recorded = event_type = envelope_id = None
    for line in invocation.logged if invocation else []:
        if line.message == "refused":
            reason = str(line.fields.get("detail") or line.fields.get("code") or "") or None
        elif line.message in {"accepted", "duplicate delivery"}:
            recorded = "accepted" if line.message == "accepted" else "duplicate"
            envelope_id = _text_or_none(line.fields.get("envelope_id"))
            event_type = _text_or_none(line.fields.get("event_type"))
    return Answered(method, path, status, answer, seconds, reason, recorded, event_type, envelope_id)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class _Server(ThreadingHTTPServer):
    # API Gateway takes bursts; the default backlog of 5 would reset a burst of connections.
    request_queue_size = 256


class Gateway:
    def __init__(
        self,
        function: LocalFunction,
        routes: list[Route],
        *,
        stage: str,
        binary_media_types: list[str],
        host: str = "127.0.0.1",
        port: int = 3000,
        on_request: Callable[[Answered], None] | None = None,
    ) -> None:
        self.function = function
        self.routes = routes
        self.stage = stage
        self.binary_media_types = [media.replace("~1", "/") for media in binary_media_types]
        self.on_request = on_request or (lambda answered: None)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see emulator.py

            def do_POST(self) -> None:
                gateway.handle(self)

            # Every other method too: API Gateway answers one a resource lacks itself (403).
            do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_POST  # noqa: N815

            def __getattr__(self, name: str) -> Any:
                # Methods http.server has never heard of (QUERY, …) too, rather than its own 501.
                if name.startswith("do_"):
                    return self.do_POST
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                return  # one readable line per request comes from on_request instead

        self.server = _Server((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never started
            self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.perf_counter()
        url = urlsplit(request.path)
        try:
            body = read_body(request.headers, request.rfile)
        except RefusedBodyError as refused:
            # What is left of the body is unread, so the connection cannot carry another request.
            request.close_connection = True
            payload = json.dumps({"message": refused.message}, separators=(",", ":")).encode()
            self._send(request, refused.status, {"Content-Type": "application/json"}, payload)
            self.on_request(
                answered_from(
                    request.command, url.path, status=refused.status, answer="", seconds=time.perf_counter() - started
                )
            )
            return
        route, parameters = self._match(request.command, url.path)
        if route is None:
            # What API Gateway answers for a method or path it does not have.
            self._send(
                request, 403, {"Content-Type": "application/json"}, b'{"message":"Missing Authentication Token"}'
            )
            self.on_request(
                answered_from(request.command, url.path, status=403, answer="", seconds=time.perf_counter() - started)
            )
            return
        event = self.event(request, route, parameters=parameters, path=url.path, query=url.query, body=body)
        try:
            response, invocation = self.function.call(event)
        except Exception as exc:  # noqa: BLE001 - a function error is API Gateway's 502, not a crash of the gateway
            self._send(request, 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}')
            failed = f"{type(exc).__name__}: {exc}"
            self.on_request(
                answered_from(
                    request.command, url.path, status=502, answer=failed, seconds=time.perf_counter() - started
                )
            )
            return
        status, headers, payload = self._response(response)
        self._send(request, status, headers, payload)
        answer = payload.decode("utf-8", "replace")
        self.on_request(
            answered_from(
                request.command,
                url.path,
                status=status,
                answer=answer,
                seconds=time.perf_counter() - started,
                invocation=invocation,
            )
        )

    def event(
        self,
        request: BaseHTTPRequestHandler,
        route: Route,
        *,
        parameters: dict[str, str],
        path: str,
        query: str,
        body: bytes,
    ) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        multi_query = parse_qs(query, keep_blank_values=True) if query else {}
        content_type = request.headers.get("Content-Type", "")
        binary = self._is_binary(content_type)
        now = time.time()
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": request.command,
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": route.resource,
                "httpMethod": request.command,
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "path": f"/{self.stage}{path}",
                "accountId": "000000000000",
                "protocol": request.request_version,
                "stage": self.stage,
                "domainPrefix": "local",
                "requestTimeEpoch": int(now * 1000),
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": request.client_address[0], "userAgent": request.headers.get("User-Agent")},
                "domainName": request.headers.get("Host", "127.0.0.1"),
                "apiId": "local",
            },
            "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", "replace")) if body else None,
            "isBase64Encoded": binary and bool(body),
        }

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None, {}

    def _is_binary(self, content_type: str) -> bool:
        media = content_type.split(";", maxsplit=1)[0].strip() or "application/json"
        return any(fnmatch.fnmatch(media, pattern) for pattern in self.binary_media_types)

    @staticmethod
    def _response(response: Any) -> tuple[int, dict[str, str], bytes]:
        if not isinstance(response, dict) or "statusCode" not in response:
            return 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
        headers = {name: str(value) for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(value) for value in values)
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
        return int(response["statusCode"]), headers, payload

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes) -> None:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection"}:
                request.send_header(name, value)
        if request.close_connection:
            request.send_header("Connection", "close")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        # A HEAD answer has headers only (RFC 9110 §9.3.2), as API Gateway sends it: bytes
        # after them would be read as the start of the next response on this connection.
        if request.command != "HEAD":
            request.wfile.write(payload)


def describe(payload: str) -> str:
    """The one-line gist of a receiver answer."""
    try:
        document = json.loads(payload)
    except ValueError:
        return payload[:80]
    if isinstance(document, dict) and "status" in document:
        return f"{document['status']} {document.get('id', '')}".strip()
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        return str(document["error"].get("code", ""))
    return payload[:80]
