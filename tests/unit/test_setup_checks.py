"""Providers' setup checks through the receiving logic, against the in-memory stores:
each answered exactly as its provider's documentation requires, authenticated where the
provider sends a credential, and never deduplicated or queued; the secrets handed over
at setup kept first-write-wins, only while the source has none."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from webhook_core.errors import (
    BadRequestError,
    ForbiddenSourceError,
    MethodNotAllowedError,
    SignatureError,
    SourceUnavailableError,
)
from webhook_core.ledger import Outcome
from webhook_core.providers.spec import HandshakeReply, Reply
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import parse_sources
from webhook_core.testing import InMemoryCapturedSecrets, InMemoryLedger, InMemoryQueue, StaticSecrets

NOW = 1_795_600_000.0
OKTA_AUTH = "okta-shared-secret"
ASANA_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
NOTION_TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"


def receiver(
    secrets: dict[str, list[str]], captured: InMemoryCapturedSecrets | None = None
) -> tuple[Receiver, InMemoryQueue, InMemoryLedger]:
    sources = parse_sources(
        {
            "sources": [
                {"name": "okta", "preset": "okta"},
                {"name": "trello", "preset": "trello", "url": "https://example.com/webhooks/trello"},
                {"name": "xero", "preset": "xero"},
                {"name": "woo", "preset": "woocommerce"},
                {"name": "monday", "preset": "monday"},
                {"name": "x", "preset": "x"},
                {"name": "grid", "preset": "eventgrid"},
                {"name": "ce", "preset": "eventgrid-cloudevents"},
                {"name": "notion", "preset": "notion"},
                {"name": "asana", "preset": "asana"},
                {"name": "github", "kind": "github"},
            ]
        }
    )
    queue, ledger = InMemoryQueue(), InMemoryLedger()
    made = Receiver(
        sources=sources,
        secrets=StaticSecrets(secrets),
        ledger=ledger,
        queue=queue,
        max_body_bytes=1_000_000,
        clock=lambda: NOW,
        captured=captured if captured is not None else InMemoryCapturedSecrets(),
    )
    return made, queue, ledger


def test_okta_verification_is_answered_only_with_the_hooks_authorization_header() -> None:
    made, queue, ledger = receiver({"okta": [OKTA_AUTH]})
    challenge = {"x-okta-verification-challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"}
    reply = made.check("okta", "GET", {}, {**challenge, "authorization": OKTA_AUTH})
    assert reply == HandshakeReply({"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"})
    with pytest.raises(SignatureError):
        made.check("okta", "GET", {}, challenge)
    with pytest.raises(SignatureError):
        made.check("okta", "GET", {}, {**challenge, "authorization": "guess"})
    with pytest.raises(BadRequestError):
        made.check("okta", "GET", {}, {"authorization": OKTA_AUTH, "x-okta-verification-challenge": "<b>"})
    assert queue.envelopes == []
    assert ledger.records == {}


def test_okta_xero_and_discord_presets_set_their_providers_reply() -> None:
    made, _, _ = receiver({})
    assert made.source("okta").spec.reply == Reply(status=204)
    assert made.source("xero").spec.reply == Reply(status=200, empty=True, empty_refusals=True)
    discord = parse_sources({"sources": [{"name": "discord", "preset": "discord"}]})["discord"]
    assert discord.spec.reply == Reply(status=204)
    assert made.source("github").spec.reply is None


def test_a_reply_of_204_with_a_body_is_refused_at_load() -> None:
    with pytest.raises(Exception, match="204 reply has no body"):
        parse_sources({"sources": [{"name": "g", "kind": "github", "reply": {"status": 204, "empty": False}}]})


def test_trello_answers_head_and_other_sources_refuse_it_with_405() -> None:
    made, queue, _ = receiver({})
    assert made.check("trello", "HEAD", {}, {}) == HandshakeReply(None, status=200)
    with pytest.raises(MethodNotAllowedError):
        made.check("github", "HEAD", {}, {})
    assert queue.envelopes == []


def test_woocommerce_creation_ping_gets_200_and_nothing_is_written() -> None:
    made, queue, ledger = receiver({"woo": ["woo-secret"]})
    ping = Delivery(source="woo", headers={"content-type": "application/x-www-form-urlencoded"}, body=b"webhook_id=7")
    assert made.accept(ping) == HandshakeReply(None, status=200)
    assert queue.envelopes == []
    assert ledger.records == {}
    for body in (b"webhook_id=7&x=1", b"webhook_id=", b"webhook_id=7\n"):
        with pytest.raises(SignatureError):
            made.accept(Delivery(source="woo", headers={}, body=body))


def test_mondays_url_challenge_is_echoed_and_nothing_is_written() -> None:
    """monday.com's documented URL verification: the challenge posted back as JSON."""
    made, queue, ledger = receiver({"monday": ["monday-signing-secret"]})
    token = "YQIn0dCoBu2zspb4TpQTXz8WKRpZOjXi9r7_7__BBA9HoPDHPrzKBKXUIquIoNL0BiTJzobUQ2uQD0wq0yDYHg"
    challenge = Delivery(
        source="monday", headers={"content-type": "application/json"}, body=f'{{"challenge": "{token}"}}'.encode()
    )
    assert made.accept(challenge) == HandshakeReply({"challenge": token}, status=200)
    assert queue.envelopes == []
    assert ledger.records == {}
    for body in (b'{"challenge": "t", "event": {}}', b'{"challenge": 7}', b'{"challenge": "<script>"}', b"challenge=t"):
        with pytest.raises(SignatureError):  # anything else must carry monday.com's token
            made.accept(Delivery(source="monday", headers={}, body=body))


def test_the_woocommerce_ping_is_answered_before_its_secret_is_set() -> None:
    made, _, _ = receiver({})
    assert made.accept(Delivery(source="woo", headers={}, body=b"webhook_id=7")) == HandshakeReply(None, status=200)


def test_x_crc_is_the_hmac_of_the_token_with_the_newest_consumer_secret() -> None:
    made, _, _ = receiver({"x": ["consumer-new", "consumer-old"]})
    reply = made.check("x", "GET", {"crc_token": "9b4507b3-9040-4669-9ca3-6b94edb50553"}, {})
    digest = hmac.new(b"consumer-new", b"9b4507b3-9040-4669-9ca3-6b94edb50553", hashlib.sha256).digest()
    assert reply.body == {"response_token": "sha256=" + base64.b64encode(digest).decode()}
    with pytest.raises(BadRequestError):
        made.check("x", "GET", {}, {})
    unset, _, _ = receiver({})
    with pytest.raises(SourceUnavailableError):  # no secret yet: 503, X retries
        unset.check("x", "GET", {"crc_token": "t"}, {})


def test_event_grid_validation_is_answered_only_with_the_sources_token() -> None:
    made, queue, _ = receiver({"grid": ["grid-token"]})
    body = json.dumps(
        [
            {
                "id": "1",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            }
        ]
    ).encode()
    validation = {"x-webhook-token": "grid-token", "aeg-event-type": "SubscriptionValidation"}
    reply = made.accept(Delivery(source="grid", headers=validation, body=body))
    assert reply == HandshakeReply({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    with pytest.raises(SignatureError):
        made.accept(Delivery(source="grid", headers={"aeg-event-type": "SubscriptionValidation"}, body=body))
    assert queue.envelopes == []
    event = json.dumps([{"id": "e1", "eventType": "Microsoft.Storage.BlobCreated", "data": {}}]).encode()
    notification = {"x-webhook-token": "grid-token", "aeg-event-type": "Notification"}
    outcome = made.accept(Delivery(source="grid", headers=notification, body=event))
    assert outcome == Outcome(envelope_id=f"grid/sha256-{hashlib.sha256(event).hexdigest()}", duplicate=False)
    assert [envelope.event_id for envelope in queue.envelopes] == ["e1"]


def test_event_grid_validation_needs_the_header_and_the_body_to_agree() -> None:
    """Event Grid marks its validation `aeg-event-type: SubscriptionValidation` and its
    deliveries `Notification` (learn.microsoft.com/azure/event-grid/receive-events, "Message headers"):
    a validation body without the mark, or the mark over an ordinary event, is refused and
    nothing is queued, answered or written."""
    made, queue, _ = receiver({"grid": ["grid-token"]})
    validation = json.dumps(
        [{"id": "1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {"validationCode": "c"}}]
    ).encode()
    event = json.dumps([{"id": "e1", "eventType": "Microsoft.Storage.BlobCreated", "data": {}}]).encode()
    for header, body in (
        ({}, validation),
        ({"aeg-event-type": "Notification"}, validation),
        ({"aeg-event-type": "SubscriptionValidation"}, event),
    ):
        with pytest.raises(BadRequestError, match="aeg-event-type"):
            made.accept(Delivery(source="grid", headers={"x-webhook-token": "grid-token", **header}, body=body))
    assert queue.envelopes == []
    marked = {"x-webhook-token": "grid-token", "aeg-event-type": "subscriptionvalidation"}
    assert made.accept(Delivery(source="grid", headers=marked, body=validation)) == HandshakeReply(
        {"validationResponse": "c"}
    )


def test_cloudevents_options_grants_only_the_sources_origins() -> None:
    made, _, _ = receiver({})
    reply = made.check("ce", "OPTIONS", {}, {"webhook-request-origin": "eventgrid.azure.net"})
    assert (reply.status, reply.body) == (200, None)
    assert reply.headers == {
        "WebHook-Allowed-Origin": "eventgrid.azure.net",
        "WebHook-Allowed-Rate": "*",
        "Allow": "POST, OPTIONS",
    }
    asked = made.check(
        "ce", "OPTIONS", {}, {"webhook-request-origin": "eventgrid.azure.net", "webhook-request-rate": "120"}
    )
    assert asked.headers["WebHook-Allowed-Rate"] == "120"
    with pytest.raises(ForbiddenSourceError):
        made.check("ce", "OPTIONS", {}, {"webhook-request-origin": "eventemitter.example.com"})
    with pytest.raises(BadRequestError):
        made.check("ce", "OPTIONS", {}, {"webhook-request-origin": "a b"})
    with pytest.raises(MethodNotAllowedError):
        made.check("github", "OPTIONS", {}, {"webhook-request-origin": "eventgrid.azure.net"})


def test_an_options_check_needs_the_origins_it_grants() -> None:
    with pytest.raises(Exception, match="webhook_origins"):
        parse_sources({"sources": [{"name": "t", "kind": "token", "header": "X-T", "options_check": "cloudevents"}]})


def test_notions_verification_token_is_kept_first_write_wins_while_the_source_has_no_secret() -> None:
    captured = InMemoryCapturedSecrets()
    made, queue, ledger = receiver({}, captured)
    handed = Delivery(source="notion", headers={}, body=json.dumps({"verification_token": NOTION_TOKEN}).encode())
    reply = made.accept(handed)
    assert reply == HandshakeReply(None, status=200)
    assert NOTION_TOKEN not in repr(reply)
    assert captured.secrets == {"notion": NOTION_TOKEN}
    forged = Delivery(source="notion", headers={}, body=b'{"verification_token": "secret_attacker"}')
    with pytest.raises(SignatureError):
        made.accept(forged)
    assert captured.secrets == {"notion": NOTION_TOKEN}
    assert queue.envelopes == []
    assert ledger.records == {}


def test_a_verification_token_after_notion_is_set_up_is_refused_and_not_kept() -> None:
    captured = InMemoryCapturedSecrets()
    made, _, _ = receiver({"notion": [NOTION_TOKEN]}, captured)
    with pytest.raises(SignatureError):
        made.accept(Delivery(source="notion", headers={}, body=b'{"verification_token": "secret_attacker"}'))
    assert captured.secrets == {}


def test_notions_token_is_never_a_key_until_the_operator_sets_it() -> None:
    captured = InMemoryCapturedSecrets({"notion": NOTION_TOKEN})
    made, _, _ = receiver({}, captured)
    body = b'{"id": "n1", "type": "page.created"}'
    signature = "sha256=" + hmac.new(NOTION_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(SourceUnavailableError):
        made.accept(Delivery(source="notion", headers={"x-notion-signature": signature}, body=body))


def test_asanas_hook_secret_is_echoed_kept_once_and_verifies_later_deliveries() -> None:
    captured = InMemoryCapturedSecrets()
    made, queue, ledger = receiver({}, captured)
    reply = made.accept(Delivery(source="asana", headers={"x-hook-secret": ASANA_SECRET}, body=b""))
    assert reply == HandshakeReply(None, status=200, headers={"X-Hook-Secret": ASANA_SECRET})
    with pytest.raises(SignatureError):  # a second handshake, genuine or not, never replaces it
        made.accept(Delivery(source="asana", headers={"x-hook-secret": "attacker-secret"}, body=b""))
    assert captured.secrets == {"asana": ASANA_SECRET}
    assert queue.envelopes == []
    assert ledger.records == {}

    body = b'{"events": [{"action": "changed", "resource": {"gid": "1"}}]}'
    signature = hmac.new(ASANA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    outcome = made.accept(Delivery(source="asana", headers={"x-hook-signature": signature}, body=body))
    assert isinstance(outcome, Outcome)
    assert not outcome.duplicate
    assert queue.envelopes[0].type == "changed"
    forged = hmac.new(b"attacker-secret", body + b" ", hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError):
        made.accept(Delivery(source="asana", headers={"x-hook-signature": forged}, body=body + b" "))


def test_asanas_captured_secret_is_read_once_per_minute_not_per_delivery() -> None:
    captured = InMemoryCapturedSecrets({"asana": ASANA_SECRET})
    made, _, _ = receiver({}, captured)
    for index in range(3):
        body = json.dumps({"events": [{"action": "added", "n": index}]}).encode()
        signature = hmac.new(ASANA_SECRET.encode(), body, hashlib.sha256).hexdigest()
        made.accept(Delivery(source="asana", headers={"x-hook-signature": signature}, body=body))
    assert captured.reads == 1


def test_an_asana_handshake_once_a_secret_is_configured_is_refused() -> None:
    captured = InMemoryCapturedSecrets()
    made, _, _ = receiver({"asana": ["configured"]}, captured)
    with pytest.raises(SignatureError):
        made.accept(Delivery(source="asana", headers={"x-hook-secret": ASANA_SECRET}, body=b""))
    assert captured.secrets == {}


def test_webhooks_providers_shows_each_presets_setup_check_and_reply() -> None:
    from webhooks_cli.catalog import describe, preset_sources

    rows = {name: describe(source) for name, source in preset_sources().items()}
    assert "X-Okta-Verification-Challenge" in rows["okta"]["handshake"]
    assert rows["okta"]["reply"] == "204 (no body)"
    assert rows["xero"]["reply"] == "200 (no body)"
    assert rows["discord"]["reply"] == "204 (no body)"
    assert rows["trello"]["handshake"] == "HEAD 200"
    assert "crc_token" in rows["x"]["handshake"]
    assert "webhook_id" in rows["woocommerce"]["handshake"]
    assert "verification_token" in rows["notion"]["handshake"]
    assert "X-Hook-Secret" in rows["asana"]["handshake"]
    assert rows["eventgrid"]["handshake"] == "eventgrid"
    assert "OPTIONS" in rows["eventgrid-cloudevents"]["handshake"]


def test_send_handshake_builds_event_grids_validation_as_the_receiver_requires_it() -> None:
    from webhooks_cli.signing import handshake

    made, queue, _ = receiver({"grid": ["grid-token"]})
    sent = handshake(made.source("grid"), "grid-token")
    assert sent.headers["aeg-event-type"] == "SubscriptionValidation"
    headers = {name.lower(): value for name, value in sent.headers.items()}
    reply = made.accept(Delivery(source="grid", headers=headers, body=sent.body))
    assert isinstance(reply, HandshakeReply)
    assert set(reply.body) == {"validationResponse"}  # type: ignore[arg-type]
    assert queue.envelopes == []
