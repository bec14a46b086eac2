"""Source secrets from one Secrets Manager secret, read through Powertools Parameters.

The secret's SecretString is a JSON object: source name -> list of secrets,
newest first. Values never leave this module except as HMAC keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import SourceUnavailableError
from webhook_core.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


# How long the secrets last read keep serving while Secrets Manager cannot be read: a
# blip must not turn every verified delivery into a 503, but a secret removed during an
# outage must not live on for long either.
MAX_STALE_SECONDS = 900


class SecretStore(Protocol):
    """What the receiver asks of the source secrets (SourceSecrets; an in-memory one in
    webhook_core.testing)."""

    def for_source(self, source: str) -> tuple[str, ...]: ...


class SourceSecrets:
    def __init__(
        self,
        secret_id: str,
        *,
        max_age_seconds: int = 60,
        max_stale_seconds: int = MAX_STALE_SECONDS,
        client: SecretsManagerClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
        self._max_stale = max_stale_seconds
        self._clock = clock
        self._last_read: tuple[float, dict[str, Any]] | None = None
        self._provider = SecretsProvider(boto3_client=client or boto3.client("secretsmanager", config=CLIENT_CONFIG))

    def for_source(self, source: str) -> tuple[str, ...]:
        """The source's active secrets, newest first; SourceUnavailableError if none."""
        document = self._document()
        value = document.get(source)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise SourceUnavailableError(f"no secret is configured for source {source!r}")
        secrets = tuple(item for item in value if isinstance(item, str) and item)
        if not secrets:
            raise SourceUnavailableError(f"the secret list of source {source!r} is empty")
        return secrets

    def _document(self) -> dict[str, Any]:
        try:
            document = self._provider.get(self._secret_id, max_age=self._max_age, transform="json")
        except TransformParameterError:
            raise SourceUnavailableError("the source secrets are not a JSON object") from None
        except GetParameterError as exc:
            stale = self._stale()
            if stale is None:
                raise SourceUnavailableError(f"the source secrets could not be read: {_cause(exc)}") from exc
            logger.warning("source secrets unreadable; verifying with the last ones read", extra={"cause": _cause(exc)})
            metrics.add_metric(name="SecretsServedStale", unit=MetricUnit.Count, value=1)
            return stale
        if not isinstance(document, dict):
            raise SourceUnavailableError("the source secrets are not a JSON object")
        self._last_read = (self._clock(), document)
        return document

    def _stale(self) -> dict[str, Any] | None:
        """The secrets last read, while they are young enough to stand in."""
        if self._last_read is None or self._clock() - self._last_read[0] > self._max_stale:
            return None
        return self._last_read[1]


def _cause(exc: BaseException) -> str:
    # GetParameterError wraps the botocore error; its class name says enough
    # (ResourceNotFoundException, AccessDeniedException, ...) without any value.
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)  # a ClientError's; None on a timeout
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code or type(cause or exc).__name__)
