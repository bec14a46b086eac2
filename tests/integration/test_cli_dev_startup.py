"""`webhooks dev`'s start-up mistakes are one line naming the file, the source and the
option, with a hint, and exit 1: never a traceback (a real `webhooks dev` process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.devstack import NOT_PASSED_ON
from tests.support.project import FIXTURE_SOURCES, fixture_project
from webhooks_cli.project import Project

# The project's sources file as a message names it from the project folder.
SHOWN = str(Project(Path()).sources_file)


def webhooks_dev(tmp_path: Path, project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key not in NOT_PASSED_ON}
    env.update(
        WEBHOOKS_PROJECT_DIR=str(project),
        WEBHOOKS_DEV_SECRETS_FILE=str(tmp_path / "dev-secrets.json"),
        WEBHOOKS_DEV_STATE_FILE=str(tmp_path / "dev-state.json"),
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "webhooks_cli", "dev", *arguments],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def with_sources(tmp_path: Path, sources: list[dict[str, Any]]) -> Path:
    document = json.loads(FIXTURE_SOURCES.read_text())
    return fixture_project(tmp_path / "project", sources={**document, "sources": document["sources"][:2] + sources})


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("source", "said"),
    [
        (
            {"name": "acme", "kind": "hamc"},
            f"{SHOWN}: source 'acme': kind: unknown kind 'hamc' — did you mean 'hmac'?",
        ),
        (
            {"name": "acme", "kind": "stripe", "tolerence_seconds": 60},
            f"{SHOWN}: source 'acme': tolerence_seconds: unknown option — did you mean 'tolerance_seconds'?",
        ),
        (
            {"name": "acme", "preset": "linaer"},
            f"{SHOWN}: source 'acme': preset: unknown preset 'linaer' — did you mean 'linear'?",
        ),
        (
            {"name": "acme", "kind": "twilio"},
            f"{SHOWN}: source 'acme': url: Field required (kind 'twilio' needs it)",
        ),
    ],
)
def test_a_mistake_in_the_sources_file_is_one_line_with_a_hint(
    tmp_path: Path, source: dict[str, Any], said: str
) -> None:
    result = webhooks_dev(tmp_path, with_sources(tmp_path, [source]), "--port", "0", "--aws-port", "0")
    assert one_line(result) == f"Error: {said}"


def test_a_sources_file_that_is_not_json_says_where(tmp_path: Path) -> None:
    project = fixture_project(tmp_path / "project")
    sources_file = Project(project).sources_file
    sources_file.write_text('{\n  "sources": [\n    {"name": "a" "kind": "stripe"}\n  ]\n}\n')
    result = webhooks_dev(tmp_path, project, "--port", "0", "--aws-port", "0")
    assert one_line(result) == (f"Error: {SHOWN} is not valid JSON: line 3 column 18: Expecting ',' delimiter")


@pytest.fixture
def busy_port() -> Iterator[int]:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    try:
        yield listening.getsockname()[1]
    finally:
        listening.close()


@pytest.mark.parametrize("option", ["--port", "--aws-port", "--inspector-port"])
def test_a_busy_port_says_which_and_how_to_choose_another(tmp_path: Path, busy_port: int, option: str) -> None:
    ports = {"--port": "0", "--aws-port": "0", "--inspector-port": "0", option: str(busy_port)}
    result = webhooks_dev(tmp_path, fixture_project(tmp_path / "project"), *(x for o in ports.items() for x in o))
    assert one_line(result) == f'Error: port {busy_port} is in use: make dev ARGS="{option} {busy_port + 1}"'
