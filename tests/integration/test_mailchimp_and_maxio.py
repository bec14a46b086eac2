"""Mailchimp (the key in the URL's query string) and Maxio (an HMAC of the form body),
through the handler against moto: what Mailchimp sends is accepted once, its creation GET
is answered only with the key, and the key is nowhere the stack keeps or logs anything."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.integration.conftest import Stack
from tests.support.apigw import rest_event
from tests.support.signers import SECRETS, Signed

pytestmark = pytest.mark.integration

MAILCHIMP_KEY = "mc-url-key-4d1f0a9be27c8e35"
# A key a sender presents that the source does not hold now: its previous one, or the one
# really configured at Mailchimp while the stack's secret was set wrong. Kept nowhere either.
PRESENTED_KEY = "mc-url-key-previous-77a0c2e9"
MAXIO_KEY = "maxio-site-shared-key-for-tests"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "MailChimp.com"}
# Mailchimp's documented subscribe example
# (https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/).
SUBSCRIBE = urlencode(
    {
        "type": "subscribe",
        "fired_at": "2009-03-26 21:35:57",
        "data[id]": "8a25ff1d98",
        "data[list_id]": "a6b5da1054",
        "data[email]": "api@mailchimp.com",
        "data[email_type]": "html",
        "data[merges][EMAIL]": "api@mailchimp.com",
        "data[merges][FNAME]": "Mailchimp",
        "data[merges][LNAME]": "API",
        "data[merges][INTERESTS]": "Group1,Group2",
        "data[ip_opt]": "10.20.10.30",
        "data[ip_signup]": "10.20.10.30",
    }
).encode()


@pytest.fixture
def providers(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    sources = tmp_path / "sources.json"
    sources.write_text(
        json.dumps({"sources": [{"name": "mailchimp", "preset": "mailchimp"}, {"name": "maxio", "preset": "maxio"}]})
    )
    # Read on the receiver's first invocation (the stack fixture cleared it).
    monkeypatch.setenv("SOURCES_FILE", str(sources))
    stack.set_secrets({**SECRETS, "mailchimp": [MAILCHIMP_KEY], "maxio": [MAXIO_KEY]})
    return stack


def post(stack: Stack, query: dict[str, str], body: bytes = SUBSCRIBE) -> Any:
    return stack.deliver("mailchimp", Signed(body, FORM, "", "subscribe", query=query))


def everything_kept(stack: Stack) -> str:
    """Every byte the stack keeps: the ledger table, the bucket's objects (claim-checked bodies
    and rejected requests), and the queue's messages."""
    kept = [json.dumps(stack.dynamodb.scan(TableName=stack.resources.ledger_table)["Items"])]
    listing = stack.s3.list_objects_v2(Bucket=stack.resources.body_bucket).get("Contents", [])
    for item in listing:
        kept.append(
            stack.s3.get_object(Bucket=stack.resources.body_bucket, Key=item["Key"])["Body"].read().decode("utf-8")
        )
    kept.append(json.dumps(stack.messages()))
    return "\n".join(kept)


def test_mailchimp_posts_with_the_key_are_accepted_once_and_the_key_is_kept_nowhere(
    providers: Stack, capfd: pytest.CaptureFixture[str], receiver_logs: io.StringIO
) -> None:
    first = post(providers, {"key": MAILCHIMP_KEY})
    providers.taken(first.body["id"])  # a retry once the processor took it: a duplicate, not 409
    retry = post(providers, {"key": MAILCHIMP_KEY})
    missing = post(providers, {})
    wrong = post(providers, {"key": PRESENTED_KEY, "utm": "kept"})

    assert first.status == 202
    assert first.body["id"] == f"mailchimp/sha256-{hashlib.sha256(SUBSCRIBE).hexdigest()}"
    assert (retry.status, retry.body["status"]) == (200, "duplicate")
    assert (missing.status, missing.body["error"]["code"]) == (401, "invalid_signature")
    assert wrong.status == 401
    [message] = providers.messages()
    envelope = json.loads(message["Body"])
    assert (envelope["type"], envelope["body_format"]) == ("subscribe", "form")

    kept = everything_kept(providers)
    # The refused requests were kept for the operator (the stored bytes are really searched),
    # the other parameter as sent, the key's value only as redacted.
    assert '"reason": "signature_mismatch"' in kept
    assert '"utm": "kept"' in kept
    assert '"key": "[redacted]"' in kept
    logged = receiver_logs.getvalue() + capfd.readouterr().out
    assert '"message":"refused"' in logged
    for key in (MAILCHIMP_KEY, PRESENTED_KEY):
        assert key not in kept
        assert key not in logged
        assert key not in json.dumps([first.body, retry.body, missing.body, wrong.body])


def test_mailchimps_creation_get_is_answered_200_only_with_the_key(
    providers: Stack, capfd: pytest.CaptureFixture[str], receiver_logs: io.StringIO
) -> None:
    validator = {"User-Agent": "MailChimp.com WebHook Validator"}
    checked = providers.invoke(rest_event("mailchimp", b"", validator, method="GET", query={"key": MAILCHIMP_KEY}))
    without = providers.invoke(rest_event("mailchimp", b"", validator, method="GET"))
    guessed = providers.invoke(rest_event("mailchimp", b"", validator, method="GET", query={"key": PRESENTED_KEY}))

    assert (checked.status, checked.body) == (200, None)
    assert without.status == 401
    assert guessed.status == 401
    assert providers.ledger_records() == []
    assert providers.messages() == []
    logged = receiver_logs.getvalue() + capfd.readouterr().out
    assert MAILCHIMP_KEY not in logged + everything_kept(providers)
    assert PRESENTED_KEY not in logged + everything_kept(providers)


def test_maxio_signs_the_form_body_and_dedupes_on_its_signed_id(providers: Stack) -> None:
    # Chargify's documented test webhook body (docs.chargify.com, Webhook Contents).
    body = b"id=123456&event=test&payload[chargify]=testing"
    signature = hmac.new(MAXIO_KEY.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Chargify-Webhook-Signature-Hmac-Sha-256": signature,
    }

    first = providers.deliver("maxio", Signed(body, headers, "123456", "test"))
    providers.taken(first.body["id"])
    again = providers.deliver("maxio", Signed(body, headers, "123456", "test"))
    changed = providers.deliver("maxio", Signed(body.replace(b"test", b"signup_success"), headers, "123456", "test"))

    assert (first.status, first.body["id"]) == (202, "maxio/123456")
    assert (again.status, again.body["status"]) == (200, "duplicate")
    assert changed.status == 401
