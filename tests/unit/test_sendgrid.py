"""SendGrid's signed Event Webhook (ECDSA P-256 over timestamp + body), against
SendGrid's own helper, sendgrid.helpers.eventwebhook.EventWebhook, and the example
its test suite ships (a real signature made by SendGrid's key)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sendgrid.helpers.eventwebhook import EventWebhook

from tests.conformance.vectors import body_of, load_all
from tests.support.cold_start import after_cold_start
from webhook_core.errors import SignatureError
from webhook_core.providers.sendgrid import new_signing_key
from webhook_core.sources import Source, parse_sources

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE = "x-twilio-email-event-webhook-signature"
TIMESTAMP = "x-twilio-email-event-webhook-timestamp"
# sendgrid-python's test/unit/test_eventwebhook.py: SendGrid's key, signature and payload.
SG_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3G"
    "Rqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SG_SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
SG_TIMESTAMP = "1600112502"
SG_PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()
SENDGRID_VECTORS = {name: vector for name, vector in load_all().items() if name.endswith("-sendgrid")}


def source(**options: object) -> Source:
    return parse_sources({"sources": [{"name": "sg", "preset": "sendgrid", **options}]})["sg"]


def verify(body: bytes, signature: str, timestamp: str, keys: list[str], now: float) -> int:
    scheme = source().spec.scheme
    headers = {SIGNATURE: signature, TIMESTAMP: timestamp}
    return scheme.verify(headers, body, scheme.derive_keys(keys), now).secret_index


def test_sendgrids_own_signed_example_verifies_and_its_tampered_forms_do_not() -> None:
    now = float(SG_TIMESTAMP)
    assert EventWebhook(SG_PUBLIC_KEY).verify_signature(SG_PAYLOAD.decode(), SG_SIGNATURE, SG_TIMESTAMP)
    assert verify(SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP, [SG_PUBLIC_KEY], now) == 0
    other_key = new_signing_key()[1]
    assert verify(SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP, [other_key, SG_PUBLIC_KEY], now) == 1
    forged = (
        (SG_PAYLOAD.replace(b"dropped", b"dropper"), SG_SIGNATURE, SG_TIMESTAMP, "signature_mismatch"),
        (SG_PAYLOAD.rstrip(b"\r\n"), SG_SIGNATURE, SG_TIMESTAMP, "signature_mismatch"),
        (SG_PAYLOAD, SG_SIGNATURE, "1600112503", "signature_mismatch"),
        (SG_PAYLOAD, SG_SIGNATURE[:-4], SG_TIMESTAMP, "signature_mismatch"),
        (SG_PAYLOAD, SG_SIGNATURE + "=", SG_TIMESTAMP, "malformed_signature"),
        (SG_PAYLOAD, SG_SIGNATURE, "timestamp", "malformed_timestamp"),
    )
    for body, signature, timestamp, reason in forged:
        with pytest.raises(SignatureError) as caught:
            verify(body, signature, timestamp, [SG_PUBLIC_KEY], now)
        assert caught.value.reason == reason
    with pytest.raises(SignatureError) as caught:
        verify(SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP, [SG_PUBLIC_KEY], now + 301)
    assert caught.value.reason == "timestamp_out_of_tolerance"


def test_what_the_dev_stack_signs_sendgrids_helper_verifies() -> None:
    from webhooks_cli.signing import sign

    private, public = new_signing_key()
    delivery = sign(source(), private)
    headers = {name.lower(): value for name, value in delivery.headers.items()}
    assert EventWebhook(public).verify_signature(delivery.body.decode(), headers[SIGNATURE], headers[TIMESTAMP])
    assert verify(delivery.body, headers[SIGNATURE], headers[TIMESTAMP], [public], float(headers[TIMESTAMP])) == 0


@pytest.mark.parametrize("name", sorted(SENDGRID_VECTORS))
def test_every_accepted_vector_passes_sendgrids_helper(name: str) -> None:
    vector = SENDGRID_VECTORS[name]
    helper = EventWebhook(vector["secrets"][0])
    accepted = [case for case in vector["cases"] if case["expect"]["verdict"] == "accepted"]
    assert accepted
    for case in vector["cases"]:
        headers = {key.lower(): value for key, value in case["request"]["headers"].items()}
        if SIGNATURE not in headers or TIMESTAMP not in headers:
            continue
        verdict = helper.verify_signature(body_of(case["request"]).decode(), headers[SIGNATURE], headers[TIMESTAMP])
        if case["expect"]["verdict"] == "accepted":
            assert verdict, case["name"]


def test_the_type_is_the_first_events_and_batches_are_told_apart_by_their_digest() -> None:
    src = source()
    assert src.spec.dedupe == "digest"
    facts = src.spec.fields.extract({}, SG_PAYLOAD)
    assert (facts.type, facts.occurred_at and int(facts.occurred_at.timestamp())) == ("dropped", 1600112492)


def _spki(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


def test_only_a_p256_public_key_is_a_usable_secret() -> None:
    scheme = source().spec.scheme
    unusable = [
        _spki(ec.generate_private_key(ec.SECP384R1()).public_key()),
        _spki(ed25519.Ed25519PrivateKey.generate().public_key()),
        "not base64!",
        base64.b64encode(b"\x30\x00").decode(),
        new_signing_key()[0],  # the private key, not the public one
        "",
    ]
    assert scheme.derive_keys(unusable) == (None,) * len(unusable)
    assert scheme.derive_keys([SG_PUBLIC_KEY])[0] is not None


def test_cryptography_is_loaded_only_when_a_sendgrid_delivery_is_verified() -> None:
    assert after_cold_start("'cryptography' in sys.modules", sources=[{"name": "sg", "kind": "sendgrid"}]) is False
