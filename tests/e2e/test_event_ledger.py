"""The event ledger as a user meets it on `webhooks dev`: what `webhooks send` delivered
is listed processed with its deliveries, shown with its timeline, run exactly once more
by `events replay --force`, and a broken handler's event is listed dead."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DevStack, start_stack, stop
from tests.support.project import fixture_project

pytestmark = pytest.mark.e2e
HANDLERS = Path("functions") / "processor" / "handlers" / "github_handlers.py"
BROKEN = '    raise RuntimeError("the push service is down")\n'


def send(stack: DevStack, source: str, *options: str) -> str:
    """`webhooks send`: the envelope id the receiver recorded (of the first, with --times)."""
    port = stack.url.rsplit(":", 1)[1]
    sent = stack.cli("send", source, "--port", port, *options)
    assert sent.returncode == 0, sent.stderr
    return str(json.loads(sent.stdout.splitlines()[0].split("  ")[-1])["id"])


def listed(stack: DevStack, *filters: str) -> dict[str, dict[str, Any]]:
    listing = stack.cli("events", "list", "--json", *filters)
    assert listing.returncode == 0, listing.stderr
    return {item["id"]: item for item in json.loads(listing.stdout)}


def processed_lines(stack: DevStack) -> Counter[str]:
    return Counter(line.split()[2] for line in stack.lines if " processed " in line)


def test_events_are_listed_shown_replayed_once_more_and_a_broken_handlers_is_listed_dead(tmp_path: Path) -> None:
    project = fixture_project(tmp_path / "project")
    handlers = project / HANDLERS
    original = handlers.read_text()
    broken = original.replace("    push = event.payload\n", "    push = event.payload\n" + BROKEN, 1)
    assert broken != original
    handlers.write_text(broken)
    stack = start_stack(tmp_path, "--visibility-timeout", "0", project_dir=project)
    try:
        twice = send(stack, "stripe", "--times", "2")  # the provider sent it twice: one event
        others = [send(stack, "stripe"), send(stack, "stripe", "--type", "invoice.payment_failed")]
        accepted = [twice, *others]
        for envelope_id in accepted:
            stack.wait_for(rf"processed\s+{envelope_id}\b")
        dead = send(stack, "github", "--type", "push")
        stack.wait_for(rf"failed\s+{dead}\b.*next receive moves it to the DLQ", timeout=60)

        events = listed(stack)
        for envelope_id in accepted:
            assert events[envelope_id]["status"] == "processed", events[envelope_id]
            assert events[envelope_id]["attempts"] == 1
        # Every POST of it counts, a copy answered 409 while the first was in flight too.
        assert events[twice]["deliveries"] >= 2
        assert [events[envelope_id]["deliveries"] for envelope_id in others] == [1, 1]

        shown = stack.cli("events", "show", twice)
        assert shown.returncode == 0, shown.stderr
        timeline = shown.stdout.split("timeline", 1)[1]
        assert timeline.index("received") < timeline.index("processing") < timeline.index("processed")
        assert "attempt 1" in timeline
        assert '"object": "event"' in shown.stdout  # the body, from the archive

        replayed = stack.cli("events", "replay", twice, "--force", "--yes")
        assert replayed.returncode == 0, replayed.stderr
        assert "sent 1, skipped 0, failed 0" in replayed.stdout
        stack.wait_for(rf"processed\s+{twice}\b", count=2, timeout=30)
        time.sleep(1.5)  # anything run a third time would have shown by now
        counts = processed_lines(stack)
        assert counts[twice] == 2
        assert all(counts[envelope_id] == 1 for envelope_id in others)

        dead_ones = listed(stack, "--since", "10m", "--status", "dead")
        assert list(dead_ones) == [dead]
        assert dead_ones[dead]["last_error"] == "the push service is down"
        assert dead_ones[dead]["attempts"] == 5
    finally:
        stop(stack)
