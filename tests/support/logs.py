"""What the functions' Powertools logger writes, caught for a test."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from webhook_core.observability import logger


@contextmanager
def written_logs() -> Iterator[io.StringIO]:
    """The logger's JSON lines (to stdout in the stack, on Lambda and with --verbose)."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    before = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(before)
