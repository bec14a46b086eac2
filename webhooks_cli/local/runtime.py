"""Runs the functions' own handlers in this process, the way the Lambda runtime
does: the layer's folder and the function's code folder are on the import path,
the environment is the one template.yaml gives the function, and each call gets
a context with the function's remaining time."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from webhooks_cli.errors import CliError


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: float
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class LoggedLine:
    """One line a function logged: its message, level and fields (the keys the
    function had appended and the line's own `extra`), and the exception it logged."""

    message: str
    level: int
    fields: dict[str, Any]
    error: BaseException | None = None


@dataclass
class Invocation:
    """One call of a function and what it logged meanwhile (function_logs fills `logged`);
    `service` is the function's POWERTOOLS_SERVICE_NAME in template.yaml, which its logs
    and metrics carry (one process runs both functions: no one environment can say it)."""

    context: LambdaContext
    logged: list[LoggedLine] = field(default_factory=list)
    service: str = ""


# Each function runs on a thread of its own per call (the gateway's request threads, the
# poller's thread): what a thread runs now is what its log lines belong to. A context
# variable, so a thread the function starts in a copy of its context (the processor's
# handler thread) belongs to the same invocation.
_running: ContextVar[Invocation | None] = ContextVar("local_invocation", default=None)


def current_invocation() -> Invocation | None:
    return _running.get()


@dataclass
class LocalFunction:
    name: str
    handler: Any
    timeout_seconds: float
    memory_mb: int
    # The module the handler is in (None for a bare handler): what its caches live in.
    module: ModuleType | None = None
    # Its POWERTOOLS_SERVICE_NAME in template.yaml.
    service: str = ""

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.call(event)[0]

    def call(self, event: dict[str, Any]) -> tuple[Any, Invocation]:
        """The handler's result and the invocation, with what it logged (an exception
        the handler raises propagates, as the runtime reports it)."""
        invocation = Invocation(LambdaContext(self.name, self.timeout_seconds, self.memory_mb), service=self.service)
        running = _running.set(invocation)
        try:
            return self.handler(event, invocation.context), invocation
        finally:
            _running.reset(running)


def load_function(
    name: str, *, code_dir: Path, layer_dir: Path, handler: str, timeout: float, memory: int, service: str = ""
) -> LocalFunction:
    """Import `handler` ("module.function") from `code_dir` under a name of its own,
    so two functions' `app` modules can live in one process."""
    for folder in (layer_dir, code_dir):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))  # what /opt/python and /var/task are to the Lambda runtime
    module_name, _, function_name = handler.rpartition(".")
    path = code_dir / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"local_functions.{name}.{module_name}", path)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return LocalFunction(name, getattr(module, function_name), timeout, memory, module, service)
