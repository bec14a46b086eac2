"""`webhooks send` to the local stack signs SNS and PayPal deliveries with a stand-in key,
whose certificate `webhooks dev` serves at URLs on the providers' own hosts: they are
accepted there through the receiver's own checks, and verify nowhere else."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.project import FIXTURE_SOURCES
from webhook_core import certificates
from webhook_core.certificates import CertificateFetcher, CertificateUnavailableError
from webhook_core.errors import SignatureError
from webhook_core.providers.spec import HandshakeReply
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, load_sources
from webhook_core.testing import FakeCertificates, InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing
from webhooks_cli.errors import CliError
from webhooks_cli.provider_keys import LocalProviderHosts, ProviderKey

SOURCES = load_sources(FIXTURE_SOURCES)
TOPIC = "arn:aws:sns:us-east-1:000000000000:webhooks-dev"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
SECRETS = {"sns": [TOPIC], "paypal": [WEBHOOK_ID]}
KEY = ProviderKey.create()


@pytest.fixture
def local_hosts() -> LocalProviderHosts:
    """What `webhooks dev` installs; anything else is asked of a fake with nothing (no network)."""
    hosts = LocalProviderHosts(KEY, fallback=FakeCertificates())
    certificates.install(CertificateFetcher(hosts))
    return hosts


def receiver(clock: Clock) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    return Receiver(
        sources={name: SOURCES[name] for name in SECRETS},
        secrets=StaticSecrets(SECRETS),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=clock,
    ), queue


def delivered(made: signing.Delivery) -> Delivery:
    return Delivery(source=made.source, headers={k.lower(): v for k, v in made.headers.items()}, body=made.body)


def sent(source: Source, event_type: str | None = None, key: ProviderKey = KEY) -> signing.Delivery:
    return signing.sign(source, SECRETS[source.name][0], event_type=event_type, provider_key=key)


@pytest.mark.parametrize(
    ("name", "event_type"),
    [
        ("sns", None),
        ("sns", "Amazon S3 Notification"),
        ("paypal", "PAYMENT.AUTHORIZATION.CREATED"),
        ("paypal", "PAYMENT.CAPTURE.COMPLETED"),
    ],
)
def test_each_sample_is_accepted_by_the_local_stack_as_its_type(
    local_hosts: LocalProviderHosts, name: str, event_type: str | None
) -> None:
    made = sent(SOURCES[name], event_type)
    accepting, queue = receiver(Clock(time.time()))
    outcome = accepting.accept(delivered(made))
    assert not isinstance(outcome, HandshakeReply)
    (queued,) = queue.envelopes
    assert (queued.id, queued.type) == (outcome.envelope_id, event_type or "My First Message")
    assert made.event_type == queued.type  # what `send` prints is what the receiver recorded


def test_an_sns_message_says_what_sns_says(local_hosts: LocalProviderHosts) -> None:
    made = sent(SOURCES["sns"], "Amazon S3 Notification")
    message = json.loads(made.body)
    assert made.headers["x-amz-sns-message-type"] == message["Type"] == "Notification"
    assert made.headers["x-amz-sns-topic-arn"] == message["TopicArn"] == TOPIC
    assert message["SignatureVersion"] == "2"
    assert message["SigningCertURL"].startswith("https://sns.us-east-1.amazonaws.com/")
    assert json.loads(message["Message"])["Records"][0]["eventSource"] == "aws:s3"


def test_a_subscription_confirmation_is_confirmed_by_its_link_and_never_queued(
    local_hosts: LocalProviderHosts,
) -> None:
    made = sent(SOURCES["sns"], "SubscriptionConfirmation")
    accepting, queue = receiver(Clock(time.time()))
    reply = accepting.accept(delivered(made))
    assert isinstance(reply, HandshakeReply)
    assert reply.body == {"status": "confirmed"}
    assert local_hosts.confirmed == [TOPIC]
    assert queue.envelopes == []


def test_signed_with_another_key_or_for_another_topic_or_webhook_is_refused(local_hosts: LocalProviderHosts) -> None:
    clock = Clock(time.time())
    for name in SECRETS:
        accepting, queue = receiver(clock)
        with pytest.raises(SignatureError, match="signature_mismatch"):
            accepting.accept(delivered(sent(SOURCES[name], key=ProviderKey.create())))
        assert queue.envelopes == []
    accepting, _ = receiver(clock)
    other_topic = signing.sign(SOURCES["sns"], TOPIC.replace("webhooks-dev", "elsewhere"), provider_key=KEY)
    with pytest.raises(SignatureError, match="topic_not_accepted"):
        accepting.accept(delivered(other_topic))
    other_webhook = signing.sign(SOURCES["paypal"], "9XX000000X000000XXXXXXXX", provider_key=KEY)
    with pytest.raises(SignatureError, match="signature_mismatch"):
        accepting.accept(delivered(other_webhook))


def test_a_stack_without_the_stand_in_cannot_verify_them() -> None:
    """A deployed stack fetches the URLs from the providers' hosts, which never serve them."""
    FakeCertificates().install()
    accepting, queue = receiver(Clock(time.time()))
    for name in SECRETS:
        with pytest.raises(CertificateUnavailableError):
            accepting.accept(delivered(sent(SOURCES[name])))
    assert queue.envelopes == []


def test_other_certificate_urls_are_fetched_as_deployed(local_hosts: LocalProviderHosts) -> None:
    with pytest.raises(CertificateUnavailableError):
        local_hosts("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", timeout=1, max_bytes=99)
    with pytest.raises(CertificateUnavailableError):  # a confirmation link `send` did not make
        local_hosts(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=2336412f37",
            timeout=1,
            max_bytes=99,
        )
    assert local_hosts.confirmed == []


def test_send_signs_for_sns_and_paypal_only_with_the_stand_in() -> None:
    for name in SECRETS:
        with pytest.raises(CliError, match=r"only to the local stack \(`webhooks dev`\)"):
            signing.sign(SOURCES[name], SECRETS[name][0])


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = ProviderKey.path_beside(tmp_path / ".dev-secrets.json")
    assert ProviderKey.load(path) is None
    made = ProviderKey.load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ProviderKey.load_or_create(path) == made == ProviderKey.load(path)
    signature = made.sign(b"content")
    assert len(base64.b64encode(signature)) > 300
    path.write_text("not a key")
    with pytest.raises(CliError, match="is not a key and certificate; delete it"):
        ProviderKey.load(path)


def test_two_stacks_starting_at_once_keep_one_key(tmp_path: Path) -> None:
    path = ProviderKey.path_beside(tmp_path / ".dev-secrets.json")
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(lambda _: ProviderKey.load_or_create(path), range(4)))
    assert all(key == ProviderKey.load(path) for key in made)
    assert sorted(item.name for item in tmp_path.iterdir()) == [path.name]
