"""The functions' Powertools logs and metrics in the one process `webhooks dev` runs
both functions in.

Lambda runs one invocation per process; here the receiver's invocations (a thread per
request) and the processor's (the poller's thread) share webhook_core.observability's
logger, created when the CLI first imported it, before `webhooks dev` chose a level. So
`webhooks dev` sets them itself, once its options are known:

- the logger's keys (function_name, envelope_id, …) are kept per thread, so each
  function's lines carry its own; its `service` (and the metrics') is the running
  function's POWERTOOLS_SERVICE_NAME in template.yaml, as each function's own process
  reads it on Lambda (here the logger was made before, from no such variable);
- its JSON lines and the metrics reach the terminal only with --verbose;
- every line an invocation logs is handed to that invocation (runtime.Invocation), so
  the readable lines can say why a delivery was refused or what a record failed on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from webhooks_cli.local.runtime import LoggedLine, current_invocation

# Above CRITICAL: the Powertools handler writes nothing.
SILENT = logging.CRITICAL + 10
# The standard attributes of a LogRecord: what is left is the line's own `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# The appended keys of the invocation running in this context (see PerThreadKeysFormatter).
_KEYS: ContextVar[dict[int, dict[str, Any]] | None] = ContextVar("function_log_keys", default=None)


class PerThreadKeysFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with the appended keys kept per thread: Lambda never
    runs two invocations in one process, `webhooks dev` does. Kept in a context variable,
    so a thread started in a copy of the invocation's context (the processor's handler
    thread) logs with the invocation's keys, as it would on Lambda."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._first_keys: dict[str, Any] = {}
        super().__init__(*args, **kwargs)
        # What a thread starts from: the keys as configured, before any invocation.
        self._first_keys = dict(self.log_format)

    def _own(self) -> dict[int, dict[str, Any]]:
        """This context's keys, by formatter (a test may take over the logger twice)."""
        by_formatter = _KEYS.get()
        if by_formatter is None:
            by_formatter = {}
            _KEYS.set(by_formatter)
        return by_formatter

    @property
    def log_format(self) -> dict[str, Any]:
        own = self._own()
        keys = own.get(id(self))
        if keys is None:
            keys = own[id(self)] = dict(self._first_keys)
        invocation = current_invocation()
        if invocation is not None and invocation.service:
            keys["service"] = invocation.service  # what clear_state put back is the process's
        return keys

    @log_format.setter
    def log_format(self, keys: dict[str, Any]) -> None:
        self._own()[id(self)] = keys


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


def _service_per_invocation(metrics: Metrics) -> Callable[[], None]:
    """The metrics' `service` dimension: the running function's (a property in place of
    the provider's attribute, which the one process's two functions would share); the
    function returned puts the provider back as it was."""
    provider = metrics.provider
    shared = type(provider)

    class PerInvocationService(shared):  # type: ignore[valid-type,misc]
        @property
        def service(self) -> str | None:
            invocation = current_invocation()
            if invocation is not None and invocation.service:
                return invocation.service
            configured: str | None = self.__dict__.get("service")
            return configured

        @service.setter
        def service(self, value: str | None) -> None:
            self.__dict__["service"] = value

    provider.__class__ = PerInvocationService

    def give_back() -> None:
        provider.__class__ = shared

    return give_back


def take_over(logger: Logger, *, verbose: bool, metrics: Metrics | None = None) -> Callable[[], None]:
    """Configure the functions' logger (and metrics) for `webhooks dev` (their metrics
    follow POWERTOOLS_METRICS_DISABLED, which the stack sets); the function returned puts
    them back as they were."""
    give_back_metrics = _service_per_invocation(metrics) if metrics is not None else None
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
        if give_back_metrics is not None:
            give_back_metrics()

    return give_back
