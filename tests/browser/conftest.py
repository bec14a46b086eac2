"""Browser tests: Playwright driving Debian's headless Chromium (/usr/bin/chromium).

Never `playwright install`: it downloads a browser. Without Chromium the tests skip
locally and fail in CI (.ci/run installs it). Every page may reach only this machine:
a request to any other host is aborted, recorded, and fails the test at teardown, which
is how a test proves nothing was fetched from the internet.

A test takes `page` (a fresh context per test) and opens a URL on 127.0.0.1:

    def test_it(page: Page, docs_url: str) -> None:
        page.goto(docs_url)
        expect(page.get_by_text("POST")).to_be_visible()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
NOT_INSTALLED = "headless Chromium not installed: sudo apt-get install chromium (CI installs it)"
# Without the background-networking flags Chromium reaches for Google's services at
# start, and the closed network refuses those connections; QUIC likewise.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Generous for a loaded 2-core machine; a page that renders at all renders well within it.
DEFAULT_TIMEOUT_MS = 10_000


@dataclass
class PageWatch:
    """What a page did that a test must not let pass silently."""

    off_machine: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium before the tests")
        pytest.skip(NOT_INSTALLED)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Browser, page_watch: PageWatch) -> Iterator[Page]:
    """A page in a context of its own. Fails the test at teardown if the page tried to
    fetch anything from another host than this machine."""
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)

    def only_this_machine(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            page_watch.off_machine.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    context.route("**/*", only_this_machine)
    opened = context.new_page()
    opened.on("console", lambda message: _record_error(page_watch, message))
    opened.on("pageerror", lambda error: page_watch.page_errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    if page_watch.off_machine:
        pytest.fail("the page tried to fetch from off this machine: " + ", ".join(page_watch.off_machine))


def _record_error(watch: PageWatch, message: ConsoleMessage) -> None:
    if message.type == "error":
        watch.console_errors.append(message.text)
