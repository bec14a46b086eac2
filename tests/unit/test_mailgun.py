"""Mailgun: the signature object inside the JSON body, checked against Mailgun's own SDK
(mailgun.security.SecurityGuard.verify_webhook); the token is the event id, and a
delivery outside the replay window is refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from mailgun.security import SecurityGuard

from tests.conformance.vectors import body_of, load_all
from webhook_core.errors import SignatureError
from webhook_core.providers.mailgun import MailgunScheme
from webhook_core.sources import Source, parse_sources

KEY = "key-mailgun-http-webhook-signing-key"
TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
MAILGUN_VECTORS = {name: vector for name, vector in load_all().items() if name.endswith("-mailgun")}


def source(**options: object) -> Source:
    return parse_sources({"sources": [{"name": "mg", "preset": "mailgun", **options}]})["mg"]


def scheme_of(src: Source) -> MailgunScheme:
    assert isinstance(src.spec.scheme, MailgunScheme)
    return src.spec.scheme


def delivery(timestamp: int, token: str = TOKEN, key: str = KEY, event: str = "delivered") -> bytes:
    body = json.dumps({"event-data": {"event": event, "id": "ev1", "timestamp": timestamp + 0.5}}).encode()
    return scheme_of(source()).sign_body(body, key, timestamp=timestamp, token=token)


def verify(src: Source, body: bytes, now: float, secrets: tuple[str, ...] = (KEY,)) -> int:
    scheme = src.spec.scheme
    return scheme.verify({}, body, scheme.derive_keys(secrets), now).secret_index


def test_what_the_receiver_accepts_mailguns_own_sdk_accepts_and_the_reverse() -> None:
    now = int(time.time())
    body = delivery(now)
    signature = json.loads(body)["signature"]
    assert SecurityGuard.verify_webhook(KEY, signature["token"], signature["timestamp"], signature["signature"])
    assert verify(source(), body, now) == 0
    assert not SecurityGuard.verify_webhook("other", signature["token"], signature["timestamp"], signature["signature"])
    with pytest.raises(SignatureError):
        verify(source(), body, now, ("other",))


@pytest.mark.parametrize("name", sorted(MAILGUN_VECTORS))
def test_every_accepted_vector_passes_mailguns_sdk_at_the_vectors_time(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vector = MAILGUN_VECTORS[name]
    monkeypatch.setattr(time, "time", lambda: float(vector["time"]))
    for case in vector["cases"]:
        if case["expect"]["verdict"] != "accepted":
            continue
        signature: dict[str, Any] = json.loads(body_of(case["request"]))["signature"]
        fields = [signature.get("signature"), signature.get("parent-signature")]
        assert any(
            SecurityGuard.verify_webhook(vector["secrets"][0], signature["token"], signature["timestamp"], value)
            for value in fields
            if value
        ), case["name"]


def test_the_token_is_the_signed_event_id_so_dedupe_is_on_it() -> None:
    src = source()
    assert src.spec.dedupe == "id"
    facts = src.spec.fields.extract({}, delivery(1_700_000_000))
    assert (facts.event_id, facts.type, facts.resource_id) == (TOKEN, "delivered", "ev1")


def test_the_replay_window_is_fifteen_minutes_as_mailguns_sdk_and_configurable() -> None:
    now = 1_800_000_000
    assert verify(source(), delivery(now - 900), now) == 0
    for skew in (-901, 901):
        with pytest.raises(SignatureError) as caught:
            verify(source(), delivery(now + skew), now)
        assert caught.value.reason == "timestamp_out_of_tolerance"
    assert verify(source(tolerance_seconds=3600), delivery(now - 3000), now) == 0


def test_a_subaccounts_event_verifies_with_the_primary_accounts_key_in_parent_signature() -> None:
    now = 1_800_000_000
    body = json.loads(delivery(now, key="subaccount-key"))
    parent = scheme_of(source()).sign(b"", KEY, timestamp=now, event_id=TOKEN)
    body["signature"]["parent-signature"] = parent
    assert verify(source(), json.dumps(body).encode(), now) == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.pop("signature"), "missing_signature"),
        (lambda d: d.update(signature="abc"), "malformed_signature"),
        (lambda d: d["signature"].update(token=None), "malformed_signature"),
        (lambda d: d["signature"].update(token="x" * 300), "malformed_signature"),
        (lambda d: d["signature"].update(signature=d["signature"]["signature"].upper()[:-1]), "malformed_signature"),
        (lambda d: d["signature"].update(timestamp="1800000000.5"), "malformed_timestamp"),
        (lambda d: d["signature"].update(token=TOKEN[::-1]), "signature_mismatch"),
    ],
)
def test_a_broken_signature_object_is_refused_with_its_reason(change: Any, reason: str) -> None:
    document = json.loads(delivery(1_800_000_000))
    change(document)
    with pytest.raises(SignatureError) as caught:
        verify(source(), json.dumps(document).encode(), 1_800_000_000)
    assert caught.value.reason == reason


def test_bodies_that_are_not_a_json_object_are_refused_without_an_exception() -> None:
    for body in (b"", b"[]", b"not json", b"[" * 100_000, "\ud800".encode("utf-8", "surrogatepass")):
        with pytest.raises(SignatureError):
            verify(source(), body, 1_800_000_000)
