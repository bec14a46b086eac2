"""The fault matrix: one row per failure at an AWS call the receiver or processor
makes, with what the provider sees and what becomes of the event. The integration
test injects each and checks every column; the README's table is rendered from
these rows (and a test keeps the two the same)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import botocore.client
from botocore.exceptions import ReadTimeoutError

from webhooks_cli.local.chaos import aws_error, intercept_aws_calls

Injection = Literal["throttle", "error", "timeout", "timeout_after_success", "kill", "bug"]

_ERROR_CODES = {
    ("dynamodb", "throttle"): "ProvisionedThroughputExceededException",
    ("dynamodb", "error"): "InternalServerError",
    ("sqs", "throttle"): "RequestThrottled",
    ("sqs", "error"): "InternalError",
    ("secretsmanager", "throttle"): "ThrottlingException",
    ("secretsmanager", "error"): "InternalServiceError",
    ("s3", "throttle"): "SlowDown",
    ("s3", "error"): "InternalError",
}


@dataclass(frozen=True)
class Arm:
    """One injected failure: after `skip` calls of service.operation go through, the next
    `times` fail this way."""

    service: str
    operation: str
    injection: Injection
    times: int = 1
    skip: int = 0


@dataclass(frozen=True)
class Fault:
    name: str
    arms: tuple[Arm, ...]
    provider_sees: str
    ledger_record: str
    retry: str
    # Where in the flow the fault strikes (for the test): the receiver at cold start, on a
    # warm receiver, or in the processor.
    stage: Literal["cold", "warm", "processor"] = "warm"
    status: int | None = None  # None: the function died, API Gateway answers for it
    record_left: Literal["none", "in_flight"] = "none"
    handler_runs: int = 1
    # A body this large (bytes) is delivered: too large for a queue message, it is claim-checked.
    body_bytes: int = 0
    # The delivery is Twilio's SMS webhook, a form post (else a Stripe JSON event).
    form_post: bool = False

    @property
    def source(self) -> str:
        return "twilio" if self.form_post else "stripe"


RECEIVER_FAULTS = (
    Fault(
        "DynamoDB throttles the ledger claim",
        (Arm("dynamodb", "UpdateItem", "throttle"),),
        "503",
        "never written",
        "202, queued once",
        status=503,
    ),
    Fault(
        "DynamoDB InternalServerError on the ledger claim",
        (Arm("dynamodb", "UpdateItem", "error"),),
        "503",
        "never written",
        "202, queued once",
        status=503,
    ),
    Fault(
        "DynamoDB times out on the ledger claim",
        (Arm("dynamodb", "UpdateItem", "timeout"),),
        "503",
        "never written",
        "202, queued once",
        status=503,
    ),
    Fault(
        "SQS SendMessage fails (InternalError)",
        (Arm("sqs", "SendMessage", "error"),),
        "503",
        "released",
        "202, queued once",
        status=503,
    ),
    Fault(
        "SQS SendMessage fails for a Twilio SMS form post",
        (Arm("sqs", "SendMessage", "error"),),
        "503",
        "released",
        "202, queued once; its handler gets the form's parameters",
        status=503,
        form_post=True,
    ),
    Fault(
        "SQS throttles SendMessage",
        (Arm("sqs", "SendMessage", "throttle"),),
        "503",
        "released",
        "202, queued once",
        status=503,
    ),
    Fault(
        "SQS SendMessage times out before sending",
        (Arm("sqs", "SendMessage", "timeout"),),
        "503",
        "released",
        "202, queued once",
        status=503,
    ),
    Fault(
        "SQS SendMessage times out after the message was sent",
        (Arm("sqs", "SendMessage", "timeout_after_success"),),
        "503",
        "released",
        "202, queued a second time; the processor runs the handler once",
        status=503,
    ),
    Fault(
        "SQS fails, then releasing the claim fails too",
        (Arm("sqs", "SendMessage", "error"), Arm("dynamodb", "DeleteItem", "error")),
        "503",
        "claimed until the invocation's time runs out",
        "409 + Retry-After until then, then 202 (the retry takes the claim over), queued once",
        status=503,
        record_left="in_flight",
    ),
    Fault(
        "S3 PutObject of a body too large for a queue message fails",
        (Arm("s3", "PutObject", "error"),),
        "503",
        "released",
        "202, the body stored and queued once",
        status=503,
        body_bytes=2_000_000,
    ),
    Fault(
        "The function dies between the ledger claim and the enqueue",
        (Arm("sqs", "SendMessage", "kill"),),
        "502 from API Gateway",
        "claimed until the invocation's time runs out",
        "409 + Retry-After until then, then 202 (the retry takes the claim over), queued once",
        status=None,
        record_left="in_flight",
    ),
    Fault(
        "A bug raises after verification",
        (Arm("sqs", "SendMessage", "bug"),),
        "503",
        "released",
        "202, queued once",
        status=503,
    ),
    Fault(
        "Secrets Manager unavailable at cold start",
        (Arm("secretsmanager", "GetSecretValue", "error"),),
        "503",
        "never written",
        "202, queued once",
        stage="cold",
        status=503,
    ),
    Fault(
        "Secrets Manager times out at a cache refresh",
        (Arm("secretsmanager", "GetSecretValue", "timeout"),),
        "202: verified with the secrets last read (for up to 15 min)",
        "written",
        "200 duplicate once the processor took it; queued once",
        status=202,
    ),
)
PROCESSOR_FAULTS = (
    Fault(
        "DynamoDB throttles the processor's lock on the ledger record",
        (Arm("dynamodb", "UpdateItem", "throttle"),),
        "(already 202)",
        "still received (not locked)",
        "SQS redelivers the record; the handler runs once",
        stage="processor",
    ),
    Fault(
        "S3 GetObject of a claim-checked body fails in the processor",
        (Arm("s3", "GetObject", "error"),),
        "(already 202)",
        "failed (the lock released)",
        "SQS redelivers the record; the body is read and the handler runs once",
        stage="processor",
        body_bytes=2_000_000,
    ),
    Fault(
        "The processor's handler succeeds, then DynamoDB fails to mark its record processed",
        (Arm("dynamodb", "UpdateItem", "timeout", skip=1),),
        "(already 202)",
        "processing (locked) until the invocation's time runs out",
        "SQS redelivers after the visibility timeout, when the record has expired: the handler runs again",
        stage="processor",
        handler_runs=2,
    ),
)
FAULTS = RECEIVER_FAULTS + PROCESSOR_FAULTS


def readme_table(lost: dict[str, int] | None = None) -> str:
    """The README's fault table (lost: 0 for every row is what the matrix test proves)."""
    lines = [
        "| fault | the provider sees | ledger record | then | lost | handler runs |",
        "|---|---|---|---|---|---|",
    ]
    for fault in FAULTS:
        count = (lost or {}).get(fault.name, 0)
        lines.append(
            f"| {fault.name} | {fault.provider_sees} | {fault.ledger_record} | {fault.retry} | {count} "
            f"| {fault.handler_runs} |"
        )
    return "\n".join(lines)


class InjectedBugError(RuntimeError):
    pass


class FaultInjector:
    """Fails chosen AWS calls, above moto and below every boto3 client (Powertools' too)."""

    def __init__(self) -> None:
        self._armed: list[list[Any]] = []
        self.fired: list[str] = []
        # While `recording`, every call as the IAM action it needs ("dynamodb:PutItem").
        self.recording = False
        self.actions: set[str] = set()

    def arm(self, *arms: Arm) -> None:
        self._armed = [[arm, arm.times, arm.skip] for arm in arms]

    def disarm(self) -> None:
        self._armed = []

    def install(self, monkeypatch: Any) -> None:
        # Registered with monkeypatch first, so the interception is undone after the test.
        current = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", current)
        intercept_aws_calls(self._intercept)

    def _intercept(self, client: Any, operation: str, params: dict[str, Any], proceed: Callable[[], Any]) -> Any:
        service = client.meta.service_model.service_name
        if self.recording:
            self.actions.add(f"{client.meta.service_model.signing_name}:{operation}")
        for entry in self._armed:
            arm, left, skip = entry
            if left and skip and (arm.service, arm.operation) == (service, operation):
                entry[2] -= 1
                break
            if left and (arm.service, arm.operation) == (service, operation):
                entry[1] -= 1
                self.fired.append(f"{service}.{operation}:{arm.injection}")
                return self._fire(arm, proceed)
        return proceed()

    @staticmethod
    def _fire(arm: Arm, proceed: Callable[[], Any]) -> Any:
        endpoint = f"https://{arm.service}.us-east-1.amazonaws.com"
        if arm.injection in {"throttle", "error"}:
            code = _ERROR_CODES[(arm.service, arm.injection)]
            raise aws_error(arm.operation, code, 400 if arm.injection == "throttle" else 500)
        if arm.injection == "timeout":
            raise ReadTimeoutError(endpoint_url=endpoint)
        if arm.injection == "timeout_after_success":
            proceed()
            raise ReadTimeoutError(endpoint_url=endpoint)
        if arm.injection == "kill":
            raise SystemExit("the function was stopped")  # not an Exception: nothing in it can clean up
        raise InjectedBugError("a bug")
