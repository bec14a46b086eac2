"""Issue 5's "done when", as a new user would do it on the local stack: a failing
handler's deliveries land in the DLQ; `webhooks dlq list` shows why; after the
handler is fixed, `webhooks dlq replay` processes each once and the DLQ is empty."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import start_stack, stop
from tests.support.project import break_checkout_handler, fixture_project

pytestmark = pytest.mark.e2e


def test_dead_letters_are_listed_with_their_reason_and_replayed_once_after_the_fix(tmp_path: Path) -> None:
    project = fixture_project(tmp_path / "project")
    fix_handler = break_checkout_handler(project)

    stack = start_stack(tmp_path, "--visibility-timeout", "0", project_dir=project)
    webhooks = stack.cli

    try:
        port = stack.url.rsplit(":", 1)[1]
        accepted = []
        for _ in range(3):
            sent = webhooks("send", "stripe", "--port", port)
            assert sent.returncode == 0, sent.stderr
            accepted.append(json.loads(sent.stdout.split("  ")[-1])["id"])
        for envelope_id in accepted:
            stack.wait_for(rf"failed\s+{envelope_id}\b.*next receive moves it to the DLQ", timeout=60)

        listing = webhooks("dlq", "list", "--json")
        for _ in range(20):
            if len(json.loads(listing.stdout or "[]")) == 3:
                break
            listing = webhooks("dlq", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        letters = json.loads(listing.stdout)
        assert sorted(letter["id"] for letter in letters) == sorted(accepted)
        assert all(letter["last_error"] == "RuntimeError: the fulfilment service is down" for letter in letters)
        assert all(letter["receive_count"] == 5 for letter in letters)

        table = webhooks("dlq", "list")
        assert "the fulfilment service is down" in table.stdout
        shown = webhooks("dlq", "show", accepted[0])
        assert "checkout.session.completed" in shown.stdout
        assert '"payment_status": "paid"' in shown.stdout

        fix_handler()  # the running stack reloads it
        dry = webhooks("dlq", "replay", "--dry-run")
        assert "would move 3, skipped 0, failed 0" in dry.stdout
        replayed = webhooks("dlq", "replay", "--rate", "50")
        assert replayed.returncode == 0, replayed.stderr
        assert "moved 3, skipped 0, failed 0" in replayed.stdout
        for envelope_id in accepted:
            stack.wait_for(rf"processed\s+{envelope_id}\b", timeout=30)

        assert json.loads(webhooks("dlq", "list", "--json").stdout) == []
        processed = Counter(line.split()[2] for line in stack.lines if line.split()[1:2] == ["processed"])
        assert all(processed[envelope_id] == 1 for envelope_id in accepted)
        assert "handlers changed on disk: reloaded" in stack.output()
    finally:
        stop(stack)
