"""The tests' own configuration in place of the shipped examples, which users replace:
the fixture sources and handlers (tests/fixtures), for the functions in this process
(SOURCES_FILE, HANDLERS_MODULE) and for the dev stack (a project folder of its own)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
FIXTURE_SOURCES = FIXTURES / "sources.json"
FIXTURE_HANDLERS_MODULE = "tests.fixtures.handlers"


def fixture_project(
    destination: Path, handlers: Path = FIXTURES / "handlers", sources: dict[str, Any] | None = None
) -> Path:
    """This project as a user would have it after replacing the examples: the functions'
    code, with the fixture sources.json (or the `sources` document given) and `handlers`
    (by default the fixture handlers)."""
    destination.mkdir(parents=True)
    shutil.copy2(ROOT / "template.yaml", destination / "template.yaml")
    shutil.copy2(ROOT / "openapi.json", destination / "openapi.json")  # the API docs the stack serves
    shutil.copytree(ROOT / "events", destination / "events")  # `webhooks sam-events` writes here
    (destination / "layers").mkdir()
    (destination / "layers" / "core").symlink_to(ROOT / "layers" / "core")  # read only, as Lambda's /opt
    ignored = shutil.ignore_patterns("__pycache__", "handlers", "sources.json")
    shutil.copytree(ROOT / "functions", destination / "functions", ignore=ignored)
    receiver = destination / "functions" / "receiver"
    if sources is None:
        shutil.copy2(FIXTURE_SOURCES, receiver / FIXTURE_SOURCES.name)
    else:
        (receiver / FIXTURE_SOURCES.name).write_text(json.dumps(sources), encoding="utf-8")
    # As in the project: the processor reads the receiver's file through a link.
    (destination / "functions" / "processor" / "sources.json").symlink_to(Path("..", receiver.name, "sources.json"))
    shutil.copytree(handlers, destination / "functions" / "processor" / "handlers", ignore=ignored)
    return destination


STRIPE_HANDLERS = Path("functions") / "processor" / "handlers" / "stripe_handlers.py"
BROKEN_CHECKOUT = '    raise RuntimeError("the fulfilment service is down")\n'


def break_checkout_handler(project: Path) -> Callable[[], None]:
    """Make the fixture project's checkout.session.completed handler raise
    `RuntimeError: the fulfilment service is down` (the invoice handler still works);
    the function returned fixes it, as a user edits the file while the stack runs."""
    handlers = project / STRIPE_HANDLERS
    original = handlers.read_text()
    line = "    session = event.payload.data.object\n"
    broken = original.replace(line, line + BROKEN_CHECKOUT, 1)
    assert broken != original, "the fixture checkout handler changed: update break_checkout_handler"
    handlers.write_text(broken)

    def fix() -> None:
        handlers.write_text(original)

    return fix
