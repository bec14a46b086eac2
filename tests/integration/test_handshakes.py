"""Provider handshakes: verified like any delivery, answered exactly as the
provider requires, never deduplicated or queued."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.integration.conftest import Stack
from tests.support.signers import SLACK_SECRET, ZOOM_SECRET, other_secret, sign

pytestmark = pytest.mark.integration


def test_slack_url_verification_returns_the_challenge_and_writes_nothing(stack: Stack) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    response = stack.deliver("slack", sign("slack", body=body.encode()))
    assert (response.status, response.body) == (
        200,
        {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
    )
    assert stack.dedupe_records() == []
    assert stack.messages() == []


def test_an_unsigned_slack_challenge_is_refused(stack: Stack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "x"}).encode()
    response = stack.deliver("slack", sign("slack", body=body, secret=other_secret("slack", "attacker")))
    assert response.status == 401
    assert "challenge" not in json.dumps(response.body)


def test_zoom_url_validation_returns_the_token_pair(stack: Stack) -> None:
    body = json.dumps(
        {
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
            "event_ts": 1654503849680,
            "event": "endpoint.url_validation",
        }
    )
    response = stack.deliver("zoom", sign("zoom", body=body.encode()))
    expected = hmac.new(ZOOM_SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert (response.status, response.body) == (
        200,
        {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected},
    )
    assert stack.dedupe_records() == []
    assert stack.messages() == []


def test_a_slack_event_callback_is_queued_and_its_retry_deduplicated(stack: Stack) -> None:
    signed = sign("slack")
    assert stack.deliver("slack", signed).status == 202
    retry = sign("slack", body=signed.body)  # Slack re-signs each retry with a new timestamp
    retry.headers["X-Slack-Retry-Num"] = "1"
    assert stack.deliver("slack", retry).status == 200
    (message,) = stack.messages()
    assert json.loads(message["Body"])["event_id"] == signed.event_id
    assert SLACK_SECRET not in message["Body"]
