"""Braintree webhooks: a form post of bt_signature (`<public key>|<hex HMAC-SHA1>`, keyed with
SHA-1 of the API private key) and bt_payload (the notification's XML in base64)
(https://developer.paypal.com/braintree/docs/guides/webhooks/parse). Signed by Braintree's
SDK (WebhookTesting.sample_notification) and checked by its parser (WebhookNotification.parse)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import braintree
import pytest
from braintree.exceptions.invalid_signature_error import InvalidSignatureError

from tests.conformance.generate import BRAINTREE_PUBLIC_KEY, braintree_sample
from tests.conformance.vectors import body_of, load_all
from tests.support.clock import Clock
from tests.support.ledger import processed
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing

NOW = 1_795_600_000
PRIVATE_KEY = "braintree-private-key-for-tests"


def gateway(private_key: str = PRIVATE_KEY, public_key: str = BRAINTREE_PUBLIC_KEY) -> braintree.BraintreeGateway:
    return braintree.BraintreeGateway(
        braintree.Configuration(
            environment=braintree.Environment.Sandbox,
            merchant_id="merchant",
            public_key=public_key,
            private_key=private_key,
        )
    )


def sdk_sample(kind: str = "subscription_went_past_due", private_key: str = PRIVATE_KEY) -> dict[str, str]:
    """Made by the SDK's WebhookTesting.sample_notification (its clock held at the vectors' time)."""
    return braintree_sample(private_key, kind, "subscription_1")


def braintree_source() -> Source:
    return parse_sources({"sources": [{"name": "braintree", "preset": "braintree"}]})["braintree"]


def receiver(clock: Clock | None = None) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"braintree": braintree_source()},
        secrets=StaticSecrets({"braintree": [PRIVATE_KEY]}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=clock or Clock(NOW),
    )
    return built, queue


def delivery(form: dict[str, str] | list[tuple[str, str]]) -> Delivery:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return Delivery(source="braintree", headers=headers, body=urlencode(form).encode())


def test_a_notification_signed_by_braintrees_sdk_is_accepted_with_its_kind() -> None:
    accepting, queue = receiver()
    assert isinstance(accepting.accept(delivery(sdk_sample())), Outcome)
    (envelope,) = queue.envelopes
    assert envelope.type == "subscription_went_past_due"
    assert envelope.occurred_at is not None


def test_a_changed_payload_or_another_private_key_is_refused() -> None:
    accepting, queue = receiver()
    sample = sdk_sample()
    changed = {**sample, "bt_payload": sample["bt_payload"].replace("A", "B", 1)}
    for form in (changed, sdk_sample(private_key="another-private-key")):
        with pytest.raises(SignatureError) as refused:
            accepting.accept(delivery(form))
        assert (refused.value.status, refused.value.reason) == (401, "signature_mismatch")
    assert not queue.envelopes


def test_two_payloads_in_one_post_are_refused() -> None:
    """The form parser keeps the first of a repeated parameter: which one was verified must
    never be in doubt."""
    sample = sdk_sample()
    pairs = [("bt_signature", sample["bt_signature"]), ("bt_payload", sample["bt_payload"])]
    accepting, _ = receiver()
    with pytest.raises(SignatureError, match="malformed_signature"):
        accepting.accept(delivery([*pairs, ("bt_payload", sdk_sample("check")["bt_payload"])]))


def test_a_reordered_or_newline_stripped_copy_is_the_same_delivery() -> None:
    clock = Clock(NOW)
    accepting, queue = receiver(clock)
    sample = sdk_sample()
    first = accepting.accept(delivery(sample))
    assert isinstance(first, Outcome)
    processed(accepting.ledger, first.envelope_id, clock.now)
    clock.past_the_claim()
    reordered = [("bt_payload", sample["bt_payload"]), ("bt_signature", sample["bt_signature"])]
    stripped = {**sample, "bt_payload": sample["bt_payload"].rstrip("\n")}
    for copy in (reordered, stripped):
        assert accepting.accept(delivery(copy)) == Outcome(envelope_id=first.envelope_id, duplicate=True)
    assert len(queue.envelopes) == 1


def test_the_shipped_vectors_agree_with_braintrees_parser() -> None:
    for name in ("kind-braintree", "preset-braintree"):
        vector = load_all()[name]
        parser = gateway(vector["secrets"][0]).webhook_notification
        for case in vector["cases"]:
            form = dict(parse_qsl(body_of(case["request"]).decode(), keep_blank_values=True))
            if case["request"]["method"] != "POST" or "bt_signature" not in form:
                continue
            if case["expect"]["verdict"] == "rejected":
                with pytest.raises(InvalidSignatureError):
                    parser.parse(form["bt_signature"], form["bt_payload"])
            else:
                assert parser.parse(form["bt_signature"], form["bt_payload"]).kind == case["expect"].get(
                    "type", "subscription_charged_successfully"
                ), (name, case["name"])


@pytest.mark.parametrize("sample", ["subscription_charged_successfully", "dispute_opened"])
def test_webhooks_send_signs_samples_braintrees_parser_and_the_receiver_accept(sample: str) -> None:
    sent = signing.sign(braintree_source(), PRIVATE_KEY, event_type=sample, now=NOW)
    form = dict(parse_qsl(sent.body.decode()))
    public_key = form["bt_signature"].split("|")[0]
    assert (
        gateway(public_key=public_key).webhook_notification.parse(form["bt_signature"], form["bt_payload"]).kind
        == sample
    )
    accepting, queue = receiver()
    assert isinstance(accepting.accept(delivery(form)), Outcome)
    assert queue.envelopes[0].type == sent.event_type == sample


def test_webhooks_send_signs_a_given_notification_xml_or_a_braintree_form_anew() -> None:
    sample = sdk_sample()
    for given in (
        urlencode(sample).encode(),
        json.dumps({"$xml": "<notification><kind>check</kind></notification>"}).encode(),
    ):
        sent = signing.sign(braintree_source(), PRIVATE_KEY, body=given, now=NOW)
        accepting, _ = receiver()
        assert isinstance(accepting.accept(delivery(dict(parse_qsl(sent.body.decode())))), Outcome)
