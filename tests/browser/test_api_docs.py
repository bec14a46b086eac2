"""The API docs in a real browser: Swagger UI, served by ApiDocs on a socket on this
machine, renders the receiver's route and the envelope handlers receive, with nothing
fetched from anywhere else and no error in the console."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PageWatch
from webhooks_cli.apidocs import ApiDocs

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "api-docs.png"
# Opt-in: regenerates the README's screenshot (WEBHOOKS_SCREENSHOTS=1).
SCREENSHOTS = os.environ.get("WEBHOOKS_SCREENSHOTS") == "1"
STACK_URL = "http://127.0.0.1:3000"


def docs_handler(docs: ApiDocs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            response = docs.respond(self.path)
            if response is None:
                self.send_error(404)
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a test's output is its own."""

    return Handler


@pytest.fixture(scope="module")
def docs_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), docs_handler(ApiDocs(ROOT / "openapi.json", api_url=STACK_URL)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/docs"
    finally:
        server.shutdown()
        server.server_close()


def test_swagger_ui_renders_the_route_and_the_envelope(page: Page, page_watch: PageWatch, docs_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(docs_url)  # without its slash: the redirect is followed

    route = page.locator(".opblock-post").filter(has_text="/webhooks/{source}")
    expect(route).to_be_visible()
    expect(route.locator(".opblock-summary-method")).to_have_text("POST")
    expect(page.locator(".info .title")).to_contain_text("Serverless webhook receiver")
    expect(page.locator(".servers")).to_contain_text(STACK_URL)
    # The envelope: as a webhook (OpenAPI 3.1) and as a schema.
    webhook = page.locator(".webhooks .opblock-post").filter(has_text="envelope")
    expect(webhook).to_contain_text("What a handler receives")
    expect(page.locator(".models")).to_contain_text("Envelope")
    assert page.url.endswith("/docs/")

    if SCREENSHOTS:
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=False)
    assert page_watch.console_errors == []
    assert page_watch.page_errors == []
