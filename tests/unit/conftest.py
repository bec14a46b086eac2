"""Unit tests run with the network blocked: nothing here may leave the process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket

from tests.support.project import FIXTURE_SOURCES
from webhook_core.sources import Source, load_sources


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()


@pytest.fixture(scope="session")
def fixture_sources() -> dict[str, Source]:
    """One source per kind, named after it (tests/fixtures/sources.json)."""
    return load_sources(FIXTURE_SOURCES)
