"""The receiver's settings, read from its environment once per cold start."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from webhook_core.errors import ConfigurationError
from webhook_core.rejected import DEFAULT_MAX_BODY_BYTES as DEFAULT_REJECTED_MAX_BODY_BYTES
from webhook_core.rejected import DEFAULT_PER_MINUTE as DEFAULT_REJECTED_PER_MINUTE

# The largest body that reaches the receiver at all. API Gateway takes 10 MB, but it
# invokes the function synchronously, and Lambda's synchronous payload is 6 MB
# (6,291,456 bytes): the whole proxy event, in which the body is base64 (this API's
# binary media types make every body binary) beside the request line and headers,
# which appear twice (headers, multiValueHeaders), and the requestContext. Headers and
# request line are capped by API Gateway at 10,240 bytes; 65,536 bytes are left for
# them: twice over, each byte JSON-escaped to two, is 40,960, and 24,576 for the
# requestContext and the rest of the event. That leaves 6,225,920 base64 characters,
# which carry 6,225,920 / 4 * 3 = 4,669,440 bytes. A body too large for a queue message
# travels by reference (the claim-check, webhook_core.queue), so this is the only bound.
# An event's ledger record, archived body and claim-checked body are kept this long
# (RetentionDays): longer than every provider's retry horizon (Stripe retries for 3 days)
# and than a message can live on the queue (4 days) plus the dead-letter queue (14).
RETENTION_MIN_DAYS = 15
RETENTION_DEFAULT_DAYS = 21
LAMBDA_SYNC_PAYLOAD_BYTES = 6_291_456
EVENT_MARGIN_BYTES = 65_536
MAX_BODY_LIMIT = (LAMBDA_SYNC_PAYLOAD_BYTES - EVENT_MARGIN_BYTES) // 4 * 3  # 4,669,440


class _EnvironmentSettings(BaseModel):
    """Settings read from environment variables, named in ENVIRONMENT."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ENVIRONMENT: ClassVar[dict[str, str]] = {}
    LABEL: ClassVar[str] = "settings"

    @classmethod
    def _from(cls, environ: Mapping[str, str], defaults: Mapping[str, object]) -> Self:
        values: dict[str, object] = {
            field: environ[variable] for field, variable in cls.ENVIRONMENT.items() if environ.get(variable)
        }
        for field, value in defaults.items():
            values.setdefault(field, value)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = [
                f"{cls.ENVIRONMENT.get(str(error['loc'][0]), error['loc'][0])}: {error['msg']}"
                for error in exc.errors(include_url=False, include_input=False)
            ]
            raise ConfigurationError(f"invalid {cls.LABEL}: " + "; ".join(problems)) from None


class _RetainedSettings(_EnvironmentSettings):
    # How long the ledger remembers an event (its dedupe included): RetentionDays.
    retention_days: Annotated[int, Field(ge=RETENTION_MIN_DAYS, le=3_650)] = RETENTION_DEFAULT_DAYS

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86_400


class ReceiverSettings(_RetainedSettings):
    LABEL: ClassVar[str] = "receiver settings"

    sources_file: Path
    secret_id: Annotated[str, Field(min_length=1)]
    ledger_table: Annotated[str, Field(min_length=1)]
    queue_url: Annotated[str, Field(min_length=1)]
    body_bucket: Annotated[str, Field(min_length=1)]
    max_body_bytes: Annotated[int, Field(ge=1, le=MAX_BODY_LIMIT)] = MAX_BODY_LIMIT
    secrets_cache_seconds: Annotated[int, Field(ge=0, le=3_600)] = 60
    retry_after_seconds: Annotated[int, Field(ge=1, le=3_600)] = 10
    # Rejected requests kept per source and minute for `webhooks rejected` (0: none kept),
    # and the most of each body kept (RejectedRequestsPerMinute; README, "The signature debugger").
    rejected_per_minute: Annotated[int, Field(ge=0, le=1_000)] = DEFAULT_REJECTED_PER_MINUTE
    rejected_max_body_bytes: Annotated[int, Field(ge=0, le=MAX_BODY_LIMIT)] = DEFAULT_REJECTED_MAX_BODY_BYTES

    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "sources_file": "SOURCES_FILE",
        "secret_id": "SOURCE_SECRETS_ID",
        "ledger_table": "LEDGER_TABLE_NAME",
        "queue_url": "EVENTS_QUEUE_URL",
        "body_bucket": "BODY_BUCKET_NAME",
        "max_body_bytes": "MAX_BODY_BYTES",
        "retention_days": "RETENTION_DAYS",
        "secrets_cache_seconds": "SECRETS_CACHE_SECONDS",
        "retry_after_seconds": "IN_PROGRESS_RETRY_AFTER_SECONDS",
        "rejected_per_minute": "REJECTED_PER_MINUTE",
        "rejected_max_body_bytes": "REJECTED_MAX_BODY_BYTES",
    }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], default_sources_file: Path) -> ReceiverSettings:
        return cls._from(environ, {"sources_file": default_sources_file})


class ProcessorSettings(_RetainedSettings):
    LABEL: ClassVar[str] = "processor settings"

    ledger_table: Annotated[str, Field(min_length=1)]
    body_bucket: Annotated[str, Field(min_length=1)]
    # The receiver's sources, read at cold start only to warn of handlers no source can reach.
    sources_file: Path
    # The package whose import registers the business handlers (the tests name their own).
    handlers_module: Annotated[str, Field(min_length=1)] = "handlers"
    # Receives before SQS moves a failing message to the dead-letter queue (MaxReceiveCount):
    # the last failed attempt is recorded `dead`.
    max_receive_count: Annotated[int, Field(ge=1, le=1_000)] = 5
    # The longest one handler may run on one record before it fails alone.
    handler_timeout_seconds: Annotated[float, Field(gt=0, le=900)] = 10

    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "ledger_table": "LEDGER_TABLE_NAME",
        "body_bucket": "BODY_BUCKET_NAME",
        "sources_file": "SOURCES_FILE",
        "handlers_module": "HANDLERS_MODULE",
        "retention_days": "RETENTION_DAYS",
        "max_receive_count": "MAX_RECEIVE_COUNT",
        "handler_timeout_seconds": "HANDLER_TIMEOUT_SECONDS",
    }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], default_sources_file: Path) -> ProcessorSettings:
        return cls._from(environ, {"sources_file": default_sources_file})
