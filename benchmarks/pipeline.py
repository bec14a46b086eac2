"""End-to-end throughput through the local stack (`make bench`): webhooks per
second accepted over HTTP and processed, with 0 lost and 0 processed twice.
Goal: >= 100/s on 2 cores."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.soak import post_delivery
from tests.support.devstack import start_stack, stop
from tests.support.project import FIXTURE_SOURCES
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing

DELIVERIES = 600
CLIENTS = 8


def main() -> int:
    out = sys.stdout.write
    with tempfile.TemporaryDirectory() as scratch:
        stack = start_stack(Path(scratch))
        try:
            sources = load_sources(FIXTURE_SOURCES)
            secrets = json.loads(stack.secrets_file.read_text())
            # Every source the CLI can sign for (not SNS or PayPal: their providers' certificates).
            names = sorted(name for name, source in sources.items() if source.kind not in signing.UNSIGNABLE_KINDS)

            def deliver(i: int) -> tuple[int, str]:
                # Signed just before sending, as a provider does: some kinds allow only seconds of skew.
                name = names[i % len(names)]
                delivery = signing.sign(sources[name], devsecrets.signing_secret(secrets, name) or "")
                return post_delivery(f"{stack.url}/webhooks/{name}", delivery)

            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                results = list(pool.map(deliver, range(DELIVERIES)))
            accepted_at = time.perf_counter()
            accepted = {envelope_id for status, envelope_id in results if status == 202}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                processed = Counter(line.split()[2] for line in list(stack.lines) if line.split()[1:2] == ["processed"])
                if accepted <= set(processed):
                    break
                time.sleep(0.05)
            done = time.perf_counter()
            time.sleep(2)  # any duplicate processing would show up by now
            processed = Counter(line.split()[2] for line in list(stack.lines) if line.split()[1:2] == ["processed"])
        finally:
            stop(stack)

    lost = len(accepted - set(processed)) + sum(1 for status, _ in results if status != 202)
    twice = sum(1 for envelope_id in accepted if processed[envelope_id] > 1)
    out(f"pipeline   {DELIVERIES} webhooks over HTTP, {CLIENTS} clients, {len(names)} sources, via the local stack\n")
    out(f"pipeline   accepted: {DELIVERIES / (accepted_at - start):7.1f} /s (202 for {len(accepted)})\n")
    out(f"pipeline   accepted and processed end to end: {DELIVERIES / (done - start):7.1f} /s (goal >= 100/s)\n")
    out(f"pipeline   lost: {lost}, processed twice: {twice}\n")
    return 1 if lost or twice else 0


if __name__ == "__main__":
    sys.exit(main())
