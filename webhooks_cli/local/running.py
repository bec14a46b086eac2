"""One `webhooks dev` per project at a time.

A project has one state folder (.webhooks-dev/: the emulator's snapshot, so its dead
letters and records), one dev secrets file, and one state file through which `send`,
`dlq` and `secrets` find "the" local stack. A second stack on other ports would keep a
second emulator that diverges from the first, point the other commands at whichever
started last, and write its snapshot over the first's when it stops. Someone who starts
`make dev` twice has almost always forgotten the first: they are told where it runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from webhooks_cli.errors import CliError

CLAIM_NAME = "running.json"


@dataclass(frozen=True)
class RunningStack:
    pid: int
    url: str | None = None  # the API's, once it listens (None with --aws-only)
    aws_endpoint: str | None = None

    def describe(self) -> str:
        where = [f"pid {self.pid}"]
        if self.url:
            where.append(f"API {self.url}")
        if self.aws_endpoint:
            where.append(f"emulator {self.aws_endpoint}")
        if len(where) == 1:
            where.append("starting")
        return ", ".join(where)


class ProjectClaim:
    """The state folder's claim file: which process runs the project's stack, and where."""

    def __init__(self, state_folder: Path) -> None:
        self.path = state_folder / CLAIM_NAME
        self._held = False

    def take(self) -> None:
        """Claim the project for this process; CliError when a live stack holds it."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for _ in range(2):
            try:
                with self.path.open("x", encoding="utf-8") as claim:  # exclusive: two starts at once, one wins
                    claim.write(json.dumps({"pid": os.getpid()}) + "\n")
            except FileExistsError:
                holder = self.holder()
                if holder is not None:
                    raise CliError(
                        f"`webhooks dev` is already running for this project ({holder.describe()}): "
                        "use that one, or stop it (Ctrl-C in its terminal) before starting another"
                    ) from None
                self.path.unlink(missing_ok=True)  # left by a stack that did not stop cleanly
                continue
            self._held = True
            return
        raise CliError(f"cannot claim {self.path}: another `webhooks dev` is starting; try again")

    def update(self, *, url: str | None, aws_endpoint: str) -> None:
        if self._held:
            document = {"pid": os.getpid(), "url": url, "aws_endpoint": aws_endpoint}
            self.path.write_text(json.dumps(document) + "\n", encoding="utf-8")

    def release(self) -> None:
        if self._held:
            self._held = False
            self.path.unlink(missing_ok=True)

    def holder(self) -> RunningStack | None:
        """The live process that holds the claim, if any."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            holder = RunningStack(int(document["pid"]), document.get("url"), document.get("aws_endpoint"))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # gone, or a stack killed while writing it
        return holder if holder.pid != os.getpid() and _alive(holder.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, someone else's
        return True
    return True
