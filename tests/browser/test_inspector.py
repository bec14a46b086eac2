"""The inspector in a real browser, against `webhooks dev` as a user runs it: deliveries
appear live with their status while the page stays open, a forged one under Rejected
with the check that failed, a broken handler's event under Dead letters with its
error; after the handler is fixed, the page's Replay button (and its confirmation)
processes it exactly once. The API docs page renders the receiver's route."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import PageWatch
from tests.e2e.test_local_stack import post
from tests.support.devstack import ROOT, DevStack, start_stack, stop
from tests.support.project import break_checkout_handler, fixture_project
from tests.support.signers import sign

pytestmark = pytest.mark.browser

# Opt-in: regenerates the README's screenshots (WEBHOOKS_SCREENSHOTS=1).
SCREENSHOTS = os.environ.get("WEBHOOKS_SCREENSHOTS") == "1"
IMAGES = ROOT / "docs" / "images"
# A delivery reaches the page within a refresh (2 s) of being recorded; a handler that
# fails on every receive is dead after 5 receives. Generous for a loaded machine.
LIVE_MS = 30_000


@pytest.fixture(scope="module")
def broken_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Callable[[], None]]:
    """A project whose checkout handler is broken (the invoice handler works), and its fix."""
    folder = fixture_project(tmp_path_factory.mktemp("inspected") / "project")
    return folder, break_checkout_handler(folder)


@pytest.fixture(scope="module")
def stack(broken_project: tuple[Path, Callable[[], None]]) -> Iterator[DevStack]:
    project, _ = broken_project
    running = start_stack(project.parent, "--visibility-timeout", "0", project_dir=project)
    try:
        yield running
    finally:
        stop(running)


def sent(stack: DevStack, *arguments: str) -> str:
    """`webhooks send …` as a user types it: the id the receiver recorded (or its answer)."""
    result = stack.cli("send", *arguments)
    answer = json.loads(result.stdout.rsplit("  ", 1)[-1])
    return str(answer.get("id") or answer)


def test_deliveries_appear_live_and_a_dead_letter_is_replayed_once_from_the_page(
    stack: DevStack, broken_project: tuple[Path, Callable[[], None]], page: Page, page_watch: PageWatch
) -> None:
    page.goto(stack.inspector_login)
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()

    # Sent while the page is open: each appears without a reload.
    good = sent(stack, "stripe", "--type", "invoice.payment_failed")
    sent(stack, "github", "--secret", "not-the-dev-secret")  # forged: 401
    broken = sent(stack, "stripe", "--type", "checkout.session.completed")

    good_row = page.locator(f'tr[data-id="{good}"]')
    expect(good_row).to_have_attribute("data-status", "processed", timeout=LIVE_MS)
    expect(good_row.locator("td.source")).to_have_text("stripe")
    expect(good_row.locator("td.type")).to_have_text("invoice.payment_failed")
    expect(good_row.locator("td.http")).to_have_text("202")
    forged_row = page.locator('tr[data-status="rejected"]').filter(has_text="github")
    expect(forged_row.locator("td.http")).to_have_text("401", timeout=LIVE_MS)
    expect(forged_row.locator("td.error")).to_contain_text("signature_mismatch")
    broken_row = page.locator(f'tr[data-id="{broken}"]')
    expect(broken_row).to_have_attribute("data-status", "dead", timeout=LIVE_MS * 2)
    expect(broken_row.locator("td.error")).to_contain_text("RuntimeError: the fulfilment service is down")
    if SCREENSHOTS:
        page.screenshot(path=str(IMAGES / "inspector.png"))

    # One event, opened from its row.
    good_row.locator("td.id a").click()
    expect(page.get_by_role("heading", name=re.compile("Event"))).to_contain_text(good)
    expect(page.locator('[data-field="status"]')).to_have_text("processed")
    expect(page.locator("table.timeline")).to_contain_text("processing")

    # The forged one, under Rejected, with the check that failed.
    page.get_by_role("link", name="Rejected", exact=True).click()
    rejected = page.locator('tr[data-status="rejected"]').filter(has_text="github")
    expect(rejected.locator("td.error")).to_contain_text("signature_mismatch")
    rejected.locator("td.id a").click()
    expect(page.locator('[data-field="reason"]')).to_contain_text("signature_mismatch")
    expect(page.locator('[data-field="diagnosis"]')).to_contain_text("no secret of the source matched")

    # A dead event's own page offers to move its dead letter back (a replay from the
    # archive would leave the letter in the DLQ).
    page.goto(f"{stack.inspector_url}event?" + urllib.parse.urlencode({"id": broken}))
    expect(page.locator("p.actions a.button")).to_have_text(["Replay its dead letter…"])

    # The dead letter, with its error; fixed, then replayed from the page.
    page.get_by_role("link", name="Dead letters", exact=True).click()
    dead = page.locator(f'tr[data-id="{broken}"]')
    expect(dead.locator("td.error")).to_contain_text("the fulfilment service is down")
    if SCREENSHOTS:
        page.screenshot(path=str(IMAGES / "inspector-dead-letters.png"))
    _, fix_handler = broken_project
    fix_handler()  # the running stack reloads it
    dead.get_by_role("link", name="Replay…").click()
    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    expect(page.locator("form.confirm")).to_contain_text("Move the dead letter")
    page.get_by_role("button", name="Yes, do it").click()
    expect(page.locator("[data-outcome]")).to_have_text(f"{broken}: moved to the main queue")

    page.get_by_role("link", name="Open it").click()
    expect(page.locator('[data-field="status"]')).to_have_text("processed", timeout=LIVE_MS)  # the page reloads
    stack.wait_for(rf"processed\s+{re.escape(broken)}\b", timeout=30)
    processed = [line for line in stack.lines if re.search(rf"\bprocessed\s+{re.escape(broken)}\b", line)]
    assert len(processed) == 1, processed
    # Its error is history now: on its page, not in red in the list.
    expect(page.locator('[data-field="last-error"]')).to_contain_text("from an earlier attempt")
    page.get_by_role("link", name="Deliveries", exact=True).click()
    expect(page.locator(f'tr[data-id="{broken}"]')).to_have_attribute("data-status", "processed")
    expect(page.locator(f'tr[data-id="{broken}"] td.error')).to_have_text("")

    assert page_watch.console_errors == []
    assert page_watch.page_errors == []


def test_the_api_docs_served_by_the_stack_render_the_receivers_route(
    stack: DevStack, page: Page, page_watch: PageWatch
) -> None:
    page.goto(f"{stack.inspector_url}docs/")
    expect(page.locator(".opblock-summary-path").first).to_contain_text("/webhooks/{source}")
    expect(page.get_by_text("Envelope", exact=True).first).to_be_visible()
    assert page_watch.page_errors == []


HOSTILE = "\"'><img src=x onerror=alert(1)><script>alert(2)</script>"


def test_a_hostile_senders_fields_are_text_on_every_page_and_after_a_live_refresh(
    stack: DevStack, page: Page, page_watch: PageWatch
) -> None:
    """Ids, types, headers, query strings and bodies are the sender's: markup in them
    stays text in the first render, in the rows the page's script swaps in (innerHTML),
    in attributes (data-id) and in links. The page's CSP would block inline script as
    well; this checks that no element is made at all."""
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    page.goto(stack.inspector_login)
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()

    secret = json.loads(stack.secrets_file.read_text())["stripe"][0]
    body = json.dumps({"id": "evt_" + HOSTILE, "type": "t" + HOSTILE, "object": "event", "note": HOSTILE}).encode()
    url = f"{stack.url}/webhooks/stripe"
    assert post(url, body, sign("stripe", body, secret=secret).headers)[0] == 202
    forged = sign("stripe", body, secret="whsec_not_the_sources_secret_0123456789")
    assert post(url + "?q=" + urllib.parse.quote(HOSTILE), body, {**forged.headers, "X-Note": HOSTILE})[0] == 401

    hostile_row = page.locator("tr[data-status]").filter(has_text="onerror").first
    expect(hostile_row).to_be_visible(timeout=LIVE_MS)  # swapped in by the live refresh
    assert page.locator("main img, main script").count() == 0
    event_row = page.locator("tr[data-status]").filter(has_text="stripe/evt_").filter(has_text="onerror")
    expect(event_row.locator("td.id")).to_have_text(f"stripe/evt_{HOSTILE}")
    assert event_row.get_attribute("data-id") == f"stripe/evt_{HOSTILE}"

    event_row.locator("td.id a").click()
    expect(page.get_by_role("heading", name=re.compile("Event"))).to_contain_text(HOSTILE)
    expect(page.locator("pre.body")).to_contain_text("<script>alert(2)</script>")
    assert page.locator("main img, main script").count() == 0

    page.get_by_role("link", name="Rejected", exact=True).click()
    page.locator('tr[data-status="rejected"] td.id a').first.click()
    expect(page.locator("table.headers")).to_contain_text(HOSTILE)
    assert page.locator("main img, main script").count() == 0
    page.get_by_role("link", name="Verify again and accept…").click()
    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    assert page.locator("main img, main script").count() == 0

    assert dialogs == []
    assert page_watch.page_errors == []
