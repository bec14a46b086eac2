"""The README's handler example, pasted as it says into a project whose examples were
replaced, runs for the sample event it names (README, "Write a handler")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, start_stack, stop
from tests.support.project import fixture_project

pytestmark = pytest.mark.e2e
FIRST_LINE = "# functions/processor/handlers/billing.py"


def readme_handler() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(" + re.escape(FIRST_LINE) + r".*?)```", readme, re.S)
    assert found, "the README's handler example"
    return found.group(1)


def test_the_readmes_handler_example_runs_for_the_sample_it_names(tmp_path: Path) -> None:
    handlers = tmp_path / "handlers"
    handlers.mkdir()
    (handlers / "billing.py").write_text(readme_handler(), encoding="utf-8")
    (handlers / "__init__.py").write_text("from . import billing\n", encoding="utf-8")
    project = fixture_project(tmp_path / "project", handlers=handlers)
    stack = start_stack(tmp_path, "--verbose", project_dir=project)
    try:
        sent = stack.cli("send", "stripe", "--type", "invoice.paid")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        envelope_id = str(json.loads(sent.stdout.split("  ")[-1])["id"])
        stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\s+invoice\.paid(\s|$)", timeout=30)
        logged = [json.loads(line) for line in list(stack.lines) if line.startswith("{") and "invoice paid" in line]
        assert [(line["message"], line["invoice"]) for line in logged] == [("invoice paid", "in_Example")]
    finally:
        stop(stack)
