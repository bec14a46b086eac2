"""Settings every test shares: fake AWS credentials, no endpoint override, no real AWS."""

from __future__ import annotations

import pytest

from tests.support.lambda_context import FakeLambdaContext


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


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
