"""The inspector page attacked over real HTTP: what a hostile web page (through the
operator's browser) or a hostile webhook sender can make it do. Each test is one way in
that was open once."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import DevStack, assert_nothing_leaked, start_stack, stop
from tests.e2e.test_inspector import accepted, fetch, form_of
from tests.e2e.test_local_stack import post
from tests.support.signers import sign

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    running = start_stack(tmp_path_factory.mktemp("inspector-attacks"), "--visibility-timeout", "1")
    try:
        yield running
    finally:
        stop(running)
    assert_nothing_leaked(running)


def port_of(stack: DevStack) -> int:
    return int(stack.inspector_url.rstrip("/").rsplit(":", 1)[1])


def kept_request_page(stack: DevStack, marker: str) -> str:
    """The inspector's page of the kept rejected request whose body holds `marker`: ids
    of one second sort by their random part, so the newest listed is not always the one."""
    listing = json.loads(stack.cli("rejected", "list", "--json", "--source", "stripe").stdout)
    for entry in reversed(listing):
        status, page, _ = fetch(f"{stack.inspector_url}rejected/request?" + urllib.parse.urlencode({"id": entry["id"]}))
        assert status == 200, page
        if marker in page:
            return page
    raise AssertionError(f"no kept rejected request holds {marker!r}")


def exchange(stack: DevStack, raw: bytes) -> bytes:
    """Everything the inspector answers on one connection to `raw`, until it closes
    the connection or is silent for 3 s."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port_of(stack)), timeout=3) as connection:
        connection.sendall(raw)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


@pytest.mark.parametrize("refused_by", ["host", "origin", "chunked"])
def test_a_refused_posts_body_is_never_read_as_a_second_request(stack: DevStack, refused_by: str) -> None:
    """A post refused for its Host (a DNS-rebound name) or its Origin (another site)
    carries a body the server never read: on a kept-alive connection it was parsed as
    the next request, one that names 127.0.0.1 and so passed the Host check and got a
    confirmation page with the form token. A chunked body was never read at all."""
    envelope_id = accepted(stack, "invoice.payment_failed")
    port = port_of(stack)
    # Both carry the cookie of a browser that opened the inspector's link.
    cookie = f"Cookie: {stack.inspector_cookie['Cookie']}\r\n"
    smuggled = (
        f"GET /event/replay?{urllib.parse.urlencode({'id': envelope_id})} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n{cookie}\r\n"
    ).encode()
    headers = (
        cookie
        + {
            "host": f"Host: evil.example:{port}\r\nContent-Length: {len(smuggled)}\r\n",
            "origin": f"Host: 127.0.0.1:{port}\r\nOrigin: https://evil.example\r\nContent-Length: {len(smuggled)}\r\n",
            "chunked": f"Host: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n",
        }[refused_by]
    )
    request = f"POST /event/replay HTTP/1.1\r\n{headers}Content-Type: text/plain\r\n\r\n".encode()
    answer = exchange(stack, request + smuggled)
    assert answer.startswith((b"HTTP/1.1 403", b"HTTP/1.1 421")), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1, answer.decode("latin-1")[:3000]
    assert b'name="token"' not in answer


def test_a_confirmed_form_posted_again_does_not_run_the_handler_again(stack: DevStack) -> None:
    """Reloading the Done page re-posts its form (the browser asks, the operator says yes);
    so does a second tab on the same confirmation. One confirmation is one run."""
    envelope_id = accepted(stack, "checkout.session.completed")
    confirm_url = f"{stack.inspector_url}event/replay?" + urllib.parse.urlencode({"id": envelope_id})
    confirm = fetch(confirm_url)[1]
    form = form_of(confirm)
    status, done, _ = fetch(confirm_url, data=form)
    assert status == 200, done
    assert f"{envelope_id}: sent" in done
    stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b", count=2, timeout=30)

    status, again, _ = fetch(confirm_url, data=form)
    assert status == 409, again
    assert "changed since" in again
    time.sleep(3)  # a second run would have been processed by now
    assert len(stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b", count=2)) == 2


def test_bidi_overrides_in_a_senders_body_are_shown_escaped(stack: DevStack) -> None:
    """The body is the sender's: a right-to-left override in it would show "gnp.exe" as
    "exe.png" and an amount of "0001" as "1000", as it would in an id (already escaped)."""
    secret = json.loads(stack.secrets_file.read_text())["stripe"][0]
    body = json.dumps(
        {"id": "evt_bidi_in_body", "type": "invoice.paid", "object": "event", "data": {"amount": "\u202e0001"}}
    ).encode()
    signed = sign("stripe", body, secret=secret)
    assert post(f"{stack.url}/webhooks/stripe", body, signed.headers)[0] == 202
    forged = sign("stripe", body, secret="whsec_not_the_sources_secret_0123456789")
    assert post(f"{stack.url}/webhooks/stripe", body, forged.headers)[0] == 401

    event = fetch(f"{stack.inspector_url}event?id=stripe/evt_bidi_in_body")[1]
    rejected = kept_request_page(stack, "evt_bidi_in_body")
    for page in (event, rejected):
        shown_body = page.split('<pre class="body">', 1)[1].split("</pre>", 1)[0]
        assert "\u202e" not in shown_body
        assert "\\u202e0001" in shown_body
        assert "\n" in shown_body  # still laid out on lines


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_another_method_is_refused_not_a_server_error(stack: DevStack, method: str) -> None:
    """Anyone who can reach the port chooses the method: a 501 said the server failed."""
    request = f"{method} /events HTTP/1.1\r\nHost: 127.0.0.1:{port_of(stack)}\r\nConnection: close\r\n\r\n"
    answer = exchange(stack, request.encode())
    assert answer.startswith(b"HTTP/1.1 405"), answer[:200]
    assert b"Allow: GET, HEAD, POST" in answer


def test_a_lone_surrogate_in_a_senders_json_is_shown_not_a_server_error(stack: DevStack) -> None:
    """`"\\ud800"` is valid JSON in plain ASCII, but no UTF-8 can encode what it decodes to:
    a page that re-shows the body as pretty JSON could not be sent at all (a 500)."""
    secret = json.loads(stack.secrets_file.read_text())["stripe"][0]
    body = b'{"id": "evt_lone_surrogate", "type": "invoice.paid", "object": "event", "data": {"note": "\\ud800"}}'
    assert post(f"{stack.url}/webhooks/stripe", body, sign("stripe", body, secret=secret).headers)[0] == 202
    forged = sign("stripe", body, secret="whsec_not_the_sources_secret_0123456789")
    assert post(f"{stack.url}/webhooks/stripe", body, forged.headers)[0] == 401
    status, page, _ = fetch(f"{stack.inspector_url}event?id=stripe/evt_lone_surrogate")
    assert status == 200, page
    for shown in (page, kept_request_page(stack, "evt_lone_surrogate")):
        assert "\\ud800" in shown.split('<pre class="body">', 1)[1]


def test_a_request_naming_two_hosts_is_refused(stack: DevStack) -> None:
    """Only the first Host header was checked: one naming this server followed by another
    naming any other (HTTP says a request with two is refused, 400) was answered."""
    port = port_of(stack)
    hosts = f"Host: 127.0.0.1:{port}\r\nHost: evil.example:{port}\r\n"
    request = f"GET /events HTTP/1.1\r\n{hosts}Connection: close\r\n\r\n"
    answer = exchange(stack, request.encode())
    assert answer.startswith(b"HTTP/1.1 421"), answer[:200]


def test_a_request_that_never_finishes_does_not_hold_the_server_forever(stack: DevStack) -> None:
    """Each connection has a thread: one that sends half a request (or half a form) and
    then nothing held its thread for as long as it stayed open, with no limit on how many."""
    port = port_of(stack)
    for partial in (
        b"GET /events HTTP/1.1\r\n",
        f"POST /event/replay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 100\r\n\r\ntoken=".encode(),
    ):
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(partial)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert time.monotonic() - started < 20, answer[:200]
        assert b"HTTP/1.1 5" not in answer


def test_no_page_it_serves_can_be_framed_by_another_site(stack: DevStack) -> None:
    """The inspector's pages said frame-ancestors 'none'; the API docs beside them did not
    (default-src does not cover framing), so any site could frame them under its own."""
    for path in ("events", "docs/"):
        status, _, headers = fetch(stack.inspector_url + path)
        assert status == 200
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path


def test_a_non_ascii_token_is_refused_not_a_server_error(stack: DevStack) -> None:
    """secrets.compare_digest raises TypeError for str holding non-ASCII: any client of
    the port (or another site's form post) got a 500 instead of the refusal."""
    status, page, _ = fetch(f"{stack.inspector_url}event/replay", data={"id": "stripe/evt_x", "token": "é"})
    assert status == 403, page
