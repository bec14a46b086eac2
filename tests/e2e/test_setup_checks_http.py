"""The setup checks over real HTTP on the local stack, whose gateway takes its routes
from template.yaml: Trello's HEAD and CloudEvents' OPTIONS reach the receiver (API
Gateway would answer 403 for a method the API lacks), a HEAD answer carries no body on
a kept-alive connection, and `webhooks send --handshake` sends each provider's check."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import DevStack, start_stack, stop
from tests.support.project import fixture_project
from webhooks_cli import devsecrets

pytestmark = pytest.mark.e2e
SOURCES = [
    {"name": "stripe", "kind": "stripe"},
    {"name": "trello", "preset": "trello", "url": "https://example.com/webhooks/trello"},
    {"name": "ce", "preset": "eventgrid-cloudevents"},
    {"name": "grid", "preset": "eventgrid"},
    {"name": "okta", "preset": "okta"},
    {"name": "woo", "preset": "woocommerce"},
    {"name": "x", "preset": "x"},
    {"name": "mc", "preset": "mailchimp"},
]


@pytest.fixture(scope="module")
def setup_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    root = tmp_path_factory.mktemp("setup-checks")
    project = fixture_project(root / "project", sources={"sources": SOURCES})
    stack = start_stack(root, "--visibility-timeout", "1", project_dir=project)
    try:
        yield stack
    finally:
        stop(stack)


def _connection(stack: DevStack) -> http.client.HTTPConnection:
    host, port = stack.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=15)


def test_head_is_routed_answered_without_a_body_and_the_connection_stays_usable(setup_stack: DevStack) -> None:
    connection = _connection(setup_stack)
    connection.request("HEAD", "/webhooks/trello")
    trello = connection.getresponse()
    assert (trello.status, trello.read()) == (200, b"")
    connection.request("HEAD", "/webhooks/stripe")
    stripe = connection.getresponse()
    assert (stripe.status, stripe.read()) == (405, b"")
    connection.request("GET", "/webhooks/stripe")  # the same connection: nothing of a HEAD body was left on it
    after = connection.getresponse()
    assert after.status == 405
    assert json.loads(after.read())["error"]["code"] == "method_not_allowed"
    connection.close()


def test_options_is_routed_and_grants_only_the_sources_origin(setup_stack: DevStack) -> None:
    connection = _connection(setup_stack)
    connection.request("OPTIONS", "/webhooks/ce", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    granted = connection.getresponse()
    granted.read()
    assert granted.status == 200
    assert granted.getheader("WebHook-Allowed-Origin") == "eventgrid.azure.net"
    assert granted.getheader("WebHook-Allowed-Rate") == "*"
    connection.request("OPTIONS", "/webhooks/ce", headers={"WebHook-Request-Origin": "evil.example.com"})
    forbidden = connection.getresponse()
    forbidden.read()
    assert (forbidden.status, forbidden.getheader("WebHook-Allowed-Origin")) == (403, None)
    connection.request("OPTIONS", "/webhooks/stripe", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    refused = connection.getresponse()
    refused.read()
    assert refused.status == 405
    connection.close()


@pytest.mark.parametrize(
    ("source", "status", "answer"),
    [
        ("trello", 200, None),
        ("ce", 200, None),
        ("grid", 200, "validationResponse"),
        ("okta", 200, "verification"),
        ("woo", 200, None),
        ("x", 200, "response_token"),
        ("mc", 200, None),
    ],
)
def test_send_handshake_sends_each_providers_check(
    setup_stack: DevStack, source: str, status: int, answer: str | None
) -> None:
    result = setup_stack.cli("send", source, "--handshake", "--port", setup_stack.url.rsplit(":", 1)[1])
    assert result.returncode == 0, result.stderr
    assert f" {status} " in result.stdout
    if answer is not None:
        assert set(json.loads(result.stdout.split("  ")[-1])) == {answer}
    assert "accepted" not in result.stdout


def test_mailchimps_get_needs_the_key_and_the_key_is_never_printed_or_logged(setup_stack: DevStack) -> None:
    """Mailchimp's creation GET requests the URL as configured, key included: 200 with it,
    401 without; its posts carry the key in the URL too, and neither `webhooks send` nor the
    stack's request lines ever show it."""
    key = devsecrets.signing_secret(devsecrets.load(setup_stack.secrets_file), "mc")
    assert key
    connection = _connection(setup_stack)
    validator = {"User-Agent": "MailChimp.com WebHook Validator"}
    connection.request("GET", f"/webhooks/mc?{urlencode({'key': key})}", headers=validator)
    checked = connection.getresponse()
    assert (checked.status, checked.read()) == (200, b"")
    connection.request("GET", "/webhooks/mc", headers=validator)
    refused = connection.getresponse()
    assert refused.status == 401
    assert json.loads(refused.read())["error"]["code"] == "invalid_signature"
    connection.close()

    port = setup_stack.url.rsplit(":", 1)[1]
    sent = setup_stack.cli("send", "mc", "--type", "unsubscribe", "--port", port)
    assert sent.returncode == 0, sent.stderr
    assert " 202 " in sent.stdout
    guessed = setup_stack.cli("send", "mc", "--type", "subscribe", "--secret", "not-the-key-" + key[:4], "--port", port)
    assert " 401 " in guessed.stdout
    assert key not in sent.stdout + sent.stderr + guessed.stdout + guessed.stderr
    # The banner lists the generated dev secrets on purpose; what follows it is every request's line.
    served = setup_stack.lines[setup_stack.lines.index("Ctrl-C stops it.") + 1 :]
    assert any("GET /webhooks/mc  200" in line for line in served)
    assert key not in "\n".join(served)
