"""What a receiver's cold start loads, seen from a fresh interpreter as Lambda starts one."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.support.project import ROOT


def after_cold_start(probe: str, *, sources: list[dict[str, Any]] | None = None, setup: str = "") -> Any:
    """The JSON value of the expression `probe`, evaluated in a fresh interpreter that ran
    `setup`, imported the receiver's handler and parsed `sources` (as its cold start does),
    and nothing else (no PATH: nothing on the machine is found by accident)."""
    parse = f"parse_sources({{'sources': {sources!r}}})\n" if sources is not None else ""
    script = (
        "import sys, json\n"
        "from webhook_core.sources import parse_sources\n"
        "import functions.receiver.app\n"
        f"{setup}\n{parse}"
        f"print(json.dumps({probe}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}", "PATH": ""},
    )
    return json.loads(result.stdout)
