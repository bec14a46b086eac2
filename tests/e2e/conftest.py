"""End-to-end: `webhooks dev` in a subprocess on free ports, driven over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.devstack import ROOT, DevStack, start_stack, stop
from tests.support.leaks import WATCH

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
    """After its banner (which shows the dev secrets, by design), the stack's output
    (every request, every record processed) never holds a secret or a signature."""
    banner_end = next((i for i, line in enumerate(stack.lines) if line.startswith("Ctrl-C stops it")), 0)
    if stack.secrets_file.exists():
        WATCH.watch(*(value for values in json.loads(stack.secrets_file.read_text()).values() for value in values))
    for line in stack.lines[banner_end + 1 :]:
        WATCH.see("dev stack output", line)
    found = WATCH.leaks()
    assert not found, "secret or signature leaked: " + "; ".join(sorted(set(found))[:5])
