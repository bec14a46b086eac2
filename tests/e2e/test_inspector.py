"""The inspector page over real HTTP, as `webhooks dev` serves it: what it shows of
deliveries, events and rejected requests; that a change needs its own confirmation page's
form (another site's post, or a request naming another host, changes nothing); that its
replays run the CLI's own code once; and that nothing a visitor sends gets a 5xx."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, DevStack, assert_nothing_leaked, start_stack, stop
from tests.e2e.test_local_stack import post
from tests.support.devstack import INSPECTOR_KEYS
from tests.support.leaks import WATCH
from tests.support.signers import sign

pytestmark = pytest.mark.e2e
ROTATED = "whsec_rotated_for_the_inspector_0123456789"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    running = start_stack(tmp_path_factory.mktemp("inspector"), "--visibility-timeout", "1")
    WATCH.watch(ROTATED)
    try:
        yield running
    finally:
        stop(running)
    assert_nothing_leaked(running)


def fetch(
    url: str, *, data: dict[str, str] | None = None, headers: dict[str, str] | None = None, opened: bool = True
) -> tuple[int, str, dict[str, str]]:
    """`url` as a browser that `opened` the banner's link asks for it (with its cookie)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    sent = {**(cookie_for(url) if opened else {}), **(headers or {})}
    request = urllib.request.Request(url, data=body, headers=sent)  # noqa: S310 - 127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def cookie_for(url: str) -> dict[str, str]:
    base = re.match(r"http://127\.0\.0\.1:(\d+)/", url)
    assert base, url
    key = INSPECTOR_KEYS[base.group(0)]
    return {"Cookie": f"webhooks-inspector-{base.group(1)}={key}"}


def token_of(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


def form_of(page: str) -> dict[str, str]:
    """A confirmation page's form as its button posts it: every hidden field."""
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    assert form.get("token") == token_of(page)
    return form


def accepted(stack: DevStack, event_type: str) -> str:
    """A stripe event sent as a user sends one (`webhooks send`), once it is processed."""
    sent = stack.cli("send", "stripe", "--type", event_type)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    envelope_id = str(json.loads(sent.stdout.split("  ")[-1])["id"])
    stack.wait_for(rf"(processed|unhandled)\s+{re.escape(envelope_id)}\b", timeout=30)
    return envelope_id


def test_the_banner_names_the_inspector_and_the_api_docs(stack: DevStack) -> None:
    assert stack.inspector_url.startswith("http://127.0.0.1:")
    assert f"api docs: {stack.inspector_url}docs/" in stack.output()
    status, page, headers = fetch(stack.inspector_url)  # / leads to the deliveries
    assert status == 200
    assert "<h1>Deliveries</h1>" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    # The header names the stack by the API its providers post to, not its AWS emulator.
    (named,) = re.findall(r'<span class="stack"[^>]*>([^<]*)</span>', page)
    assert named == f"local stack, API at {stack.url}"


def test_the_pages_open_only_with_the_key_the_banner_printed(stack: DevStack) -> None:
    """Any user or process on the machine reaches 127.0.0.1: the link's key lets in only
    who has the printed link, swapped at once for a cookie other sites' requests lack."""
    status, page, _ = fetch(f"{stack.inspector_url}events", opened=False)
    assert status == 401
    assert "open the inspector from the link its command printed" in page
    assert fetch(f"{stack.inspector_url}events?key=guessed", opened=False)[0] == 401
    wrong = {"Cookie": f"webhooks-inspector-{stack.inspector_url.rsplit(':', 1)[1].rstrip('/')}=guessed"}
    assert fetch(f"{stack.inspector_url}events", headers=wrong, opened=False)[0] == 401
    assert fetch(f"{stack.inspector_url}events/rows", opened=False)[0] == 401

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(stack.inspector_login, timeout=30)
    assert redirected.value.code == 303
    assert redirected.value.headers["Location"] == "/"  # the address bar keeps no key
    cookie = redirected.value.headers["Set-Cookie"]
    assert cookie.startswith(f"webhooks-inspector-{stack.inspector_url.rsplit(':', 1)[1].rstrip('/')}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    # Its script, style and API docs hold nothing of the stack's: they need no key.
    assert fetch(f"{stack.inspector_url}static/inspector.js", opened=False)[0] == 200
    assert fetch(f"{stack.inspector_url}docs/", opened=False)[0] == 200


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_deliveries_show_accepted_events_and_rejected_requests_with_their_reason(stack: DevStack) -> None:
    envelope_id = accepted(stack, "invoice.payment_failed")
    forged = sign("stripe", secret=ROTATED, event_type="customer.created")
    assert post(f"{stack.url}/webhooks/stripe", forged.body, forged.headers)[0] == 401

    status, rows, _ = fetch(f"{stack.inspector_url}events/rows")
    assert status == 200
    row = re.search(rf'<tr data-id="{re.escape(envelope_id)}" data-status="processed">(.*?)</tr>', rows, re.S)
    assert row, rows[:3000]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells[2:8]] == [
        "stripe",
        "invoice.payment_failed",
        "202",
        "processed",
        "1",
        "1",
    ]
    assert re.search(r'data-status="rejected">.*?<td class="source">stripe</td>.*?signature_mismatch', rows, re.S)

    only_rejected = fetch(f"{stack.inspector_url}events/rows?status=rejected")[1]
    assert envelope_id not in only_rejected
    assert "signature_mismatch" in only_rejected
    only_processed = fetch(f"{stack.inspector_url}events/rows?status=processed&source=stripe")[1]
    assert envelope_id in only_processed
    assert "signature_mismatch" not in only_processed
    assert envelope_id not in fetch(f"{stack.inspector_url}events/rows?type=customer.created")[1]


def test_an_event_page_shows_its_timeline_headers_and_body(stack: DevStack) -> None:
    envelope_id = accepted(stack, "invoice.payment_failed")
    status, page, _ = fetch(f"{stack.inspector_url}event?" + urllib.parse.urlencode({"id": envelope_id}))
    assert status == 200
    assert "invoice.payment_failed" in page
    timeline = page.split("<h2>Timeline</h2>", 1)[1].split("</table>", 1)[0]
    steps = re.findall(r'<span class="badge (\w+)">', timeline)
    assert steps[0] == "received"
    assert steps[-2:] == ["processing", "processed"]
    # The envelope keeps only the headers the source names; a signature is never among them.
    assert "<h2>Headers</h2>" in page
    assert "stripe-signature" not in page.lower()
    assert "&#34;type&#34;: &#34;invoice.payment_failed&#34;" in page


def test_a_replay_needs_the_pages_own_form_and_runs_the_handler_once_more(stack: DevStack) -> None:
    envelope_id = accepted(stack, "checkout.session.completed")
    confirm_url = f"{stack.inspector_url}event/replay?" + urllib.parse.urlencode({"id": envelope_id})
    status, confirm, _ = fetch(confirm_url)
    assert status == 200
    assert "already <strong>processed</strong>" in confirm
    form = form_of(confirm)
    assert form["force"] == "1"

    # Another site's page posting to 127.0.0.1, with or without a guessed token: refused.
    assert fetch(confirm_url, data={**form, "token": "guess"})[0] == 403
    assert fetch(confirm_url, data=form, headers={"Origin": "https://evil.example"})[0] == 403
    # A name that resolves here (DNS rebinding) is not this server's name.
    assert fetch(confirm_url, headers={"Host": f"evil.example:{stack.inspector_url.rsplit(':', 1)[1]}"})[0] == 421
    assert len(stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b")) == 1

    status, done, _ = fetch(confirm_url, data=form)
    assert status == 200, done
    assert f"{envelope_id}: sent" in done
    stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b", count=2, timeout=30)


def test_a_rejected_request_is_diagnosed_and_accepted_from_the_page_once_its_secret_is_fixed(
    stack: DevStack,
) -> None:
    signed = sign("github", secret=ROTATED, event_type="issues")
    assert post(f"{stack.url}/webhooks/github", signed.body, signed.headers)[0] == 401
    listing = json.loads(stack.cli("rejected", "list", "--json", "--source", "github").stdout)
    request_id = listing[-1]["id"]
    page_url = f"{stack.inspector_url}rejected/request?" + urllib.parse.urlencode({"id": request_id})
    status, page, _ = fetch(page_url)
    assert status == 200
    assert "signature_mismatch" in page
    assert "no secret of the source matched the signature" in page

    confirm_url = f"{stack.inspector_url}rejected/replay?" + urllib.parse.urlencode({"id": request_id})
    token = token_of(fetch(confirm_url)[1])
    status, refused, _ = fetch(confirm_url, data={"id": request_id, "token": token})
    assert status == 409
    assert "still does not verify" in refused

    fixed = stack.cli("secrets", "set", "github", "-", stdin=ROTATED + "\n")
    assert fixed.returncode == 0, fixed.stderr
    status, done, _ = fetch(confirm_url, data={"id": request_id, "token": token})
    assert status == 200, done
    assert re.search(r"accepted as github/\S+ and queued", done)
    status, again, _ = fetch(confirm_url, data={"id": request_id, "token": token})
    assert "duplicate of github/" in again
    # Marked done: its row says as which event, and its page offers no second acceptance.
    rows = fetch(f"{stack.inspector_url}rejected/rows?source=github")[1]
    assert re.search(rf'data-id="{re.escape(request_id)}".*?since accepted as github/', rows, re.S)
    page = fetch(page_url)[1]
    assert "Verify again and accept" not in page
    assert 'data-field="accepted"' in page
    # Among the deliveries, the event it became says its sender was answered 401.
    event_id = re.search(r"accepted as (github/\S+) and queued", done).group(1)  # type: ignore[union-attr]
    deliveries = fetch(f"{stack.inspector_url}events/rows?source=github")[1]
    (answer,) = re.findall(rf'data-id="{re.escape(event_id)}".*?<td class="http[^"]*">([^<]*)</td>', deliveries, re.S)
    assert answer == "401 → 202"


def test_the_api_docs_and_the_document_are_served_beside_the_pages(stack: DevStack) -> None:
    status, page, _ = fetch(f"{stack.inspector_url}docs/")
    assert status == 200
    assert "swagger-ui" in page
    status, served, _ = fetch(f"{stack.inspector_url}openapi.json")
    document = json.loads(served)
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert document["servers"] == [{"url": stack.url, "description": "the local stack"}]
    assert {key: value for key, value in document.items() if key != "servers"} == {
        key: value for key, value in committed.items() if key != "servers"
    }


@pytest.mark.parametrize(
    "path",
    [
        "nothing-here",
        "event",
        "event?id=stripe/evt_never_seen",
        "event/replay?id=%00%0a",
        "events?status=bogus",
        "events?window=99y",
        "rejected/request?id=../../etc/passwd",
        "static/../../pyproject.toml",
        "dead-letters?source=%E2%80%AEevil",
        "docs/../openapi.json",
    ],
)
def test_what_a_visitor_asks_for_is_never_a_server_error(stack: DevStack, path: str) -> None:
    status, page, _ = fetch(stack.inspector_url + path)
    assert status < 500, page
    assert "Traceback" not in page


def test_a_huge_or_bodiless_post_changes_nothing(stack: DevStack) -> None:
    url = f"{stack.inspector_url}event/replay"
    assert fetch(url, data={"token": "x" * 50_000})[0] == 403
    assert fetch(url, data={})[0] == 403


def test_the_project_readme_links_the_inspector() -> None:
    readme = (Path(ROOT) / "README.md").read_text()
    assert "inspector: http://127.0.0.1:3100/?key=" in readme


def test_a_delivery_shows_the_status_its_source_answered(stack: DevStack) -> None:
    """Figma's sources answer 200 for every delivery (any other status is a failure to Figma)."""
    sent = stack.cli("send", "figma")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert " 200 recorded " in sent.stdout
    envelope_id = str(json.loads(sent.stdout.split("  ")[-1])["id"])
    rows = fetch(f"{stack.inspector_url}events/rows?source=figma")[1]
    (answer,) = re.findall(rf'data-id="{re.escape(envelope_id)}".*?<td class="http[^"]*">([^<]*)</td>', rows, re.S)
    assert answer == "200"
