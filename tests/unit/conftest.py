"""Unit tests run with the network blocked: nothing here may leave the process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_socket

from webhook_core.sources import Source, load_sources

SHIPPED_SOURCES = Path(__file__).resolve().parents[2] / "functions" / "receiver" / "sources.json"


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()


@pytest.fixture(scope="session")
def shipped_sources() -> dict[str, Source]:
    return load_sources(SHIPPED_SOURCES)
