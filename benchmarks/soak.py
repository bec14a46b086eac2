"""`make soak`: the promise measured on the local stack, over HTTP.

Deliveries for every shipped source, 30% of them duplicates (half sent at the same
moment as the original, half later and re-signed, as providers retry), with the
receiver's DynamoDB writes and SQS sends failing at random (`webhooks dev --chaos`)
and providers retrying every 409 and 5xx with backoff; 2% of events fail in their
handler once and then succeed, 1% are poison and fail every time; Twilio's are SMS form
posts, as its default webhook sends; 3% carry bodies
over 300 KB (half 400 KB, sent inline, half 1.5 MB, claim-checked in S3). It prints what
was accepted, deduplicated, processed and dead-lettered, what was lost (must be 0)
and processed twice (must be 0), acknowledgement latency and throughput, and exits
1 if anything was lost or processed twice.

    python -m benchmarks.soak [--deliveries 10000] [--chaos 0.05]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.devstack import DevStack, start_stack, stop
from tests.support.project import FIXTURE_SOURCES, fixture_project
from webhook_core.sources import Source, load_sources
from webhooks_cli import devsecrets, signing

CLIENTS = 8
MAX_ATTEMPTS = 40
# The local stack is one Python process: a backlog deeper than this starves its poller
# (and moto's queue scans grow with it), so new events wait, as a provider's would
# behind a slow endpoint. The throughput printed is the local stack's, not AWS's.
MAX_BACKLOG = 300
# Every LARGE_EVERY-th event is padded to one of these sizes: one fits a queue message, one is claim-checked.
LARGE_EVERY = 33
LARGE_SIZES = (400_000, 1_500_000)
LARGE = 300_000
# Every event is handled; "flaky" fails its first attempt, "poison" every one.
SOAK_HANDLERS = '''"""Soak handlers (benchmarks/soak.py)."""

from collections import Counter

from webhook_core.registry import Event, default_registry

attempts: Counter[str] = Counter()


class SoakFailureError(RuntimeError):
    pass


@default_registry.on("*", "*")
def soak(event: Event[object]) -> None:
    body = event.envelope.raw_body()
    attempts[event.envelope.id] += 1
    # JSON bodies carry "soak": "<marker>", form posts (Twilio) soak=<marker>.
    if b'"soak": "poison"' in body or b"soak=poison" in body:
        raise SoakFailureError("poison: fails every time")
    if (b'"soak": "flaky"' in body or b"soak=flaky" in body) and attempts[event.envelope.id] == 1:
        raise SoakFailureError("flaky: fails once")
'''


@dataclass
class PlannedEvent:
    source: str
    event_id: str
    event_type: str
    body: bytes
    marker: str


@dataclass
class SoakResult:
    deliveries: int = 0
    requests: int = 0
    accepted: set[str] = field(default_factory=set)
    duplicates: int = 0
    taken_over: int = 0
    rejected: int = 0
    gave_up: int = 0
    retried: int = 0
    ack_latencies: list[float] = field(default_factory=list)
    markers: dict[str, str] = field(default_factory=dict)  # envelope id -> marker
    large_deliveries: int = 0  # deliveries (duplicates included) whose body is over 300 KB
    processed: Counter[str] = field(default_factory=Counter)
    dead_lettered: set[str] = field(default_factory=set)
    injected: int = 0
    handler_failures: int = 0
    send_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def lost(self) -> set[str]:
        return self.accepted - set(self.processed) - self.dead_lettered

    @property
    def processed_twice(self) -> int:
        return sum(1 for count in self.processed.values() if count > 1)

    def report(self) -> str:
        poison = {envelope for envelope, marker in self.markers.items() if marker == "poison"}
        latencies = sorted(self.ack_latencies) or [0.0]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        lines = [
            f"soak  {self.deliveries} deliveries ({self.requests} HTTP requests with retries), {CLIENTS} clients",
            f"soak  accepted {len(self.accepted)}, duplicates {self.duplicates} (+{self.taken_over} taken over), "
            f"retried after 409/5xx {self.retried}, "
            f"refused {self.rejected}, given up {self.gave_up}",
            f"soak  bodies over 300 KB {self.large_deliveries} ({self.large_deliveries / max(self.deliveries, 1):.1%} "
            f"of deliveries)",
            f"soak  injected receiver faults {self.injected}",
            f"soak  handler failures retried by SQS {self.handler_failures}",
            f"soak  processed {len(self.processed)}, dead-lettered {len(self.dead_lettered)} "
            f"(poison sent {len(poison)}, of them dead-lettered {len(poison & self.dead_lettered)})",
            f"soak  lost {len(self.lost)}, processed twice {self.processed_twice}",
            f"soak  acknowledgement latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms",
            f"soak  throughput {self.deliveries / max(self.send_seconds, 1e-9):.1f} deliveries/s acknowledged, "
            f"{len(self.accepted) / max(self.total_seconds, 1e-9):.1f} events/s processed end to end",
        ]
        return "\n".join(lines)


def soak_project(scratch: Path) -> Path:
    """A fixture project (one source per kind) with the soak handlers in place of the tests' ones."""
    handlers = scratch / "soak-handlers"
    handlers.mkdir()
    (handlers / "__init__.py").write_text(SOAK_HANDLERS, encoding="utf-8")
    return fixture_project(scratch / "project", handlers=handlers)


def plan(sources: dict[str, Source], count: int, rng: random.Random) -> list[PlannedEvent]:
    # Every source the CLI can sign for (not SNS or PayPal: their providers' certificates).
    names = sorted(name for name, source in sources.items() if source.kind not in signing.UNSIGNABLE_KINDS)
    events = []
    now = int(time.time())
    for index in range(count):
        source = sources[names[index % len(names)]]
        roll = rng.random()
        marker = "poison" if roll < 0.01 else "flaky" if roll < 0.03 else "ok"
        event_id = signing.new_event_id(source.kind)
        event_type, body, headers = signing.sample_body(source, None, event_id, now)
        size = LARGE_SIZES[(index // LARGE_EVERY) % len(LARGE_SIZES)] if index % LARGE_EVERY == 0 else 0
        if headers.get("Content-Type") == signing.FORM_CONTENT_TYPE:  # Twilio's SMS webhook: form parameters
            form = {**dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)), "soak": marker}
            encoded = urllib.parse.urlencode(form).encode()
            if size:
                encoded = urllib.parse.urlencode({**form, "padding": "x" * (size - len(encoded))}).encode()
        else:
            parsed = json.loads(body)
            # A batch (SendGrid posts a list of events): the marker and padding go in its first event.
            batch = parsed if isinstance(parsed, list) else [parsed]
            batch[0] = {**batch[0], "soak": marker}
            encoded = json.dumps(batch if isinstance(parsed, list) else batch[0]).encode()
            if size:
                batch[0] = {**batch[0], "padding": "x" * (size - len(encoded))}
                encoded = json.dumps(batch if isinstance(parsed, list) else batch[0]).encode()
        events.append(PlannedEvent(source.name, event_id, event_type, encoded, marker))
    return events


def post_delivery(url: str, delivery: signing.Delivery) -> tuple[int, str]:
    """POST a signed delivery: (status, the envelope id of a 2xx answer). A new event is
    202, or 200 where its provider demands 200 for every delivery (Figma): what the answer's
    `status` says ("accepted" or "duplicate") tells them apart, so a new one is given as 202."""
    if delivery.query:
        url = f"{url}?{urllib.parse.urlencode(delivery.query)}"
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ""
    return (202 if answer.get("status") == "accepted" else response.status), answer.get("id", "")


def run(deliveries: int, *, chaos: float = 0.05, seed: int = 7, log: Callable[[str], None] = print) -> SoakResult:
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not cryptography
    result = SoakResult(deliveries=deliveries)
    with tempfile.TemporaryDirectory() as scratch:
        project = soak_project(Path(scratch))
        stack = start_stack(Path(scratch), "--visibility-timeout", "1", "--chaos", str(chaos), project_dir=project)
        try:
            _drive(stack, project, rng, result, log=log)
        finally:
            stop(stack)
        # Each injected fault is a 503 to the provider (the request lines of the stack's output).
        result.injected = sum(1 for line in stack.lines if re.search(r"\bPOST /webhooks/\S+\s+503\b", line))
        result.handler_failures = sum(1 for line in stack.lines if re.search(r"^\S+\s+failed\s", line))
    return result


def _drive(
    stack: DevStack, project: Path, rng: random.Random, result: SoakResult, *, log: Callable[[str], None]
) -> None:
    deliveries = result.deliveries
    sources = load_sources(FIXTURE_SOURCES)
    secrets = json.loads(stack.secrets_file.read_text())
    unique = round(deliveries * 0.7)
    events = plan(sources, unique, rng)
    copies = deliveries - unique
    concurrent = rng.sample(range(unique), copies // 2)
    later = rng.sample(range(unique), copies - len(concurrent))
    started = time.perf_counter()
    sqs: Any = stack.aws("sqs")
    queue_url = json.loads(stack.state_file.read_text())["queue_url"]
    backlog = Backlog(lambda: _depth(sqs, queue_url))

    def deliver(event: PlannedEvent) -> None:
        backlog.wait_below(MAX_BACKLOG)
        if len(event.body) > LARGE:
            result.large_deliveries += 1
        for attempt in range(MAX_ATTEMPTS):
            # Re-signed for every attempt, as providers do: some allow only seconds of skew.
            delivery = signing.sign(
                sources[event.source],
                devsecrets.signing_secret(secrets, event.source) or "",
                body=event.body,
                event_id=event.event_id,
                event_type=event.event_type,
            )
            sent = time.perf_counter()
            status, envelope_id = post_delivery(f"{stack.url}/webhooks/{event.source}", delivery)
            elapsed = time.perf_counter() - sent
            result.requests += 1
            if status in {200, 202}:
                result.ack_latencies.append(elapsed)
                if status == 202 and envelope_id in result.accepted:
                    # A copy after the first's claim ran out with the queue backed up: taken over
                    # and sent again; the processor's lock absorbs it.
                    result.taken_over += 1
                elif status == 202:
                    result.accepted.add(envelope_id)
                    result.markers[envelope_id] = event.marker
                else:
                    result.duplicates += 1
                return
            if status == 409 or status >= 500:
                result.retried += 1
                time.sleep(min(0.02 * 2**attempt, 1.0))
                continue
            result.rejected += 1
            return
        result.gave_up += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        first_wave = [events[index] for index in range(unique)] + [events[index] for index in concurrent]
        rng.shuffle(first_wave)
        list(pool.map(deliver, first_wave))
        list(pool.map(deliver, [events[index] for index in later]))
    result.send_seconds = time.perf_counter() - started
    log(f"soak  sent {deliveries} deliveries in {result.send_seconds:.1f} s; waiting for the processor")
    _wait_for_processing(stack, result)
    result.total_seconds = time.perf_counter() - started


def _depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


class Backlog:
    """The queue's depth, looked up at most every 0.2 s by whichever client asks."""

    def __init__(self, measure: Callable[[], int]) -> None:
        self._measure = measure
        self._lock = threading.Lock()
        self._depth = 0
        self._at = 0.0

    def wait_below(self, limit: int) -> None:
        while True:
            with self._lock:
                if time.monotonic() - self._at > 0.2:
                    self._depth, self._at = self._measure(), time.monotonic()
                depth = self._depth
            if depth < limit:
                return
            time.sleep(0.1)


def _wait_for_processing(stack: DevStack, result: SoakResult) -> None:
    sqs = stack.aws("sqs")
    state = json.loads(stack.state_file.read_text())
    poison = {envelope for envelope, marker in result.markers.items() if marker == "poison"}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        result.processed = Counter(line.split()[2] for line in list(stack.lines) if line.split()[1:2] == ["processed"])
        dead_letters = int(
            sqs.get_queue_attributes(  # type: ignore[attr-defined]
                QueueUrl=state["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        if result.accepted - poison <= set(result.processed) and dead_letters >= len(poison):
            break
        time.sleep(0.5)
    time.sleep(2)  # a second processing of anything would show by now
    result.processed = Counter(line.split()[2] for line in list(stack.lines) if line.split()[1:2] == ["processed"])
    listed = stack.cli("dlq", "list", "--json")
    result.dead_lettered = {letter["id"] for letter in json.loads(listed.stdout or "[]")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--chaos", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args(argv)
    result = run(
        arguments.deliveries, chaos=arguments.chaos, seed=arguments.seed, log=lambda line: print(line, flush=True)
    )
    sys.stdout.write(result.report() + "\n")
    return 1 if result.lost or result.processed_twice else 0


if __name__ == "__main__":
    raise SystemExit(main())
