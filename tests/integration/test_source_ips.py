"""A source may be limited to its provider's published sending ranges: a request from
elsewhere is 403 and writes nothing, whatever it carries; the address is API Gateway's
view of the connection, not a header the client sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import Stack
from tests.support.apigw import rest_event
from tests.support.signers import STRIPE_SECRET, sign
from webhook_core.errors import ConfigurationError
from webhook_core.sources import parse_sources

pytestmark = pytest.mark.integration


@pytest.fixture
def limited(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    path = tmp_path / "sources.json"
    path.write_text(
        json.dumps(
            {"sources": [{"name": "stripe", "preset": "stripe", "allowed_ips": ["54.187.174.0/24", "2600:1f18::/32"]}]}
        )
    )
    monkeypatch.setenv("SOURCES_FILE", str(path))
    receiver_app.get_receiver.cache_clear()
    stack.set_secrets({"stripe": [STRIPE_SECRET]})
    return stack


def from_address(address: str, *, forwarded_for: str | None = None) -> dict[str, Any]:
    signed = sign("stripe")
    headers = {**signed.headers, **({"X-Forwarded-For": forwarded_for} if forwarded_for else {})}
    event = rest_event("stripe", signed.body, headers)
    event["requestContext"]["identity"]["sourceIp"] = address
    return event


@pytest.mark.parametrize("address", ["54.187.174.169", "2600:1f18:1234::1"])
def test_a_delivery_from_a_published_range_is_accepted(limited: Stack, address: str) -> None:
    assert limited.invoke(from_address(address)).status == 202


@pytest.mark.parametrize("address", ["203.0.113.9", "2001:db8::1", "not-an-address", ""])
def test_a_delivery_from_elsewhere_is_403_and_writes_nothing(limited: Stack, address: str) -> None:
    response = limited.invoke(from_address(address, forwarded_for="54.187.174.169"))
    assert (response.status, response.body["error"]["code"]) == (403, "forbidden")
    assert limited.ledger_records() == []
    assert limited.messages() == []


def test_a_source_without_ranges_accepts_any_address(stack: Stack) -> None:
    assert stack.invoke(from_address("203.0.113.9")).status == 202


def test_a_bad_range_stops_the_function_naming_the_source_and_the_option() -> None:
    with pytest.raises(ConfigurationError, match=r"source 's': allowed_ips\.0: .*network"):
        parse_sources({"sources": [{"name": "s", "kind": "github", "allowed_ips": ["54.187.174.0/33"]}]})
