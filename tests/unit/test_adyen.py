"""Adyen standard webhooks: each NotificationRequestItem carries the base64 HMAC-SHA256,
keyed with the hex HMAC key, of eight of its fields joined with `:`
(https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures).
Checked against Adyen's SDK (Adyen.util) and notifications Adyen itself signed, which the
SDK's own tests ship (Adyen/adyen-python-api-library, test/UtilTest.py and test/mocks/util/)."""

from __future__ import annotations

import copy
import json
from typing import Any

import Adyen.util
import pytest

from tests.conformance.vectors import body_of, load_all
from tests.support.clock import Clock
from tests.support.ledger import processed
from webhook_core.errors import SignatureError, SourceUnavailableError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing

NOW = 1_795_600_000
# test/UtilTest.py, test_notification_request_item_hmac: its key, item and expected signature.
SDK_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
SDK_ITEM: dict[str, Any] = {
    "pspReference": "7914073381342284",
    "merchantReference": "TestPayment-1407325143704",
    "merchantAccountCode": "TestMerchant",
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "success": "true",
    "eventDate": "2019-05-06T17:15:34.121+02:00",
    "operations": ["CANCEL", "CAPTURE", "REFUND"],
    "paymentMethod": "visa",
    "additionalData": {"hmacSignature": "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},
}
# test/mocks/util/colon_notification.json and backslash_notification.json: notifications from
# Adyen's test platform with the signatures it made (test_webhooks_with_slashes), trimmed of
# unsigned additionalData entries that change nothing here.
ADYEN_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
ADYEN_SIGNED: list[dict[str, Any]] = [
    {
        "additionalData": {"authCode": "039404", "hmacSignature": "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA="},
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "eventDate": "2023-01-10T13:40:54+01:00",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": ":slashes are fun",
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "pspReference": "M8NB66SBZSGLNK82",
        "reason": "039404:1111:03/2030",
        "success": "true",
    },
    {
        "additionalData": {"authCode": "076181", "hmacSignature": "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo="},
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": "AUTHORISATION",
        "eventDate": "2023-01-09T16:27:29+01:00",
        "merchantAccountCode": "AntoniStroinski",
        "merchantReference": "\\\\slashes are fun",
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "pspReference": "T7FD4VM4D3RZNN82",
        "reason": "076181:1111:03/2030",
        "success": "true",
    },
]


def adyen() -> Source:
    return parse_sources({"sources": [{"name": "adyen", "preset": "adyen"}]})["adyen"]


def receiver(secrets: list[str], clock: Clock | None = None) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"adyen": adyen()},
        secrets=StaticSecrets({"adyen": secrets}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=clock or Clock(NOW),
    )
    return built, queue


def notification(*items: dict[str, Any]) -> bytes:
    return json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]}).encode()


def delivery(body: bytes) -> Delivery:
    return Delivery(source="adyen", headers={"content-type": "application/json"}, body=body)


def test_the_sdks_example_is_accepted_and_a_changed_amount_is_refused() -> None:
    accepting, queue = receiver([SDK_KEY])
    assert isinstance(accepting.accept(delivery(notification(SDK_ITEM))), Outcome)
    (envelope,) = queue.envelopes
    assert (envelope.type, envelope.resource_id) == ("AUTHORISATION", "7914073381342284")
    changed = copy.deepcopy(SDK_ITEM)
    changed["amount"]["value"] = 1
    with pytest.raises(SignatureError) as refused:
        accepting.accept(delivery(notification(changed)))
    assert (refused.value.status, refused.value.reason) == (401, "signature_mismatch")


@pytest.mark.parametrize("item", ADYEN_SIGNED, ids=["colon", "backslashes"])
def test_notifications_signed_by_adyen_are_accepted(item: dict[str, Any]) -> None:
    """A colon or backslashes in a signed field are signed as they are, never escaped."""
    assert Adyen.util.is_valid_hmac_notification(copy.deepcopy(item), ADYEN_KEY)
    accepting, _ = receiver([ADYEN_KEY])
    assert isinstance(accepting.accept(delivery(notification(item))), Outcome)
    with pytest.raises(SignatureError, match="signature_mismatch"):
        receiver([SDK_KEY])[0].accept(delivery(notification(item)))


def test_other_unsigned_data_under_a_captured_signature_is_the_same_delivery() -> None:
    clock = Clock(NOW)
    accepting, queue = receiver([ADYEN_KEY], clock)
    first = accepting.accept(delivery(notification(ADYEN_SIGNED[0])))
    assert isinstance(first, Outcome)
    processed(accepting.ledger, first.envelope_id, clock.now)
    clock.past_the_claim()
    forged = copy.deepcopy(ADYEN_SIGNED[0])
    forged["reason"] = "refused"
    forged["additionalData"]["authCode"] = "000000"
    again = accepting.accept(delivery(notification(forged)))
    assert again == Outcome(envelope_id=first.envelope_id, duplicate=True)
    assert len(queue.envelopes) == 1


def test_every_item_of_a_batch_must_verify_where_adyens_sdk_checks_the_first() -> None:
    forged = copy.deepcopy(ADYEN_SIGNED[1])
    forged["amount"]["value"] = 999_999
    body = notification(ADYEN_SIGNED[0], forged)
    assert Adyen.util.is_valid_hmac_notification(json.loads(body), ADYEN_KEY)  # the SDK's first item only
    accepting, queue = receiver([ADYEN_KEY])
    with pytest.raises(SignatureError, match="signature_mismatch"):
        accepting.accept(delivery(body))
    assert isinstance(accepting.accept(delivery(notification(*ADYEN_SIGNED))), Outcome)
    assert len(queue.envelopes) == 1


def test_a_key_that_is_not_hex_is_no_key() -> None:
    accepting, _ = receiver(["not-an-adyen-key"])
    with pytest.raises(SourceUnavailableError):
        accepting.accept(delivery(notification(SDK_ITEM)))


def test_the_shipped_vectors_agree_with_adyens_sdk() -> None:
    """Each item of every accepted request passes Adyen's check; each request refused for
    its signature has an item that fails it."""
    for name in ("kind-adyen", "preset-adyen"):
        vector = load_all()[name]
        key = vector["secrets"][0]
        for case in vector["cases"]:
            if case["request"]["method"] != "POST" or case["expect"].get("reason") not in {None, "signature_mismatch"}:
                continue
            listed = json.loads(body_of(case["request"]))["notificationItems"]
            items = [entry["NotificationRequestItem"] for entry in listed]
            valid = [bool(Adyen.util.is_valid_hmac_notification(copy.deepcopy(item), key)) for item in items]
            assert all(valid) is (case["expect"]["verdict"] != "rejected"), (name, case["name"])


@pytest.mark.parametrize("sample", ["AUTHORISATION", "REFUND"])
def test_webhooks_send_signs_samples_adyens_sdk_and_the_receiver_accept(sample: str) -> None:
    sent = signing.sign(adyen(), SDK_KEY, event_type=sample, now=NOW)
    (item,) = [entry["NotificationRequestItem"] for entry in json.loads(sent.body)["notificationItems"]]
    assert Adyen.util.is_valid_hmac_notification(item, SDK_KEY)
    accepting, queue = receiver([SDK_KEY])
    assert isinstance(accepting.accept(delivery(sent.body)), Outcome)
    assert queue.envelopes[0].type == sent.event_type == sample
