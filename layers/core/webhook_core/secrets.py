"""Source secrets from one Secrets Manager secret, read through Powertools Parameters.

The secret's SecretString is a JSON object: source name -> list of secrets,
newest first. Values never leave this module except as HMAC keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from webhook_core.aws import CLIENT_CONFIG
from webhook_core.errors import SourceUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class SourceSecrets:
    def __init__(
        self, secret_id: str, *, max_age_seconds: int = 60, client: SecretsManagerClient | None = None
    ) -> None:
        self._secret_id = secret_id
        self._max_age = max_age_seconds
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
            raise SourceUnavailableError(f"the source secrets could not be read: {_cause(exc)}") from exc
        if not isinstance(document, dict):
            raise SourceUnavailableError("the source secrets are not a JSON object")
        return document


def _cause(exc: BaseException) -> str:
    # GetParameterError wraps the botocore error; its class name says enough
    # (ResourceNotFoundException, AccessDeniedException, ...) without any value.
    cause = exc.__cause__ or exc.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause is not None else None
    return str(code or type(cause or exc).__name__)
