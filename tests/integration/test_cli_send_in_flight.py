"""`webhooks send` as a provider: a copy answered 409 while the previous one may still be
sending is sent again (for at most its Retry-After), over a real socket on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe
from click.testing import CliRunner

from tests.support.project import FIXTURE_SOURCES
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets
from webhooks_cli.cli import main

pytestmark = pytest.mark.integration


class Receiver(ThreadingHTTPServer):
    """Answers the first `in_flight` POSTs 409 + Retry-After, then 200 duplicate."""

    def __init__(self, in_flight: int, retry_after: str) -> None:
        super().__init__(("127.0.0.1", 0), Answer)
        self.in_flight = in_flight
        self.retry_after = retry_after
        self.posts = 0
        self.received: list[tuple[bytes, dict[str, str]]] = []


class Answer(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posts += 1
        self.server.received.append((body, dict(self.headers)))
        if self.server.posts <= self.server.in_flight:
            body = b'{"error": {"code": "in_progress", "message": "This event is still being accepted; retry later."}}'
            self.send_response(409)
            self.send_header("Retry-After", self.server.retry_after)
        else:
            body = b'{"status": "duplicate", "id": "stripe/evt_1"}'
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


def serving(in_flight: int, retry_after: str = "10") -> Iterator[Receiver]:
    server = Receiver(in_flight, retry_after)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path) -> CliRunner:
    secrets_file = tmp_path / "dev-secrets.json"
    devsecrets.ensure(secrets_file, load_sources(FIXTURE_SOURCES))
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))
    monkeypatch.setenv("WEBHOOKS_DEV_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("COLUMNS", "300")
    return CliRunner()


def test_a_409_in_flight_is_sent_again_until_answered(runner: CliRunner) -> None:
    for server in serving(in_flight=2):
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
        result = runner.invoke(main, ["send", "stripe", "--url", url])
        assert result.exit_code == 0, result.output
        assert server.posts == 3
        assert " 200 recorded stripe/evt_1" in result.output
        assert "409 while the previous copy was in flight; resent after 0.5 s" in result.output


def test_a_409_that_outlasts_its_retry_after_is_reported_and_exits_1(runner: CliRunner) -> None:
    for server in serving(in_flight=1_000, retry_after="1"):
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
        result = runner.invoke(main, ["send", "stripe", "--url", url])
        assert result.exit_code == 1
        assert server.posts == 5  # sent, then every 0.25 s for the 1 s Retry-After allows
        assert " 409 " in result.output


def test_send_signs_with_a_secret_given_instead_of_the_sources(runner: CliRunner) -> None:
    """To see a 401 (and `webhooks rejected`) locally: sign with a wrong secret."""
    for server in serving(in_flight=0):
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
        result = runner.invoke(main, ["send", "stripe", "--url", url, "--secret", "whsec_not_the_sources"])
        assert result.exit_code == 0, result.output
        ((body, headers),) = server.received
        stripe.WebhookSignature.verify_header(
            body.decode(), headers["Stripe-Signature"], "whsec_not_the_sources", tolerance=300
        )
