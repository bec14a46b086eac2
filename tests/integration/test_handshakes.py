"""Provider handshakes: verified like any delivery, answered exactly as the
provider requires, never deduplicated or queued."""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import b64encode
from pathlib import Path
from typing import Any

import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import Stack
from tests.support.apigw import EVENTS
from tests.support.leaks import WATCH
from tests.support.signers import SLACK_SECRET, ZOOM_SECRET, other_secret, sign
from webhook_core.captured import CapturedSecrets
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing
from webhooks_cli.apigw import rest_event as cli_rest_event

pytestmark = pytest.mark.integration
BASE_EVENT = json.loads((EVENTS / "apigw-rest-webhook.json").read_text())


def test_slack_url_verification_returns_the_challenge_and_writes_nothing(stack: Stack) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    response = stack.deliver("slack", sign("slack", body=body.encode()))
    assert (response.status, response.body) == (
        200,
        {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
    )
    assert stack.ledger_records() == []
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
    assert stack.ledger_records() == []
    assert stack.messages() == []


def test_a_slack_event_callback_is_queued_and_its_retry_deduplicated(stack: Stack) -> None:
    signed = sign("slack")
    first = stack.deliver("slack", signed)
    assert first.status == 202
    stack.taken(first.body["id"])
    retry = sign("slack", body=signed.body)  # Slack re-signs each retry with a new timestamp
    retry.headers["X-Slack-Retry-Num"] = "1"
    assert stack.deliver("slack", retry).status == 200
    (message,) = stack.messages()
    assert json.loads(message["Body"])["event_id"] == signed.event_id
    assert SLACK_SECRET not in message["Body"]


def _preset_stack(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *sources: dict[str, Any]) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"sources": list(sources)}))
    monkeypatch.setenv("SOURCES_FILE", str(path))
    receiver_app.get_receiver.cache_clear()


def test_the_cli_meta_subscription_check_is_answered_with_the_challenge_and_writes_nothing(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "meta", "preset": "meta"})
    sources = load_sources(tmp_path / "sources.json")
    document = devsecrets.ensure(tmp_path / "dev-secrets.json", sources)
    assert set(document) == {"meta", "meta/verify_token"}
    stack.set_secrets(document)
    delivery = signing.endpoint_check(sources["meta"], document)
    response = stack.invoke(cli_rest_event(BASE_EVENT, delivery))
    assert (response.status, response.body) == (200, delivery.query["hub.challenge"])
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"

    wrong = {**delivery.query, "hub.verify_token": document["meta"][0]}  # the app secret is not the verify token
    guessed = cli_rest_event(BASE_EVENT, signing.Delivery("meta", "", "", b"", {}, wrong, "GET"))
    assert stack.invoke(guessed).status == 401
    assert stack.ledger_records() == []
    assert stack.messages() == []


def test_a_meta_check_before_its_verify_token_is_set_is_503_so_meta_retries(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "meta", "preset": "meta"})
    stack.set_secrets({"meta": ["app-secret"]})
    query = {"hub.mode": "subscribe", "hub.verify_token": "anything", "hub.challenge": "123"}
    response = stack.invoke(cli_rest_event(BASE_EVENT, signing.Delivery("meta", "", "", b"", {}, query, "GET")))
    assert response.status == 503
    assert "123" not in json.dumps(response.body)


def test_dropbox_challenge_is_echoed_as_inert_text_and_a_non_token_is_refused(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "dropbox", "preset": "dropbox"})
    stack.set_secrets({"dropbox": ["app-secret"]})
    sources = load_sources(tmp_path / "sources.json")
    delivery = signing.endpoint_check(sources["dropbox"], {})
    response = stack.invoke(cli_rest_event(BASE_EVENT, delivery))
    assert (response.status, response.body) == (200, delivery.query["challenge"])
    hostile = {"challenge": "<script>alert(1)</script>"}
    refused = stack.invoke(cli_rest_event(BASE_EVENT, signing.Delivery("dropbox", "", "", b"", {}, hostile, "GET")))
    assert refused.status == 400
    assert "<script>" not in json.dumps(refused.body)


def test_twitch_challenge_is_answered_as_text_only_when_signed(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "twitch", "preset": "twitch"})
    stack.set_secrets({"twitch": ["twitch-secret-for-tests"]})
    sources = load_sources(tmp_path / "sources.json")
    delivery = signing.sign(sources["twitch"], "twitch-secret-for-tests", event_type="webhook_callback_verification")
    response = stack.invoke(cli_rest_event(BASE_EVENT, delivery))
    assert (response.status, response.body) == (200, "pogchamp-kappa-360noscope-vohiyo")
    forged = signing.sign(sources["twitch"], "not-the-secret", event_type="webhook_callback_verification")
    assert stack.invoke(cli_rest_event(BASE_EVENT, forged)).status == 401
    assert stack.messages() == []
    notification = signing.sign(sources["twitch"], "twitch-secret-for-tests", event_type="stream.online")
    assert stack.invoke(cli_rest_event(BASE_EVENT, notification)).status == 202
    (message,) = stack.messages()
    assert json.loads(message["Body"])["type"] == "stream.online"


def test_discord_ping_is_a_204_and_a_signed_event_is_queued(stack: Stack) -> None:
    ping = sign("ed25519", body=b'{"version":1,"application_id":"1","type":0}')
    response = stack.deliver("ed25519", ping)
    assert (response.status, response.body) == (204, None)
    assert stack.messages() == []
    assert stack.deliver("ed25519", sign("ed25519")).status == 202


def _check_event(source: str, method: str, headers: dict[str, str], query: dict[str, str] | None = None) -> Any:
    return cli_rest_event(BASE_EVENT, signing.Delivery(source, "", "", b"", headers, query or {}, method))


def test_okta_one_time_verification_needs_the_hooks_authorization_and_deliveries_get_204(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "okta", "preset": "okta"})
    stack.set_secrets({"okta": ["okta-shared-secret"]})
    challenge = {"X-Okta-Verification-Challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"}
    answered = stack.invoke(_check_event("okta", "GET", {**challenge, "Authorization": "okta-shared-secret"}))
    assert (answered.status, answered.body) == (200, {"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"})
    assert stack.invoke(_check_event("okta", "GET", challenge)).status == 401
    sources = load_sources(tmp_path / "sources.json")
    delivery = signing.sign(sources["okta"], "okta-shared-secret")
    first = stack.invoke(cli_rest_event(BASE_EVENT, delivery))
    assert (first.status, first.body) == (204, None)
    stack.taken(json.loads(stack.messages()[0]["Body"])["id"])
    retry = stack.invoke(cli_rest_event(BASE_EVENT, delivery))
    assert (retry.status, retry.body) == (204, None)
    assert len(stack.messages()) == 1


def test_xero_intent_to_receive_is_200_with_no_body_when_signed_and_401_otherwise(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "xero", "preset": "xero"})
    stack.set_secrets({"xero": ["xero-webhook-key"]})
    sources = load_sources(tmp_path / "sources.json")
    body = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    signed = signing.sign(sources["xero"], "xero-webhook-key", body=body)
    response = stack.invoke(cli_rest_event(BASE_EVENT, signed))
    assert (response.status, response.body) == (200, None)
    assert "set-cookie" not in response.headers
    stack.taken(json.loads(stack.messages()[0]["Body"])["id"])
    again = stack.invoke(cli_rest_event(BASE_EVENT, signed))  # sent again later: still a 200 with no body
    assert (again.status, again.body) == (200, None)
    forged = signing.sign(sources["xero"], "not-the-key", body=body)
    refused = stack.invoke(cli_rest_event(BASE_EVENT, forged))
    # "There is no body in the response" is among Xero's requirements for every answer
    # (developer.xero.com/documentation/webhooks/configuring-your-server): the 401 too.
    assert (refused.status, refused.body) == (401, None)
    assert "set-cookie" not in refused.headers


def test_a_refusal_keeps_its_error_body_for_a_source_without_empty_refusals(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "okta", "preset": "okta"}, {"name": "gh", "kind": "github"})
    stack.set_secrets({"okta": ["okta-shared-secret"], "gh": ["gh-secret"]})
    sources = load_sources(tmp_path / "sources.json")
    for name in ("okta", "gh"):
        forged = stack.invoke(cli_rest_event(BASE_EVENT, signing.sign(sources[name], "not-the-secret")))
        assert forged.status == 401
        assert forged.body["error"]["code"]


def test_trello_head_is_200_and_head_on_another_source_is_405(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trello = {"name": "trello", "preset": "trello", "url": "https://example.com/webhooks/trello"}
    _preset_stack(stack, tmp_path, monkeypatch, trello, {"name": "github", "kind": "github"})
    assert stack.invoke(_check_event("trello", "HEAD", {})).status == 200
    assert stack.invoke(_check_event("github", "HEAD", {})).status == 405
    assert stack.ledger_records() == []
    assert stack.messages() == []


def test_woocommerce_creation_ping_is_200_and_writes_nothing(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "woo", "preset": "woocommerce"})
    ping = signing.Delivery("woo", "", "", b"webhook_id=12", {"Content-Type": "application/x-www-form-urlencoded"})
    response = stack.invoke(cli_rest_event(BASE_EVENT, ping))
    assert (response.status, response.body) == (200, None)
    assert stack.ledger_records() == []
    assert stack.messages() == []


def test_x_crc_answers_with_the_consumer_secrets_hmac(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "x", "preset": "x"})
    stack.set_secrets({"x": ["consumer-secret"]})
    response = stack.invoke(_check_event("x", "GET", {}, {"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553"}))
    digest = hmac.new(b"consumer-secret", b"9b4507b3-9040-4669-9ca3-6b94edb50553", hashlib.sha256).digest()
    assert (response.status, response.body) == (200, {"response_token": "sha256=" + b64encode(digest).decode()})


def test_event_grid_validation_and_cloudevents_options_are_answered_and_never_queued(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(
        stack,
        tmp_path,
        monkeypatch,
        {"name": "grid", "preset": "eventgrid"},
        {"name": "ce", "preset": "eventgrid-cloudevents"},
    )
    stack.set_secrets({"grid": ["grid-token"], "ce": ["ce-token"]})
    sources = load_sources(tmp_path / "sources.json")
    validation = signing.handshake(sources["grid"], "grid-token")
    response = stack.invoke(cli_rest_event(BASE_EVENT, validation))
    assert response.status == 200
    assert set(response.body) == {"validationResponse"}
    granted = stack.invoke(cli_rest_event(BASE_EVENT, signing.handshake(sources["ce"], "ce-token")))
    assert granted.status == 200
    assert granted.headers["webhook-allowed-origin"] == "eventgrid.azure.net"
    refused = stack.invoke(_check_event("ce", "OPTIONS", {"WebHook-Request-Origin": "evil.example.com"}))
    assert refused.status == 403
    assert stack.messages() == []


def test_asanas_handshake_secret_is_kept_in_the_table_once_and_verifies_deliveries(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "asana", "preset": "asana"})
    stack.set_secrets({})
    sources = load_sources(tmp_path / "sources.json")
    handshake = signing.Delivery("asana", "", "", b"", {"X-Hook-Secret": "hook-secret-from-asana"})
    response = stack.invoke(cli_rest_event(BASE_EVENT, handshake))
    assert (response.status, response.headers["x-hook-secret"]) == (200, "hook-secret-from-asana")
    second = signing.Delivery("asana", "", "", b"", {"X-Hook-Secret": "attacker"})
    assert stack.invoke(cli_rest_event(BASE_EVENT, second)).status == 401
    assert CapturedSecrets(stack.resources.ledger_table).get("asana") == "hook-secret-from-asana"
    event = signing.sign(sources["asana"], "hook-secret-from-asana")
    assert stack.invoke(cli_rest_event(BASE_EVENT, event)).status == 202
    (message,) = stack.messages()
    assert "hook-secret-from-asana" not in message["Body"]


def test_notions_verification_token_is_kept_for_the_operator_and_never_answered(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _preset_stack(stack, tmp_path, monkeypatch, {"name": "notion", "preset": "notion"})
    stack.set_secrets({})
    token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
    WATCH.watch(token)  # never in a log line or a response
    body = json.dumps({"verification_token": token}).encode()
    response = stack.invoke(cli_rest_event(BASE_EVENT, signing.Delivery("notion", "", "", body, {})))
    assert (response.status, response.body) == (200, None)
    assert CapturedSecrets(stack.resources.ledger_table).get("notion") == token
    assert stack.messages() == []
    stack.set_secrets({"notion": [token]})
    again = stack.invoke(cli_rest_event(BASE_EVENT, signing.Delivery("notion", "", "", body, {})))
    assert again.status == 401
