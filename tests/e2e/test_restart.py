"""`webhooks dev` keeps its state across a restart (README, "Two-minute tour"): a delivery
processed before a restart is a duplicate after it, a dead letter from before is listed
and replayed after it, the source secrets the stack held win over the dev secrets file,
a killed stack loses only its last few seconds, and `--fresh` starts clean."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DevStack, assert_nothing_leaked, start_stack, stop
from tests.e2e.test_local_stack import SOURCES, post, secret
from tests.support.devstack import interrupt
from tests.support.project import fixture_project
from webhooks_cli import signing
from webhooks_cli.local.persistence import AUTOSAVE_SECONDS, SNAPSHOT_NAME, STATE_FOLDER, Snapshot

pytestmark = pytest.mark.e2e
HANDLERS = Path("functions") / "processor" / "handlers" / "stripe_handlers.py"
BROKEN = '    raise RuntimeError("the fulfilment service is down")\n'


def dead_letters(stack: DevStack, expected: int) -> list[dict[str, Any]]:
    """`webhooks dlq list --json`, once the redrive has moved `expected` letters."""
    letters: list[dict[str, Any]] = []
    for _ in range(20):
        listing = stack.cli("dlq", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        letters = json.loads(listing.stdout)
        if len(letters) == expected:
            break
        time.sleep(0.5)
    return letters


def saved_snapshot(project: Path) -> Snapshot:
    return Snapshot.from_bytes((project / STATE_FOLDER / SNAPSHOT_NAME).read_bytes())


def state_line(stack: DevStack) -> str:
    """What the banner says of the kept state."""
    return stack.wait_for(r"^State\s+")[0].split(None, 1)[1]


def processed(stack: DevStack) -> Counter[str]:
    return Counter(line.split()[2] for line in stack.lines if line.split()[1:2] == ["processed"])


def test_a_restart_keeps_dedupe_records_dead_letters_and_secrets_and_fresh_forgets_them(tmp_path: Path) -> None:
    project = fixture_project(tmp_path / "project")
    handlers = project / HANDLERS
    original = handlers.read_text()
    fetch = "    session = event.payload.data.object\n"
    handlers.write_text(original.replace(fetch, fetch + BROKEN, 1))

    # First run: a GitHub delivery processed, a Stripe one dead-lettered by its broken handler.
    first = start_stack(tmp_path, "--visibility-timeout", "0", project_dir=project)
    try:
        assert state_line(first) == "new; kept in project/.webhooks-dev/ across restarts"
        github = signing.sign(SOURCES["github"], secret(first, "github"))
        status, answer = post(f"{first.url}/webhooks/github", github.body, github.headers)
        assert (status, answer["status"]) == (202, "accepted")
        github_id = answer["id"]
        first.wait_for(rf"processed\s+{re.escape(github_id)}(\s|$)")

        stripe = signing.sign(SOURCES["stripe"], secret(first, "stripe"))
        status, answer = post(f"{first.url}/webhooks/stripe", stripe.body, stripe.headers)
        assert status == 202
        stripe_id = answer["id"]
        first.wait_for(rf"failed\s+{re.escape(stripe_id)}\s.*next receive moves it to the DLQ", timeout=60)
        assert [letter["id"] for letter in dead_letters(first, 1)] == [stripe_id]
        assert interrupt(first) == 0
    finally:
        stop(first)
    # The command as the shell that started it runs it (here: python -m webhooks_cli).
    assert first.lines[-2] == "stopped"
    assert re.fullmatch(
        r"state kept in project/\.webhooks-dev/ \(`.*webhooks_cli dev --fresh` starts clean\)", first.lines[-1]
    )
    assert_nothing_leaked(first)

    # While it is stopped: the handler is fixed, and the dev secrets file is edited (the
    # secrets the stack held win: they are what `webhooks secrets set` last made them).
    handlers.write_text(original)
    secrets_file = first.secrets_file
    on_file = json.loads(secrets_file.read_text())
    secrets_file.write_text(json.dumps({**on_file, "github": ["stale-secret-in-the-file"]}))

    second = start_stack(tmp_path, "--visibility-timeout", "0", project_dir=project)
    try:
        state = state_line(second)
        assert re.fullmatch(
            r"restored 2 events, (\d+ other records?, )?1 dead letter, (\d+ S3 objects, )?1 secret "
            r"from project/\.webhooks-dev/",
            state,
        ), state
        assert json.loads(secrets_file.read_text()) == on_file
        assert post(f"{second.url}/webhooks/github", github.body, github.headers) == (
            200,
            {"status": "duplicate", "id": github_id},
        )

        (letter,) = dead_letters(second, 1)
        assert (letter["id"], letter["receive_count"]) == (stripe_id, 5)
        assert letter["last_error"] == "RuntimeError: the fulfilment service is down"
        replayed = second.cli("dlq", "replay", "--rate", "50")
        assert replayed.returncode == 0, replayed.stderr
        assert "moved 1, skipped 0, failed 0" in replayed.stdout
        second.wait_for(rf"processed\s+{re.escape(stripe_id)}(\s|$)", timeout=30)
        assert processed(second) == Counter({stripe_id: 1})  # and GitHub's handler did not run again

        # Killed, not stopped: the snapshot of the last few seconds is what remains.
        dead_letter_queue = json.loads(second.state_file.read_text())["dead_letter_queue_url"].rsplit("/", 1)[1]
        deadline = time.monotonic() + AUTOSAVE_SECONDS * 4
        while saved_snapshot(project).queues[dead_letter_queue] and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(second.process.pid, signal.SIGKILL)
        second.process.wait(10)
    finally:
        stop(second)
    assert saved_snapshot(project).queues[dead_letter_queue] == []
    assert_nothing_leaked(second)

    third = start_stack(tmp_path, "--visibility-timeout", "0", "--fresh", project_dir=project)
    try:
        assert state_line(third) == "new; kept in project/.webhooks-dev/ across restarts"
        assert dead_letters(third, 0) == []
        status, answer = post(f"{third.url}/webhooks/github", github.body, github.headers)
        assert (status, answer["status"]) == (202, "accepted")
        third.wait_for(rf"processed\s+{re.escape(github_id)}(\s|$)")
        assert interrupt(third) == 0
    finally:
        stop(third)
    assert_nothing_leaked(third)

    # A snapshot that cannot be read stops the start in one line, and is left as it is.
    snapshot_file = project / STATE_FOLDER / SNAPSHOT_NAME
    damaged = snapshot_file.read_bytes()[:100]
    snapshot_file.write_bytes(damaged)
    refused = third.cli("dev", "--port", "0", "--aws-port", "0")
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"Error: {snapshot_file} is damaged: ")
    assert line.endswith("; start with --fresh")
    assert snapshot_file.read_bytes() == damaged
