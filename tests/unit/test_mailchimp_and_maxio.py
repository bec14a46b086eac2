"""Mailchimp Marketing (a key in the webhook URL's query string, the query_token kind) and
Maxio Advanced Billing, formerly Chargify (hex HMAC-SHA256 of the form body)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from click.testing import CliRunner

from tests.support.clock import Clock
from webhook_core.errors import ConfigurationError, SignatureError
from webhook_core.ledger import Outcome
from webhook_core.providers.spec import HandshakeReply
from webhook_core.receiving import Delivery, Receiver
from webhook_core.rejected import RejectedRequest
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing
from webhooks_cli.cli import main

NOW = 1_795_600_000
KEY = "mc-key-0f3a9d7c51e24b86"
OLD_KEY = "mc-key-previous-9b1e"
MAILCHIMP_TYPES = ["subscribe", "unsubscribe", "profile", "upemail", "cleaned", "campaign"]
# Chargify's worked example (docs.chargify.com, "Webhook Verification", the source kept at
# github.com/chargify/docs.chargify.com/blob/master/doculab/docs/webhooks.textile).
CHARGIFY_KEY = "123"
CHARGIFY_BODY = b"payload[chargify]=testing&event=test"
CHARGIFY_SIGNATURE = "19826d51b9f866b26eda1f154de192593360f8d0bcb63df8a28540a5dcf733f1"


class KeptRejections:
    def __init__(self) -> None:
        self.kept: list[RejectedRequest] = []

    def keep(self, request: RejectedRequest) -> bool:
        self.kept.append(request)
        return True


def source(name: str, **options: object) -> Source:
    return parse_sources({"sources": [{"name": name, "preset": name, **options}]})[name]


def receiver(
    configured: Source, secrets: list[str], rejected: KeptRejections | None = None
) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={configured.name: configured},
        secrets=StaticSecrets({configured.name: secrets}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=Clock(NOW),
        rejected=rejected,
    )
    return built, queue


def mailchimp_post(query: dict[str, str], body: bytes = b"type=subscribe&fired_at=2009-03-26+21%3A35%3A57") -> Delivery:
    form = {"content-type": "application/x-www-form-urlencoded"}
    return Delivery(source="mailchimp", headers=form, body=body, query=query)


def test_the_key_is_compared_with_every_active_secret_and_names_the_one_that_matched() -> None:
    accepting, queue = receiver(source("mailchimp"), [KEY, OLD_KEY])
    assert isinstance(accepting.accept(mailchimp_post({"key": OLD_KEY})), Outcome)
    (envelope,) = queue.envelopes
    assert envelope.verification.secret_index == 1
    assert (envelope.type, envelope.body_format) == ("subscribe", "form")
    assert envelope.occurred_at is not None
    assert envelope.occurred_at.isoformat() == "2009-03-26T21:35:57+00:00"


@pytest.mark.parametrize(
    ("query", "reason"),
    [({}, "missing_signature"), ({"key": ""}, "missing_signature"), ({"key": KEY + "x"}, "signature_mismatch")],
)
def test_a_missing_or_wrong_key_is_refused(query: dict[str, str], reason: str) -> None:
    accepting, queue = receiver(source("mailchimp"), [KEY])
    with pytest.raises(SignatureError) as refused:
        accepting.accept(mailchimp_post(query))
    assert (refused.value.status, refused.value.reason) == (401, reason)
    assert queue.envelopes == []


def test_the_parameter_is_the_sources_to_name() -> None:
    accepting, _ = receiver(source("mailchimp", parameter="token"), [KEY])
    assert isinstance(accepting.accept(mailchimp_post({"token": KEY})), Outcome)
    with pytest.raises(SignatureError, match="missing_signature"):
        accepting.accept(mailchimp_post({"key": KEY}))


@pytest.mark.parametrize("parameter", ["", "a b", "key&x", "k" * 65])
def test_a_parameter_that_is_no_plain_url_name_is_refused_at_load(parameter: str) -> None:
    with pytest.raises(ConfigurationError, match="parameter"):
        source("mailchimp", parameter=parameter)


def test_a_rejected_request_keeps_its_query_but_never_the_key() -> None:
    kept = KeptRejections()
    accepting, _ = receiver(source("mailchimp"), [KEY], kept)
    with pytest.raises(SignatureError):
        accepting.accept(mailchimp_post({"key": OLD_KEY, "list": "a6b5da1054"}))
    (request,) = kept.kept
    assert request.query == {"key": "[redacted]", "list": "a6b5da1054"}
    assert OLD_KEY.encode() not in request.to_json()


def test_mailchimps_creation_get_is_answered_200_only_with_the_key() -> None:
    accepting, queue = receiver(source("mailchimp"), [KEY])
    validator = {"user-agent": "MailChimp.com WebHook Validator"}
    assert accepting.check("mailchimp", "GET", {"key": KEY}, validator) == HandshakeReply(None, status=200)
    for query, reason in (({}, "missing_signature"), ({"key": OLD_KEY}, "signature_mismatch")):
        with pytest.raises(SignatureError) as refused:
            accepting.check("mailchimp", "GET", query, validator)
        assert (refused.value.status, refused.value.reason) == (401, reason)
    assert queue.envelopes == []


@pytest.mark.parametrize("sample", MAILCHIMP_TYPES)
def test_webhooks_send_puts_the_key_in_the_url_and_posts_mailchimps_form(sample: str) -> None:
    mailchimp = source("mailchimp")
    sent = signing.sign(mailchimp, KEY, event_type=sample, now=NOW)
    assert sent.query == {"key": KEY}
    assert KEY not in json.dumps(sent.headers) + sent.body.decode()
    form = dict(parse_qsl(sent.body.decode()))
    assert (form["type"], form["fired_at"]) == (sample, "2026-11-25 09:46:40")
    assert form["data[list_id]"] == "a6b5da1054"
    accepting, queue = receiver(mailchimp, [KEY])
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert isinstance(accepting.accept(Delivery("mailchimp", headers, sent.body, query=sent.query)), Outcome)
    assert queue.envelopes[0].type == sent.event_type == sample


def test_webhooks_send_handshake_is_mailchimps_get_with_the_key() -> None:
    check = signing.handshake(source("mailchimp"), KEY)
    assert (check.method, check.query, check.body) == ("GET", {"key": KEY}, b"")


def test_providers_shows_where_the_key_is_the_get_check_and_the_digest_dedupe(
    monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path
) -> None:
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))  # its sources: one per kind
    result = CliRunner().invoke(main, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    mailchimp = {row["name"]: row for row in listing["presets"]}["mailchimp"]
    assert (mailchimp["kind"], mailchimp["header"], mailchimp["algorithm"]) == (
        "query_token",
        "query parameter key",
        "token",
    )
    assert mailchimp["handshake"] == "GET 200 (with the URL's key)"
    assert mailchimp["dedupe"] == "digest of the signed content (no id)"
    assert mailchimp["body"] == "form"
    kind = {row["kind"]: row for row in listing["kinds"]}["query_token"]
    assert kind["header"] == "query parameter key"
    maxio = {row["name"]: row for row in listing["presets"]}["maxio"]
    assert (maxio["header"], maxio["dedupe"], maxio["source"]) == (
        "x-chargify-webhook-signature-hmac-sha-256",
        "id (id, signed)",
        "primary",
    )


def test_maxio_verifies_chargifys_own_worked_example() -> None:
    maxio = source("maxio")
    assert maxio.spec.scheme.sign(CHARGIFY_BODY, CHARGIFY_KEY) == CHARGIFY_SIGNATURE
    accepting, queue = receiver(maxio, [CHARGIFY_KEY])
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-chargify-webhook-signature-hmac-sha-256": CHARGIFY_SIGNATURE,
    }
    assert isinstance(accepting.accept(Delivery("maxio", headers, CHARGIFY_BODY)), Outcome)
    assert queue.envelopes[0].type == "test"
    with pytest.raises(SignatureError, match="signature_mismatch"):
        accepting.accept(Delivery("maxio", headers, CHARGIFY_BODY.replace(b"testing", b"tested")))


@pytest.mark.parametrize("sample", ["test", "signup_success", "renewal_success"])
def test_webhooks_send_signs_maxio_samples_the_receiver_keys_on_their_id(sample: str) -> None:
    maxio = source("maxio")
    sent = signing.sign(maxio, CHARGIFY_KEY, event_type=sample, now=NOW)
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    accepting, queue = receiver(maxio, [CHARGIFY_KEY])
    outcome = accepting.accept(Delivery("maxio", headers, sent.body))
    assert isinstance(outcome, Outcome)
    form = dict(parse_qsl(sent.body.decode()))
    assert outcome.envelope_id == f"maxio/{form['id']}"
    assert queue.envelopes[0].type == sample
    assert hashlib.sha256(sent.body).hexdigest() not in outcome.envelope_id


def test_send_never_prints_the_url_key_when_the_endpoint_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outside attacker's finding: the error named the URL with its ?key=."""
    import urllib.error
    import urllib.request

    from tests.support.project import fixture_project

    key = "GJkmp7eOqlUnreachableKey0123456789"
    sources = {"sources": [{"name": "mailchimp", "preset": "mailchimp"}]}
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project(tmp_path / "project", sources=sources)))

    def refused(*_: object, **__: object) -> None:
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(urllib.request, "urlopen", refused)
    result = CliRunner().invoke(
        main, ["send", "mailchimp", "--secret", key, "--url", "https://api.example.com/prod/webhooks"]
    )
    assert result.exit_code != 0
    assert "cannot reach https://api.example.com/prod/webhooks/mailchimp" in result.output
    assert key not in result.output


@pytest.mark.parametrize("name", ["KEY", "Key", "key[]", "key;", "key "])
def test_a_refused_key_under_another_spelling_of_its_parameter_is_not_kept(name: str) -> None:
    """An outside attacker's finding: a wrongly spelled parameter was refused and kept whole."""
    kept = KeptRejections()
    accepting, _ = receiver(source("mailchimp"), [KEY], kept)
    with pytest.raises(SignatureError):
        accepting.accept(mailchimp_post({name: KEY, "list": "a6b5da1054"}))
    (request,) = kept.kept
    assert request.query == {name: "[redacted]", "list": "a6b5da1054"}
    assert KEY.encode() not in request.to_json()
