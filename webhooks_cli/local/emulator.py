"""The AWS emulator: moto's server, in a thread of this process, on 127.0.0.1.

Unlike moto's ThreadedMotoServer it speaks HTTP/1.1 with keep-alive: boto3 then
reuses its connections instead of opening one (and the server a thread) per
call, which more than doubles what the local stack can carry.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class _KeepAliveHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's
        # algorithm holds the second until the client's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves which host: moto works
    it out by scanning every service module on each request (~0.5 ms a call)."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


# Re-entrant: one write may call another. A snapshot (persistence) holds it too while it
# reads the tables, so it never sees a write half done.
ITEM_WRITES = threading.RLock()


def atomic_item_writes() -> None:
    """DynamoDB applies a conditional write atomically; moto checks the condition and
    writes in separate Python steps that its server threads can interleave (and reads an
    update's ALL_OLD before it), which would let two racing deliveries both claim an
    event. One lock around each item write's whole request restores DynamoDB's guarantee."""
    if getattr(DynamoHandler.update_item, "atomic", False):
        return
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoHandler, name)

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with ITEM_WRITES:
                return _original(*args, **kwargs)

        locked.atomic = True  # type: ignore[attr-defined]
        setattr(DynamoHandler, name, locked)


def _bind_or_raise(host: str, port: int) -> None:
    """OSError when (host, port) cannot be listened on: werkzeug's make_server would print
    its own message and exit instead, and the CLI says it in one line of its own."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        probe.bind((host, port))


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # Its access log would print a line per AWS call.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        atomic_item_writes()
        app = _Dispatcher()
        _bind_or_raise(host, port)
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=_KeepAliveHandler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
