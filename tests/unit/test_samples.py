"""`webhooks send`: every kind and preset has realistic samples, each signed so that its
source verifies it and records the type it is named after; two sends of one sample are two
events even where a source keys on the body's digest; a given body (--file) keeps the type
the receiver derives from it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conformance.generate import resolved, secrets_for
from tests.support.project import FIXTURE_SOURCES
from webhook_core import certificates
from webhook_core.certificates import CertificateFetcher
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import FakeCertificates
from webhooks_cli import catalog, devsecrets, signing
from webhooks_cli.cli import _recorded_id, main
from webhooks_cli.provider_keys import LocalProviderHosts, ProviderKey

NOW = 1_795_600_000
HANDSHAKES = set(signing.HANDSHAKE_SAMPLES.values())


def every_source() -> dict[str, Source]:
    shipped = json.loads(FIXTURE_SOURCES.read_text(encoding="utf-8"))["sources"]
    kinds = parse_sources({"sources": shipped})
    return {**{f"kind-{name}": source for name, source in kinds.items()}, **catalog.preset_sources()}


SOURCES = every_source()
# SNS and PayPal sign with their own certificates: `webhooks send` signs them with the local
# stack's stand-in, whose certificate the local stack serves.
PROVIDER_KEY = ProviderKey.create()


@pytest.fixture(autouse=True)
def _local_provider_hosts() -> None:
    certificates.install(CertificateFetcher(LocalProviderHosts(PROVIDER_KEY, fallback=FakeCertificates())))


def secrets_of(name: str, source: Source) -> tuple[str, str]:
    """(what the receiver holds, what the sender signs with) for this source."""
    if source.kind in signing.UNSIGNABLE_KINDS:  # an accepted TopicArn, or webhook ID
        accepted = devsecrets.new_secret(source.kind)
        return accepted, accepted
    options: dict[str, Any] = {"preset": source.preset.name} if source.preset else {"kind": source.kind}
    kind, full = resolved(options)
    configured, signing_secret, _ = secrets_for(name, kind, full)
    return configured, signing_secret


def sample_cases() -> list[tuple[str, str]]:
    return [
        (name, sample)
        for name, source in SOURCES.items()
        for sample in signing.samples(source)
        if sample not in HANDSHAKES
    ]


def test_every_kind_and_preset_has_a_sample() -> None:
    for name, source in SOURCES.items():
        assert [sample for sample in signing.samples(source) if sample not in HANDSHAKES], name


def verified_type(source: Source, delivery: signing.Delivery, configured: str) -> str:
    headers = {key.lower(): value for key, value in delivery.headers.items()}
    keys = source.spec.scheme.derive_keys([configured])
    verified = source.spec.scheme.verify(headers, delivery.body, keys, NOW, delivery.query)
    return source.spec.fields.extract(headers, delivery.body, verified.body_format).type


@pytest.mark.parametrize(("name", "sample"), sample_cases())
def test_each_sample_verifies_and_is_recorded_as_the_type_it_is_named_after(name: str, sample: str) -> None:
    source = SOURCES[name]
    configured, signing_secret = secrets_of(name, source)
    delivery = signing.sign(source, signing_secret, event_type=sample, now=NOW, provider_key=PROVIDER_KEY)
    fields = source.spec.fields
    # A provider that names the event only in its configuration (Ghost, Dropbox) sends no type.
    expected = sample if fields.type_header or fields.type_path or fields.type_fallback_paths else "unknown"
    assert verified_type(source, delivery, configured) == expected == delivery.event_type


@pytest.mark.parametrize(("name", "sample"), sample_cases())
def test_two_sends_of_a_sample_are_two_events(name: str, sample: str) -> None:
    """Sources without a signed id dedupe on the body's digest: each send's body differs."""
    source = SOURCES[name]
    _, signing_secret = secrets_of(name, source)
    first, second = (
        signing.sign(source, signing_secret, event_type=sample, now=NOW, provider_key=PROVIDER_KEY) for _ in range(2)
    )
    if source.spec.dedupe == "none":  # every delivery is new anyway (Dropbox's pings repeat by design)
        return
    if source.spec.dedupe == "id":  # keyed on the signed id, which differs per send
        ids = [
            source.spec.fields.extract({key.lower(): value for key, value in sent.headers.items()}, sent.body).event_id
            for sent in (first, second)
        ]
        assert ids[0] != ids[1]
    else:
        assert hashlib.sha256(first.body).digest() != hashlib.sha256(second.body).digest()


def test_a_given_body_keeps_the_type_the_receiver_derives_unless_one_is_named(tmp_path: Path) -> None:
    body = tmp_path / "invoice.json"
    body.write_text(json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": {}}}))
    stripe = SOURCES["kind-stripe"]
    assert signing.sign(stripe, "whsec_x", body_file=body, now=NOW).event_type == "invoice.paid"

    github = SOURCES["kind-github"]
    unnamed = signing.sign(github, "gh-secret", body_file=body, now=NOW)
    assert "x-github-event" not in {key.lower() for key in unnamed.headers}  # never a made-up "custom"
    assert unnamed.event_type == "unknown"
    named = signing.sign(github, "gh-secret", body_file=body, event_type="release", now=NOW)
    assert (named.headers["x-github-event"], named.event_type) == ("release", "release")


def test_send_lists_the_sample_types_of_a_source() -> None:
    result = CliRunner().invoke(main, ["send", "stripe", "--list-types"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == list(signing.samples(SOURCES["kind-stripe"]))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (202, '{"status": "accepted", "id": "stripe/evt_1"}', "stripe/evt_1"),
        (200, '{"status": "duplicate", "id": "stripe/evt_1"}', "stripe/evt_1"),
        (200, '{"challenge": "x"}', None),
        (401, '{"error": {"code": "unauthorized"}}', None),
        (202, "not json", None),
    ],
)
def test_send_reports_the_id_the_receiver_recorded(status: int, body: str, expected: str | None) -> None:
    assert _recorded_id(status, body) == expected


@pytest.mark.parametrize(("kind", "check"), sorted(signing.HANDSHAKE_SAMPLES.items()))
def test_a_handshake_send_is_named_after_the_check_it_sends(kind: str, check: str) -> None:
    name = f"kind-{kind}" if f"kind-{kind}" in SOURCES else kind  # Discord and Twitch are presets
    source = SOURCES[name]
    _, signing_secret = secrets_of(name, source)
    assert signing.handshake(source, signing_secret).event_type == check
