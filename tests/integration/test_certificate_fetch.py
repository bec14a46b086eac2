"""The certificate fetcher's own HTTP path (urllib), against a real server on 127.0.0.1:
what it reads is bounded, a redirect is never followed, a slow server is given up on,
and every failure is a 503 the provider retries, never a hang or a traceback. (The host
rules keep any real fetch on HTTPS to the provider's hosts; here fetch_https is called
directly, past them.)"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhook_core.certificates import MAX_CERTIFICATE_BYTES, CertificateUnavailableError, fetch_https

pytestmark = pytest.mark.integration
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class QuietServer(ThreadingHTTPServer):
    """The fetcher hangs up once it has read its limit: the broken pipe that leaves is
    expected, and its traceback on stderr would land in whatever another test captures."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cert.pem")
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(2)
        body = b"x" * (MAX_CERTIFICATE_BYTES * 4) if self.path == "/huge" else PEM
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_a_certificate_is_read_and_a_huge_answer_only_up_to_the_limit(server: str) -> None:
    assert fetch_https(f"{server}/cert.pem", timeout=2, max_bytes=MAX_CERTIFICATE_BYTES) == PEM
    huge = fetch_https(f"{server}/huge", timeout=2, max_bytes=MAX_CERTIFICATE_BYTES)
    assert len(huge) == MAX_CERTIFICATE_BYTES + 1  # one byte more: the fetcher refuses it


def test_a_redirect_is_never_followed(server: str) -> None:
    with pytest.raises(CertificateUnavailableError) as caught:
        fetch_https(f"{server}/redirect", timeout=2, max_bytes=MAX_CERTIFICATE_BYTES)
    assert caught.value.status == 503


def test_a_slow_or_absent_server_is_a_503_within_the_time_limit(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(CertificateUnavailableError):
        fetch_https(f"{server}/slow", timeout=0.3, max_bytes=MAX_CERTIFICATE_BYTES)
    assert time.monotonic() - started < 1.5
    with pytest.raises(CertificateUnavailableError):
        fetch_https("http://127.0.0.1:9/cert.pem", timeout=0.3, max_bytes=MAX_CERTIFICATE_BYTES)
