"""The functions' Powertools logs and metrics in the one process `webhooks dev` runs
both functions in.

Lambda runs one invocation per process; here the receiver's invocations (a thread per
request) and the processor's (the poller's thread) share webhook_core.observability's
logger, created when the CLI first imported it, before `webhooks dev` chose a level. So
`webhooks dev` sets them itself, once its options are known:

- the logger's keys (function_name, envelope_id, …) are kept per thread, so each
  function's lines carry its own;
- its JSON lines and the metrics reach the terminal only with --verbose;
- every line an invocation logs is handed to that invocation (runtime.Invocation), so
  the readable lines can say why a delivery was refused or what a record failed on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from webhooks_cli.local.runtime import LoggedLine, current_invocation

# Above CRITICAL: the Powertools handler writes nothing.
SILENT = logging.CRITICAL + 10
# The standard attributes of a LogRecord: what is left is the line's own `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class PerThreadKeysFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with the appended keys kept per thread: Lambda never
    runs two invocations in one process, `webhooks dev` does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._per_thread = threading.local()
        self._first_keys: dict[str, Any] = {}
        super().__init__(*args, **kwargs)
        # What a thread starts from: the keys as configured, before any invocation.
        self._first_keys = dict(self.log_format)

    @property
    def log_format(self) -> dict[str, Any]:
        keys: dict[str, Any] | None = getattr(self._per_thread, "keys", None)
        if keys is None:
            keys = self._per_thread.keys = dict(self._first_keys)
        return keys

    @log_format.setter
    def log_format(self, keys: dict[str, Any]) -> None:
        self._per_thread.keys = keys


class InvocationLines(logging.Handler):
    """Hands each line a function logs to the invocation running on its thread."""

    def __init__(self, formatter: PerThreadKeysFormatter) -> None:
        super().__init__(logging.INFO)
        self.keys_of = formatter

    def emit(self, record: logging.LogRecord) -> None:
        invocation = current_invocation()
        if invocation is None:
            return
        own = {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES}
        error = record.exc_info[1] if record.exc_info else None
        invocation.logged.append(
            LoggedLine(record.getMessage(), record.levelno, {**self.keys_of.log_format, **own}, error)
        )


def take_over(logger: Logger, *, verbose: bool) -> Callable[[], None]:
    """Configure the functions' logger for `webhooks dev` (their metrics follow
    POWERTOOLS_METRICS_DISABLED, which the stack sets); the function returned puts the
    logger back as it was."""
    handler = logger.registered_handler
    before = (handler.formatter, handler.level, logger.log_level)
    formatter = PerThreadKeysFormatter()
    handler.setFormatter(formatter)
    handler.setLevel(logging.NOTSET if verbose else SILENT)
    lines = InvocationLines(formatter)
    logger.addHandler(lines)
    # INFO whatever is shown: the readable lines are made from INFO lines too (accepted, …).
    logger.setLevel(logging.INFO)

    def give_back() -> None:
        logger._logger.removeHandler(lines)  # Logger has no removeHandler of its own
        handler.setFormatter(before[0])
        handler.setLevel(before[1])
        logger.setLevel(before[2])

    return give_back
