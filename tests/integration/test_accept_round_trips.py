"""The accept path's AWS round trips, counted at the SDK on the real receiver handler:
a warm accepted delivery is one ledger claim and one send; a duplicate is one claim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.client
import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import Stack
from tests.support.signers import sign
from webhooks_cli.local.chaos import intercept_aws_calls

pytestmark = pytest.mark.integration


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS call made, as service:Operation, in order."""
    current = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", current)  # undone after the test
    made: list[str] = []

    def record(client: Any, operation: str, params: dict[str, Any], proceed: Callable[[], Any]) -> Any:
        made.append(f"{client.meta.service_model.service_name}:{operation}")
        return proceed()

    intercept_aws_calls(record)
    return made


def test_a_warm_accepted_delivery_costs_two_round_trips_and_a_duplicate_one(
    stack: Stack, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETS_CACHE_SECONDS", "60")  # as deployed (the fixture reads them every time)
    receiver_app.get_receiver.cache_clear()
    assert stack.deliver("stripe", sign("stripe")).status == 202  # the cold start reads the secret
    signed = sign("stripe")
    calls.clear()
    accepted = stack.deliver("stripe", signed)
    assert accepted.status == 202
    assert calls == ["dynamodb:UpdateItem", "sqs:SendMessage"]
    stack.taken(accepted.body["id"])
    calls.clear()
    assert stack.deliver("stripe", signed).status == 200
    assert calls == ["dynamodb:UpdateItem"]
