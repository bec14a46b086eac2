"""The one test of the shipped examples, which users replace (README, "Write a handler"):
the shipped sources parse and the example handlers import and register. Every other test
uses the tests' own sources and handlers (tests/fixtures), so replacing the examples
never turns `make test` red; the last test here keeps it so."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from webhook_core.sources import load_sources

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SOURCES = ROOT / "functions" / "receiver" / "sources.json"
PROCESSOR = ROOT / "functions" / "processor"
# Imports the example handlers as Lambda does (the function's folder and the layer on the
# path) and prints what they registered for.
REGISTER = """
import importlib, json
from webhook_core.registry import default_registry
importlib.import_module("handlers")
print(json.dumps(sorted([r.name, r.event_type, r.function.__module__] for r in default_registry.registrations())))
"""
# What only this file may name: the shipped sources file and the example handlers.
SHIPPED_REFERENCES = re.compile(
    r"stripe_examples|github_examples"
    r"|functions/receiver/sources\.json|\"receiver\"\s*/\s*\"sources\.json\""
    r"|import_module\(\s*[\"']handlers[\"']|^\s*(?:from|import) handlers\b"
    r"|_app\.SOURCES_FILE|project\(\)\.sources_file|WEBHOOKS_PROJECT_DIR.*\bROOT\b|project_dir=ROOT",
    re.MULTILINE,
)


def test_the_shipped_sources_parse_and_the_example_handlers_import_and_register() -> None:
    sources = load_sources(SHIPPED_SOURCES)
    # The processor reads the same file (to warn of handlers nothing reaches).
    assert (PROCESSOR / "sources.json").resolve() == SHIPPED_SOURCES.resolve()

    result = subprocess.run(
        [sys.executable, "-c", REGISTER],
        env={"PYTHONPATH": f"{PROCESSOR}:{ROOT / 'layers' / 'core'}", "PATH": ""},
        cwd=PROCESSOR,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # A project may ship no handler yet (every event then acknowledged as unhandled); what
    # the handlers do register must be reachable.
    registered = json.loads(result.stdout)
    configured = {source.name for source in sources.values()} | {source.kind for source in sources.values()}
    configured |= {source.preset.name for source in sources.values() if source.preset}
    assert all(name in configured for name, _, _ in registered), registered
    assert all(module.startswith("handlers.") for _, _, module in registered), registered


def test_no_other_test_or_benchmark_depends_on_the_shipped_examples() -> None:
    here = Path(__file__).resolve()
    modules = [path for folder in ("tests", "benchmarks") for path in sorted((ROOT / folder).rglob("*.py"))]
    offenders = {
        str(path.relative_to(ROOT)): sorted({match.group(0).strip() for match in SHIPPED_REFERENCES.finditer(text)})
        for path in modules
        if path.resolve() != here and SHIPPED_REFERENCES.search(text := path.read_text(encoding="utf-8"))
    }
    assert offenders == {}
