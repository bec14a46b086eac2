"""PayPal: SHA256withRSA over `transmission id|time|webhook id|crc32(body)`, the certificate
fetched only from PayPal's API hosts. PayPal's one Python SDK that verifies offline
(paypalrestsdk, deprecated) needs pyOpenSSL, whose mere presence makes botocore load
cryptography at import, so the string is written here from PayPal's docs (the SDK's
`_get_expected_sig` gives the same: `id|time|webhook id|str(crc32(body) & 0xffffffff)`).
The tests make their own RSA keys and certificates and serve them through
FakeCertificates (no network)."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.conformance.generate import crc32_suffix
from tests.support.clock import Clock
from tests.support.cold_start import after_cold_start
from tests.support.ledger import processed
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.providers.paypal import CERTIFICATE_RULE
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import FakeCertificates, InMemoryLedger, InMemoryQueue, StaticSecrets

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_ID = "9XL90610J3647323C"
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
NOW = 1_800_000_000
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
BODY = json.dumps(
    {
        "id": "WH-1",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "create_time": "2027-01-15T08:00:00Z",
        "summary": "Payment of € 5",
        "resource": {"id": "5O190127TN364715T"},
    },
    ensure_ascii=False,
).encode()


def certificate(common_name: str = "messageverificationcerts.paypal.com") -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
    )
    return builder.sign(KEY, hashes.SHA256()).public_bytes(Encoding.PEM)


def headers(
    body: bytes = BODY, webhook_id: str = WEBHOOK_ID, transmission: str = "tx-1", key: rsa.RSAPrivateKey = KEY
) -> dict[str, str]:
    sent = datetime.fromtimestamp(NOW, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = f"{transmission}|{sent}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return {
        "paypal-transmission-id": transmission,
        "paypal-transmission-time": sent,
        "paypal-transmission-sig": base64.b64encode(signature).decode(),
        "paypal-cert-url": CERT_URL,
        "paypal-auth-algo": "SHA256withRSA",
    }


def source() -> Source:
    return parse_sources({"sources": [{"name": "pp", "preset": "paypal"}]})["pp"]


@pytest.fixture
def served() -> FakeCertificates:
    fake = FakeCertificates({CERT_URL: certificate()})
    fake.install()
    return fake


def verify(sent: dict[str, str], body: bytes = BODY, ids: tuple[str, ...] = (WEBHOOK_ID,)) -> int:
    scheme = source().spec.scheme
    return scheme.verify(sent, body, scheme.derive_keys(ids), NOW).secret_index


def reason(sent: dict[str, str], body: bytes = BODY, ids: tuple[str, ...] = (WEBHOOK_ID,)) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(sent, body, ids)
    return caught.value.reason


def test_the_documented_string_signed_by_the_certificates_key_verifies(served: FakeCertificates) -> None:
    assert verify(headers()) == 0
    assert verify(headers(webhook_id="4JH86294D6297924G"), ids=(WEBHOOK_ID, "4JH86294D6297924G")) == 1
    assert served.fetched == [CERT_URL]  # fetched once, then cached


def test_another_webhook_id_another_key_or_a_changed_field_fails(served: FakeCertificates) -> None:
    assert reason(headers(webhook_id="OTHERWEBHOOK1")) == "signature_mismatch"
    assert reason(headers(key=OTHER_KEY)) == "signature_mismatch"
    assert reason({**headers(), "paypal-transmission-id": "tx-2"}) == "signature_mismatch"
    assert reason({**headers(), "paypal-transmission-time": "2027-01-15T08:00:01Z"}) == "signature_mismatch"
    assert reason(headers(), BODY + b" ") == "signature_mismatch"
    assert reason({**headers(), "paypal-auth-algo": "SHA1withRSA"}) == "unsupported_algorithm"
    assert reason({k: v for k, v in headers().items() if k != "paypal-transmission-sig"}) == "missing_signature"


def test_a_certificate_must_be_paypals(served: FakeCertificates) -> None:
    FakeCertificates({CERT_URL: certificate("evil.example")}).install()
    assert reason(headers()) == "untrusted_certificate"
    FakeCertificates({CERT_URL: certificate("paypal.com.evil.example")}).install()
    assert reason(headers()) == "untrusted_certificate"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (CERT_URL, True),
        ("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1", True),
        ("http://api.paypal.com/v1/notifications/certs/CERT-1", False),
        ("https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1", False),
        ("https://www.paypal.com/v1/notifications/certs/CERT-1", False),
        ("https://api.paypal.com/v1/oauth2/token", False),
        ("https://api.paypal.com/v1/notifications/certs/../../oauth2/token", False),
        ("https://api.paypal.com:8443/v1/notifications/certs/CERT-1", False),
        ("https://user@api.paypal.com/v1/notifications/certs/CERT-1", False),
    ],
)
def test_certificates_are_fetched_only_from_paypals_api_hosts(url: str, allowed: bool) -> None:
    if allowed:
        CERTIFICATE_RULE.check(url)
    else:
        with pytest.raises(SignatureError, match="untrusted_certificate_url"):
            CERTIFICATE_RULE.check(url)


def test_webhook_ids_are_the_secrets_and_nothing_else_is_usable() -> None:
    assert source().spec.scheme.derive_keys(["", "WH-1 with spaces", "x" * 51, WEBHOOK_ID]) == (
        None,
        None,
        None,
        WEBHOOK_ID.encode(),
    )


def test_a_body_forged_to_the_same_crc32_verifies_but_is_the_same_delivery(served: FakeCertificates) -> None:
    """PayPal binds the body by CRC32 only, which anyone can match: the signed transmission
    id is the delivery's id, so such a forgery is answered as a duplicate, never queued."""
    src = source()
    assert src.spec.dedupe == "id"
    forged = BODY.replace(b"COMPLETED", b"REFUNDED\x20\x20")
    forged += crc32_suffix(forged, zlib.crc32(BODY))
    assert verify(headers(), forged) == 0
    queue, clock = InMemoryQueue(), Clock(NOW)
    receiver = Receiver(
        sources={"pp": src},
        secrets=StaticSecrets({"pp": [WEBHOOK_ID]}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=100_000,
        clock=clock,
    )
    first = receiver.accept(Delivery("pp", headers(), BODY))
    assert isinstance(first, Outcome)
    processed(receiver.ledger, first.envelope_id, clock.now)
    clock.past_the_claim()
    replay = receiver.accept(Delivery("pp", headers(), forged))
    assert isinstance(first, Outcome)
    assert isinstance(replay, Outcome)
    assert (first.duplicate, replay.duplicate) == (False, True)
    assert [(e.event_id, e.type, e.resource_id) for e in queue.envelopes] == [
        ("tx-1", "PAYMENT.CAPTURE.COMPLETED", "5O190127TN364715T")
    ]


def test_a_cold_start_with_a_paypal_source_loads_neither_cryptography_nor_a_fetcher() -> None:
    loaded = after_cold_start(
        "['cryptography' in sys.modules, certificates._default is None]",
        sources=[{"name": "pp", "kind": "paypal"}],
        setup="from webhook_core import certificates",
    )
    assert loaded == [False, True]
