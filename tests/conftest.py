"""Settings every test shares: fake AWS credentials, no endpoint override, no real AWS."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.leaks import WATCH, SeenHandler
from tests.support.project import FIXTURE_HANDLERS_MODULE, FIXTURE_SOURCES, fixture_project
from tests.support.signers import ED25519_SEED, SECRETS, SENDGRID_SIGNING_KEY, TWILIO_SECRET

WATCH.watch(
    *(secret for values in SECRETS.values() for secret in values), ED25519_SEED, TWILIO_SECRET, SENDGRID_SIGNING_KEY
)


@pytest.fixture(scope="session", autouse=True)
def _every_log_record_is_seen() -> Iterator[None]:
    from webhook_core.observability import logger

    handlers = [(logging.getLogger(), SeenHandler()), (logger._logger, SeenHandler(logger.registered_formatter))]
    for target, handler in handlers:
        target.addHandler(handler)
    yield
    for target, handler in handlers:
        target.removeHandler(handler)


@pytest.fixture(autouse=True)
def _certificates_never_from_the_network() -> Iterator[None]:
    """Every test starts with a fetcher that serves nothing (no cache, no network): a test
    that needs a certificate installs its own FakeCertificates."""
    from webhook_core import certificates
    from webhook_core.testing import FakeCertificates

    FakeCertificates().install()
    yield
    certificates.install(None)


@pytest.fixture(autouse=True)
def _no_secret_leaks() -> Iterator[None]:
    """Fails any test during which a watched secret or signature reached a log line or a response."""
    WATCH.leaks()  # what an earlier fixture logged is not this test's
    yield
    found = WATCH.leaks()
    if found:
        pytest.fail("secret or signature leaked: " + "; ".join(sorted(set(found))[:5]), pytrace=False)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "WebhookReceiverTests")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "receiver")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "receiver")


@pytest.fixture(autouse=True)
def fixture_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions in this process read the tests' sources and handlers, never the
    shipped examples, which users replace (tests/unit/test_shipped_examples.py checks those)."""
    monkeypatch.setenv("SOURCES_FILE", str(FIXTURE_SOURCES))
    monkeypatch.setenv("HANDLERS_MODULE", FIXTURE_HANDLERS_MODULE)


@pytest.fixture(scope="session")
def fixture_project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder for the CLI (WEBHOOKS_PROJECT_DIR): this one's template and
    code, with the tests' sources and handlers in place of the shipped examples."""
    return fixture_project(tmp_path_factory.mktemp("fixture") / "project")
