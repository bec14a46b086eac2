"""`webhooks dev` in a subprocess on free ports, for the end-to-end tests and the soak."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from tests.support.project import fixture_project

ROOT = Path(__file__).resolve().parents[2]
# The stack's own project folder names its sources and handlers: not the settings the
# tests give the functions they run in their own process (tests/conftest.py).
# What the tests set for the functions they run in process, which a user's shell does not.
NOT_PASSED_ON = ("SOURCES_FILE", "HANDLERS_MODULE", "POWERTOOLS_SERVICE_NAME")
STARTUP_SECONDS = 60
# Each running stack's inspector address and the key its banner printed, for a test's
# HTTP client to send as the browser that opened the link would (its cookie).
INSPECTOR_KEYS: dict[str, str] = {}


@dataclass
class DevStack:
    process: subprocess.Popen[str]
    url: str = ""
    aws_endpoint: str = ""
    # The inspector page (and the API docs under docs/), and the key its banner line's
    # link carries (the pages open only with it: `inspector_login`, or `inspector_cookie`).
    inspector_url: str = ""
    inspector_key: str = ""
    lines: list[str] = field(default_factory=list)
    secrets_file: Path = Path()
    project_dir: Path = ROOT
    # Where it was started: the folder its user's shell is in.
    cwd: Path = ROOT
    # Reads the process's output into `lines` until it ends.
    reader: threading.Thread | None = None

    @property
    def state_file(self) -> Path:
        return self.secrets_file.with_name("dev-state.json")

    @property
    def inspector_login(self) -> str:
        """The link the banner prints: it opens the inspector in a browser."""
        return f"{self.inspector_url}?key={self.inspector_key}"

    @property
    def inspector_cookie(self) -> dict[str, str]:
        """The header a browser sends once it opened `inspector_login`."""
        port = self.inspector_url.rstrip("/").rsplit(":", 1)[1]
        return {"Cookie": f"webhooks-inspector-{port}={self.inspector_key}"}

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 20, count: int = 1) -> list[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            found = [line for line in list(self.lines) if regex.search(line)]
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"no {count} x {pattern!r} in the stack's output within {timeout}s:\n{self.output()[-4000:]}"
        )

    def cli(self, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`webhooks …` in a subprocess, aimed at this stack (and, with --stack, at its emulator)."""
        return self.run([sys.executable, "-m", "webhooks_cli", *arguments], stdin=stdin)

    def run(self, command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A command as its user's shell runs it: in the folder the stack was started
        from, with the stack's project and files."""
        env = {
            key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key not in NOT_PASSED_ON
        }
        env.update(
            WEBHOOKS_PROJECT_DIR=str(self.project_dir),
            WEBHOOKS_DEV_SECRETS_FILE=str(self.secrets_file),
            WEBHOOKS_DEV_STATE_FILE=str(self.state_file),
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            COLUMNS="200",
        )
        return subprocess.run(
            command,
            cwd=self.cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def aws(self, service: str) -> object:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )


def start_stack(
    tmp_path: Path,
    *extra: str,
    ready: str = r"^Webhooks\s+POST http://127\.0\.0\.1:\d+",
    project_dir: Path | None = None,
) -> DevStack:
    """The stack of `project_dir`, by default a fixture project (the tests' sources and
    handlers, never the shipped examples) made in `tmp_path`."""
    project_dir = project_dir or fixture_project(tmp_path / "project")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key not in NOT_PASSED_ON}
    env.update(
        WEBHOOKS_PROJECT_DIR=str(project_dir),
        WEBHOOKS_DEV_SECRETS_FILE=str(tmp_path / "dev-secrets.json"),
        WEBHOOKS_DEV_STATE_FILE=str(tmp_path / "dev-state.json"),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    command = [sys.executable, "-m", "webhooks_cli", "dev", "--port", "0", "--aws-port", "0", *extra]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack = DevStack(process, secrets_file=tmp_path / "dev-secrets.json", project_dir=project_dir, cwd=tmp_path)
    assert process.stdout is not None
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            stack.lines.append(line.rstrip("\n"))

    stack.reader = threading.Thread(target=pump, daemon=True)
    stack.reader.start()
    try:
        (webhooks,) = stack.wait_for(ready, timeout=STARTUP_SECONDS)
        (emulator,) = stack.wait_for(r"^AWS emulator\s+http://", timeout=5)
        stack.wait_for(r"^Ctrl-C stops it", timeout=10)  # the end of the banner
    except AssertionError:
        stop(stack)
        raise
    found = re.search(r"(http://127\.0\.0\.1:\d+)", webhooks)
    stack.url = found.group(1) if found else ""
    stack.aws_endpoint = re.search(r"(http://127\.0\.0\.1:\d+)", emulator).group(1)  # type: ignore[union-attr]
    for line in stack.lines:
        printed = re.match(r"inspector: (http://127\.0\.0\.1:\d+/)\?key=(\S+)", line)
        if printed:
            stack.inspector_url, stack.inspector_key = printed.groups()
            INSPECTOR_KEYS[stack.inspector_url] = stack.inspector_key
    return stack


def interrupt(stack: DevStack, timeout: float = 30) -> int:
    """Ctrl-C, as a user stops it: its exit status, once every line it wrote is in `lines`."""
    stack.process.send_signal(signal.SIGINT)
    status = stack.process.wait(timeout)
    if stack.reader is not None:
        stack.reader.join(timeout)
    return status


def stop(stack: DevStack) -> None:
    """Whatever happened, leave no process behind."""
    if stack.process.poll() is None:
        os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait(10)
