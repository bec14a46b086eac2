"""Secrets never leak: every secret the tests configure and every signature header
value they send is watched; every log record the code writes and every response body
the receiver returns is seen; a watched value inside anything seen is a leak.
(tests/conftest.py checks after every test, across the whole suite.)"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

# Shorter values (a one-letter test key) would match by chance.
MIN_WATCHED = 8


@dataclass
class LeakWatch:
    watched: set[str] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)
    looked_at: int = 0

    def watch(self, *values: str) -> None:
        self.watched.update(value for value in values if isinstance(value, str) and len(value) >= MIN_WATCHED)

    def see(self, where: str, text: str) -> None:
        self.seen.append((where, text))

    def leaks(self) -> list[str]:
        """Where a watched value appeared (named by its first characters only), and forget what was seen."""
        found = [
            f"{where}: {value[:4]}… ({len(value)} characters)"
            for where, text in self.seen
            for value in self.watched
            if value in text
        ]
        self.looked_at += len(self.seen)
        self.seen.clear()
        return found


WATCH = LeakWatch()


class SeenHandler(logging.Handler):
    """Every record as its handler would write it (Powertools' JSON, extra keys included)."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            WATCH.see(f"log {record.name}", self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is seen raw
            WATCH.see(f"log {record.name}", str(record.__dict__))
