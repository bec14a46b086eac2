"""`webhooks dev --chaos RATE`: fail that fraction of the event ledger's writes,
enqueues and claim-checked body writes, as a throttled or erroring DynamoDB or SQS would, to watch a provider's
retries, the 503s, the released records and the dedupe do their work. Local only."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

_FAULTS = (
    ("dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", 400),
    ("dynamodb", "UpdateItem", "InternalServerError", 500),
    ("sqs", "SendMessage", "InternalError", 500),
    ("sqs", "SendMessage", "RequestThrottled", 400),
    ("s3", "PutObject", "InternalError", 500),
)


# What intercepts a call: (client, operation, params, proceed), where proceed() makes it.
Interceptor = Callable[[Any, str, dict[str, Any], Callable[[], Any]], Any]


def intercept_aws_calls(interceptor: Interceptor) -> Callable[[], None]:
    """Route every boto3 call of this process (above botocore's retries, below every
    client, Powertools' too) through `interceptor`; returns the undo. The one place AWS
    faults are injected: `--chaos` here, and the tests' fault matrix."""
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        return interceptor(client, operation, params, lambda: original(client, operation, params))

    botocore.client.BaseClient._make_api_call = call  # type: ignore[attr-defined]

    def undo() -> None:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[attr-defined]

    return undo


def aws_error(operation: str, code: str, status: int, *, message: str = "injected") -> ClientError:
    """The error botocore raises when AWS answers `status` with `code`."""
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


class Chaos:
    def __init__(
        self, rate: float, *, ledger_table: str, queue_url: str, body_bucket: str = "", seed: int | None = None
    ) -> None:
        self.rate = rate
        # Only the receiver's own calls: the poller's moves to the dead-letter queue go elsewhere.
        self._targets = {
            ("dynamodb", "UpdateItem"): ("TableName", ledger_table),
            ("sqs", "SendMessage"): ("QueueUrl", queue_url),
            ("s3", "PutObject"): ("Bucket", body_bucket),
        }
        self._random = random.Random(seed)  # noqa: S311 - chaos, not cryptography
        self._lock = threading.Lock()
        self.injected = 0

    def install(self) -> Callable[[], None]:
        """Patch every boto3 client in this process; returns the undo."""

        def call(client: Any, operation: str, params: dict[str, Any], proceed: Callable[[], Any]) -> Any:
            fault = self._pick(client.meta.service_model.service_name, operation, params)
            if fault is not None:
                raise aws_error(operation, *fault, message="injected by --chaos")
            return proceed()

        return intercept_aws_calls(call)

    def _pick(self, service: str, operation: str, params: dict[str, Any]) -> tuple[str, int] | None:
        target = self._targets.get((service, operation))
        if target is None or params.get(target[0]) != target[1]:
            return None
        if operation == "UpdateItem" and params.get("ReturnValues") != "ALL_OLD":
            # The receiver's claim is the ledger's one update that returns the old record; the
            # processor's lock and outcome (which the local stack runs in this process too) are not faulted.
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            self.injected += 1
            candidates = [(code, status) for s, o, code, status in _FAULTS if (s, o) == (service, operation)]
            return self._random.choice(candidates)
