"""End-to-end: `webhooks dev` in a subprocess on free ports, driven over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.devstack import ROOT, DevStack, start_stack, stop
from tests.support.leaks import WATCH, LeakWatch
from webhooks_cli.devsecrets import SIGNING_KEY

__all__ = ["ROOT", "DevStack", "start_stack", "stop"]


@pytest.fixture(scope="module")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = start_stack(tmp_path_factory.mktemp("dev"), "--visibility-timeout", "1")
    try:
        yield stack
    finally:
        stop(stack)
    assert_nothing_leaked(stack)


def assert_nothing_leaked(stack: DevStack) -> None:
    """The stack's output never holds a private signing key, its banner included (which
    shows the shared dev secrets and public keys, by design); after the banner (every
    request, every record processed) it never holds a secret or a signature."""
    banner_end = next((i for i, line in enumerate(stack.lines) if line.startswith("Ctrl-C stops it")), 0)
    document = json.loads(stack.secrets_file.read_text()) if stack.secrets_file.exists() else {}
    private_keys = LeakWatch()
    private_keys.watch(
        *(value for entry, values in document.items() if entry.endswith(f"/{SIGNING_KEY}") for value in values)
    )
    for line in stack.lines[: banner_end + 1]:
        private_keys.see("dev stack banner", line)
    shown = private_keys.leaks()
    assert not shown, "private signing key printed: " + "; ".join(sorted(set(shown))[:5])
    WATCH.watch(*(value for values in document.values() for value in values))
    for line in stack.lines[banner_end + 1 :]:
        WATCH.see("dev stack output", line)
    found = WATCH.leaks()
    assert not found, "secret or signature leaked: " + "; ".join(sorted(set(found))[:5])
