"""Amazon SNS over HTTPS: RSA signatures over AWS's documented canonical string, checked
with a certificate fetched only from an SNS host. The tests make their own RSA keys and
certificates with cryptography and serve them through FakeCertificates (no network):
AWS publishes the algorithm, not a signer."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.support.clock import Clock
from tests.support.cold_start import after_cold_start
from tests.support.ledger import processed
from webhook_core import certificates
from webhook_core.certificates import MAX_CERTIFICATE_BYTES, CertificateFetcher, CertificateUnavailableError
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.providers.sns import CERTIFICATE_RULE, canonical_string
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import FakeCertificates, InMemoryLedger, InMemoryQueue, StaticSecrets

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "arn:aws:sns:eu-west-1:111122223333:orders"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc123.pem"
SUBSCRIBE_URL = f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"
NOW = 1_800_000_000


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY, OTHER_KEY = _key(), _key()


def certificate_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com (test)")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)


def string_to_sign(message: dict[str, str]) -> bytes:
    """Written from AWS's page, not the receiver's code."""
    names: tuple[str, ...] = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    if message["Type"] == "Notification":
        names = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    return "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode()


def message(
    kind: str = "Notification", version: str = "1", key: rsa.RSAPrivateKey = KEY, **fields: str
) -> dict[str, str]:
    document = {"Type": kind, "MessageId": "m-1", "TopicArn": TOPIC, "Message": "hello\nworld", "Timestamp": ""}
    document["Timestamp"] = datetime.fromtimestamp(NOW, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if kind == "Notification":
        document["Subject"] = "order.created"
    else:
        document.update(Token="tok", SubscribeURL=SUBSCRIBE_URL)
    document.update(fields)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SignatureVersion 1 is SHA1withRSA
    signature = key.sign(string_to_sign(document), padding.PKCS1v15(), digest)
    document.update(SignatureVersion=version, Signature=base64.b64encode(signature).decode(), SigningCertURL=CERT_URL)
    return document


def source(**options: object) -> Source:
    return parse_sources({"sources": [{"name": "sns", "preset": "sns", **options}]})["sns"]


@pytest.fixture
def served() -> FakeCertificates:
    fake = FakeCertificates({CERT_URL: certificate_of(KEY), SUBSCRIBE_URL: b"<ConfirmSubscriptionResponse/>"})
    fake.install()
    return fake


def verify(document: dict[str, Any] | bytes, topics: tuple[str, ...] = (TOPIC,), now: float = NOW) -> int:
    scheme = source().spec.scheme
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return scheme.verify({}, body, scheme.derive_keys(topics), now).secret_index


def reason(document: dict[str, Any] | bytes, topics: tuple[str, ...] = (TOPIC,), now: float = NOW) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(document, topics, now)
    return caught.value.reason


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", ["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"])
def test_each_message_type_verifies_under_both_signature_versions(
    served: FakeCertificates, kind: str, version: str
) -> None:
    assert verify(message(kind, version)) == 0
    assert verify(message(kind, version), ("arn:aws:sns:eu-west-1:111122223333:old", TOPIC)) == 1


def test_the_canonical_string_is_awss_for_each_type() -> None:
    for kind in ("Notification", "SubscriptionConfirmation"):
        document = message(kind)
        assert canonical_string(document) == string_to_sign(document)
    without_subject = {key: value for key, value in message().items() if key != "Subject"}
    assert b"Subject" not in canonical_string(without_subject)


@pytest.mark.parametrize("field", ["Message", "MessageId", "Subject", "Timestamp", "Type"])
def test_a_tampered_signed_field_fails(served: FakeCertificates, field: str) -> None:
    document = message()
    document[field] = {"Timestamp": "2027-01-15T08:00:01.000Z", "Type": "SubscriptionConfirmation"}.get(field, "x")
    assert reason(document) in {"signature_mismatch", "malformed_signature"}


def test_a_tampered_confirmation_field_fails_and_unsigned_fields_do_not_matter(served: FakeCertificates) -> None:
    for field in ("SubscribeURL", "Token"):
        document = message("SubscriptionConfirmation")
        document[field] = "changed"
        assert reason(document) == "signature_mismatch"
    unsigned: dict[str, Any] = {"UnsubscribeURL": "https://example.com/", "MessageAttributes": {"a": {"Value": "1"}}}
    assert verify({**message(), **unsigned}) == 0


def test_signed_by_another_key_or_with_the_wrong_version_fails(served: FakeCertificates) -> None:
    assert reason(message(key=OTHER_KEY)) == "signature_mismatch"
    assert reason({**message(version="1"), "SignatureVersion": "2"}) == "signature_mismatch"
    assert reason({**message(), "SignatureVersion": "3"}) == "malformed_signature"


def test_a_topic_the_source_does_not_accept_is_refused_before_any_fetch(served: FakeCertificates) -> None:
    assert reason(message(TopicArn="arn:aws:sns:eu-west-1:444455556666:orders")) == "topic_not_accepted"
    assert served.fetched == []
    # Secrets that are not topic ARNs are never usable.
    assert source().spec.scheme.derive_keys(["", "orders", "arn:aws:sqs:eu-west-1:111122223333:q"]) == (None,) * 3


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (CERT_URL, True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem", True),
        ("https://sns.us-gov-west-1.amazonaws.com/a/b.pem", True),
        ("https://sns.eu-west-1.amazonaws.com:443/x.pem", True),
        ("http://sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem", False),
        ("https://evil.example/sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://xsns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns..amazonaws.com/x.pem", False),
        ("https://s3.amazonaws.com/sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com:8443/x.pem", False),
        ("https://user@sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com/x.txt", False),
        ("https://sns.eu-west-1.amazonaws.com/x.pem#frag", False),
        ("https://sns.eu-west-1.amazonaws.com\\@evil.example/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com/../x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com/ünï.pem", False),
        ("//sns.eu-west-1.amazonaws.com/x.pem", False),
    ],
)
def test_only_https_sns_hosts_are_fetched(url: str, allowed: bool) -> None:
    if allowed:
        CERTIFICATE_RULE.check(url)
    else:
        with pytest.raises(SignatureError, match="untrusted_certificate_url"):
            CERTIFICATE_RULE.check(url)


def test_a_signed_message_pointing_elsewhere_is_refused_without_a_fetch(served: FakeCertificates) -> None:
    document = message()
    document["SigningCertURL"] = "https://attacker.example/cert.pem"
    assert reason(document) == "untrusted_certificate_url"
    assert served.fetched == []


def test_the_certificate_is_fetched_once_and_kept_for_its_max_age() -> None:
    fake = FakeCertificates({CERT_URL: certificate_of(KEY)})
    clock = [0.0]
    certificates.install(CertificateFetcher(fake, max_age_seconds=60, clock=lambda: clock[0]))
    for _ in range(3):
        assert verify(message()) == 0
    assert fake.fetched == [CERT_URL]
    clock[0] = 61.0
    assert verify(message()) == 0
    assert fake.fetched == [CERT_URL, CERT_URL]


def test_what_is_served_must_be_a_small_pem_certificate_with_an_rsa_key() -> None:
    for served, expected in (
        (b"not a certificate", "malformed_certificate"),
        (certificate_of(KEY) + b"\n" * MAX_CERTIFICATE_BYTES, "malformed_certificate"),
        (certificate_of(ec.generate_private_key(ec.SECP256R1())), "malformed_certificate"),
    ):
        FakeCertificates({CERT_URL: served}).install()
        assert reason(message()) == expected


def test_a_certificate_that_cannot_be_fetched_is_a_503_the_provider_retries() -> None:
    FakeCertificates({}).install()
    with pytest.raises(CertificateUnavailableError) as caught:
        verify(message())
    assert caught.value.status == 503


def test_the_window_is_a_day_by_default_and_configurable(served: FakeCertificates) -> None:
    assert verify(message(), now=NOW + 86_400) == 0
    assert reason(message(), now=NOW + 86_401) == "timestamp_out_of_tolerance"
    scheme = source(tolerance_seconds=600).spec.scheme
    with pytest.raises(SignatureError, match="timestamp_out_of_tolerance"):
        scheme.verify({}, json.dumps(message()).encode(), scheme.derive_keys([TOPIC]), NOW + 601)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"Type": "Notification"}',
        b"[" * 100_000,
        json.dumps({**message(), "Signature": "!"}).encode(),
    ],
)
def test_bodies_that_are_not_sns_messages_are_refused(served: FakeCertificates, body: bytes) -> None:
    assert reason(body) in {"missing_signature", "malformed_signature"}


def receiver(src: Source, queue: InMemoryQueue, clock: Clock | None = None) -> Receiver:
    return Receiver(
        sources={src.name: src},
        secrets=StaticSecrets({src.name: [TOPIC]}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=clock or Clock(NOW),
    )


def test_a_notification_is_queued_once_under_its_message_id_typed_by_its_subject(served: FakeCertificates) -> None:
    queue = InMemoryQueue()
    src = source()
    assert src.spec.dedupe == "id"
    clock = Clock(NOW)
    made = receiver(src, queue, clock)
    ledger, accept = made.ledger, made.accept
    body = json.dumps(message()).encode()
    first = accept(Delivery("sns", {}, body))
    assert isinstance(first, Outcome)
    processed(ledger, first.envelope_id, clock.now)
    clock.past_the_claim()  # SNS retries a delivery it got no answer for, seconds later at the soonest
    again = accept(Delivery("sns", {}, body))
    assert (getattr(first, "duplicate", None), getattr(again, "duplicate", None)) == (False, True)
    assert [(e.event_id, e.type) for e in queue.envelopes] == [("m-1", "order.created")]


def test_a_subscription_is_confirmed_at_its_signed_subscribe_url_and_never_queued(served: FakeCertificates) -> None:
    queue = InMemoryQueue()
    reply = receiver(source(), queue).accept(
        Delivery("sns", {}, json.dumps(message("SubscriptionConfirmation")).encode())
    )
    assert getattr(reply, "body", None) == {"status": "confirmed"}
    assert served.fetched == [CERT_URL, SUBSCRIBE_URL]
    assert queue.envelopes == []


def test_with_subscription_log_the_operator_confirms_it_and_nothing_is_fetched(
    served: FakeCertificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhook_core.observability import logger

    warned: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(logger, "warning", lambda text, extra: warned.append((text, extra)))
    queue = InMemoryQueue()
    confirmation = message("SubscriptionConfirmation")
    reply = receiver(source(subscription="log"), queue).accept(Delivery("sns", {}, json.dumps(confirmation).encode()))
    assert getattr(reply, "body", None) == {"status": "awaiting confirmation"}
    assert served.fetched == [CERT_URL]
    assert queue.envelopes == []
    # The log tells the operator the one way left (the URL is not kept), and never holds the token.
    ((text, extra),) = warned
    assert "Request confirmation" in text
    assert '"confirm"' in text
    assert extra == {"subscribe_host": SUBSCRIBE_URL.split("/")[2]}
    assert "Token=" not in text + json.dumps(extra)
    assert SUBSCRIBE_URL not in text + json.dumps(extra)


def test_a_subscribe_url_off_sns_is_never_fetched(served: FakeCertificates) -> None:
    """SubscribeURL is signed, so only SNS can name it; still, it is fetched only from an SNS host."""
    from webhook_core.providers.sns import SUBSCRIBE_RULE

    with pytest.raises(SignatureError):
        certificates.fetcher().get("https://attacker.example/?Action=ConfirmSubscription", SUBSCRIBE_RULE)
    assert served.fetched == []


def test_a_cold_start_with_an_sns_source_loads_neither_cryptography_nor_a_fetcher() -> None:
    loaded = after_cold_start(
        "['cryptography' in sys.modules, certificates._default is None]",
        sources=[{"name": "sns", "kind": "sns"}],
        setup="from webhook_core import certificates",
    )
    assert loaded == [False, True]
