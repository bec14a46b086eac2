"""Receiver benchmarks (`make bench`), each a ratio to a baseline measured in the same run.

(a) Cold init: a fresh process imports the handler and serves one request with
    AWS faked, against the floor: a fresh process that imports boto3 and creates
    the DynamoDB and SQS clients. Goal: <= 1.25x.
(b) Warm CPU per 1 KB Stripe webhook, AWS calls answered by stubs, against a
    minimal hand-written receiver (hmac, conditional put, send) in the same
    process. Goal: <= 1.5x and under 1 ms.
(c) AWS calls counted at the SDK: round trips per accepted delivery in the receiver
    (goal <= 2) and event ledger writes per event end to end, receiver and processor
    (goal <= 3), with the archive's S3 PUTs per event at the template's batch size.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.project import FIXTURE_SOURCES

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_benchmark_secret"
SECRETS_DOCUMENT = json.dumps({"stripe": [SECRET]})
ENVIRONMENT = {
    "SOURCES_FILE": str(FIXTURE_SOURCES),  # the tests' sources, never the shipped examples
    "SOURCE_SECRETS_ID": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
    "LEDGER_TABLE_NAME": "bench-ledger",
    "EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-events",
    "BODY_BUCKET_NAME": "bench-bodies",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "receiver",
    "POWERTOOLS_SERVICE_NAME": "receiver",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
}
COLD_RUNS = 15
WARM_REQUESTS = 2_000


class Context:
    function_name = "receiver"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:receiver"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 8_000


class ProcessorContext(Context):
    function_name = "processor"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def stripe_event(size: int = 1024) -> dict[str, Any]:
    """A signed API Gateway event carrying a ~`size`-byte Stripe event."""
    document = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "invoice.paid", "created": int(time.time())}
    document["data"] = {"object": {"id": "in_1", "padding": "x" * max(0, size - len(json.dumps(document)) - 40)}}
    body = json.dumps(document).encode()
    timestamp = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    base: dict[str, Any] = json.loads((ROOT / "events" / "apigw-rest-webhook.json").read_text())
    base.update(
        path="/webhooks/stripe",
        pathParameters={"source": "stripe"},
        body=base64.b64encode(body).decode(),
        isBase64Encoded=True,
    )
    base["headers"]["Stripe-Signature"] = f"t={timestamp},v1={mac}"
    return base


# --- (a) cold init ----------------------------------------------------------

FLOOR = """
import time; start = time.perf_counter()
import boto3
boto3.client("dynamodb"); boto3.client("sqs")
print(time.perf_counter() - start)
"""

RECEIVER = """
import time; start = time.perf_counter()
import json, os, sys
from benchmarks import fake_aws
fake_aws.install(os.environ["BENCH_SECRETS"])
from functions.receiver.app import lambda_handler
from benchmarks.receiver import Context
imported = time.perf_counter() - start
response = lambda_handler(json.loads(os.environ["BENCH_EVENT"]), Context())
elapsed = time.perf_counter() - start
assert response["statusCode"] == 202, response
print(imported, elapsed)
"""


def _fresh_process(code: str, extra: dict[str, str] | None = None) -> list[float]:
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}", **(extra or {})}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return [float(value) for value in result.stdout.strip().splitlines()[-1].split()]


def cold_init() -> tuple[float, float, float]:
    """Medians of: the floor, the receiver's imports, the receiver's imports plus first request."""
    floor, imports, receiver = [], [], []
    for _ in range(COLD_RUNS):  # interleaved, so machine noise hits both alike
        floor.append(_fresh_process(FLOOR)[0])
        event = json.dumps(stripe_event())
        imported, served = _fresh_process(RECEIVER, {"BENCH_EVENT": event, "BENCH_SECRETS": SECRETS_DOCUMENT})
        imports.append(imported)
        receiver.append(served)
    return statistics.median(floor), statistics.median(imports), statistics.median(receiver)


def import_breakdown() -> list[tuple[str, float]]:
    """Import time by top-level package (self time, one run): what the cold start is made of."""
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": f"{ROOT / 'layers' / 'core'}{os.pathsep}{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import functions.receiver.app"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].split(":")[-1].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0) + int(parts[0].split(":")[-1]) / 1000  # self time, in ms
    return sorted(totals.items(), key=lambda item: -item[1])[:8]


# --- (b) warm CPU -------------------------------------------------------------


def minimal_receiver(dynamodb: Any, sqs: Any) -> Any:
    """The least a correct receiver does: verify, one conditional put, one send."""

    def handle(event: dict[str, Any]) -> dict[str, Any]:
        body = base64.b64decode(event["body"])
        fields = dict(item.split("=", 1) for item in event["headers"]["Stripe-Signature"].split(","))
        expected = hmac.new(SECRET.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["v1"]) or abs(time.time() - int(fields["t"])) > 300:
            return {"statusCode": 401, "body": "{}"}
        event_id = json.loads(body)["id"]
        dynamodb.put_item(
            TableName=ENVIRONMENT["LEDGER_TABLE_NAME"],
            Item={"id": {"S": f"stripe#{event_id}"}, "expiration": {"N": str(int(time.time()) + 604800)}},
            ConditionExpression="attribute_not_exists(id)",
        )
        sqs.send_message(QueueUrl=ENVIRONMENT["EVENTS_QUEUE_URL"], MessageBody=body.decode())
        return {"statusCode": 202, "body": json.dumps({"status": "accepted", "id": event_id})}

    return handle


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    # The handler's log and metric lines are written (that cost is real), just not shown.
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def _cpu_per_request(handle: Any, events: list[dict[str, Any]]) -> float:
    with _stdout_to_devnull():
        for event in events[:50]:  # warm caches the way a warm Lambda has them
            handle(event)
        start = time.process_time()
        for event in events[50:]:
            response = handle(event)
            assert response["statusCode"] == 202, response
        return (time.process_time() - start) / (len(events) - 50)


def warm_cpu(calls: list[str]) -> tuple[float, float]:
    import boto3

    from functions.receiver.app import lambda_handler

    baseline = minimal_receiver(boto3.client("dynamodb"), boto3.client("sqs"))
    context = Context()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(5):
        ours.append(
            _cpu_per_request(
                lambda event: lambda_handler(event, context), [stripe_event() for _ in range(WARM_REQUESTS // 5 + 50)]
            )
        )
        theirs.append(_cpu_per_request(baseline, [stripe_event() for _ in range(WARM_REQUESTS // 5 + 50)]))
    return statistics.median(theirs), statistics.median(ours)


def calls_per_event(calls: list[str], deliveries: int = 100, batch_size: int = 10) -> tuple[float, float, float]:
    """(receiver round trips per accepted delivery, ledger writes per event end to end,
    archive PUTs per event): deliveries through the warm receiver, then the queued
    envelopes through the processor in batches, every AWS call counted."""
    from functions.receiver.app import lambda_handler
    from webhook_core.processing import Processor
    from webhook_core.registry import HandlerRegistry
    from webhook_core.settings import ProcessorSettings

    context = Context()
    sent: list[str] = []
    with _stdout_to_devnull():
        lambda_handler(stripe_event(), context)  # the cold start's secret read is not a per-event cost
        del calls[:]
        for _ in range(deliveries):
            event = stripe_event()
            assert lambda_handler(event, context)["statusCode"] == 202
            sent.append(base64.b64decode(event["body"]).decode())
    receiver_calls = len(calls)
    registry = HandlerRegistry()
    registry.on("stripe", "invoice.paid")(lambda event: None)
    processor = Processor.from_settings(ProcessorSettings.from_environment(os.environ, FIXTURE_SOURCES), registry)
    writes_before = sum(call.startswith("dynamodb:") for call in calls)
    del calls[:]
    envelopes = _queued_envelopes(sent)
    with _stdout_to_devnull():
        for start in range(0, len(envelopes), batch_size):
            records = [
                {
                    "messageId": str(uuid.uuid4()),
                    "receiptHandle": "r",
                    "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                }
                for body in envelopes[start : start + batch_size]
            ]
            response = processor.process_batch({"Records": records}, ProcessorContext())  # type: ignore[arg-type]
            assert response["batchItemFailures"] == [], response
    processor_writes = sum(call == "dynamodb:UpdateItem" for call in calls)
    archive_puts = sum(call == "s3:PutObject" for call in calls)
    return receiver_calls / deliveries, (writes_before + processor_writes) / deliveries, archive_puts / deliveries


def _queued_envelopes(bodies: list[str]) -> list[str]:
    """The envelopes the receiver would have queued for these bodies (the fake SQS keeps none)."""
    from webhook_core.envelope import Envelope, Verification

    envelopes = []
    for body in bodies:
        event_id = json.loads(body)["id"]
        envelope = Envelope(
            id=f"stripe/{event_id}",
            event_id=event_id,
            source="stripe",
            kind="stripe",
            type="invoice.paid",
            received_at=time.time(),  # type: ignore[arg-type]
            body=body,
            verification=Verification(secret_index=0),
        )
        envelopes.append(envelope.to_message(250_000))
    return envelopes


def main() -> int:
    out = sys.stdout.write
    floor, imports, receiver = cold_init()
    out(f"cold init  floor (boto3 + DynamoDB and SQS clients): {floor * 1000:7.1f} ms median of {COLD_RUNS}\n")
    out(f"cold init  receiver (import handler, serve 1 request): {receiver * 1000:7.1f} ms median of {COLD_RUNS}")
    out(f" (imports {imports * 1000:.1f} ms, first request {(receiver - imports) * 1000:.1f} ms)\n")
    out(f"cold init  ratio: {receiver / floor:.2f}x (goal <= 1.25x)\n")
    out(
        "           largest imports of the handler: "
        + ", ".join(f"{name} {ms:.0f} ms" for name, ms in import_breakdown())
        + "\n"
    )
    os.environ.update(ENVIRONMENT)
    from benchmarks import fake_aws

    calls = fake_aws.install(SECRETS_DOCUMENT)
    baseline, ours = warm_cpu(calls)
    out(f"warm CPU   minimal receiver: {baseline * 1e6:7.0f} us per 1 KB Stripe webhook\n")
    out(f"warm CPU   receiver:         {ours * 1e6:7.0f} us per 1 KB Stripe webhook\n")
    out(f"warm CPU   ratio: {ours / baseline:.2f}x (goal <= 1.5x and < 1000 us)\n")
    round_trips, writes, archive_puts = calls_per_event(calls)
    out(f"AWS calls  receiver round trips per accepted delivery: {round_trips:.2f} (goal <= 2)\n")
    out(f"AWS calls  ledger writes per event, receiver + processor: {writes:.2f} (goal <= 3)\n")
    out(f"AWS calls  archive S3 PUTs per event at batches of 10: {archive_puts:.2f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
