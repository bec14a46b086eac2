"""End-to-end throughput through the local stack (`make bench`): webhooks per
second accepted over HTTP and processed, with 0 lost and 0 processed twice.
Goal: >= 100/s on 2 cores."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing

ROOT = Path(__file__).resolve().parents[1]
DELIVERIES = 600
CLIENTS = 8


def _post(url: str, delivery: signing.Delivery) -> tuple[int, str]:
    if delivery.query:
        url = f"{url}?{urllib.parse.urlencode(delivery.query)}"
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, json.loads(response.read())["id"]
    except urllib.error.HTTPError as error:
        return error.code, ""


def main() -> int:
    out = sys.stdout.write
    with tempfile.TemporaryDirectory() as scratch:
        secrets_file = Path(scratch) / "dev-secrets.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            WEBHOOKS_PROJECT_DIR=str(ROOT),
            WEBHOOKS_DEV_SECRETS_FILE=str(secrets_file),
            WEBHOOKS_DEV_STATE_FILE=str(Path(scratch) / "dev-state.json"),
            PYTHONUNBUFFERED="1",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "webhooks_cli", "dev", "--port", "0", "--aws-port", "0"],
            cwd=scratch,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: list[str] = []
        ready = threading.Event()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if line.startswith("Ctrl-C"):
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        try:
            if not ready.wait(90):
                raise SystemExit("the local stack did not start:\n" + "".join(lines))
            url = re.search(r"POST (http://127\.0\.0\.1:\d+)/webhooks", "".join(lines)).group(1)  # type: ignore[union-attr]
            sources = load_sources(ROOT / "functions" / "receiver" / "sources.json")
            secrets = json.loads(secrets_file.read_text())
            names = sorted(sources)

            def deliver(i: int) -> tuple[int, str]:
                # Signed just before sending, as a provider does: some kinds allow only seconds of skew.
                name = names[i % len(names)]
                return _post(
                    f"{url}/webhooks/{name}",
                    signing.sign(sources[name], devsecrets.signing_secret(secrets, name) or ""),
                )

            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                results = list(pool.map(deliver, range(DELIVERIES)))
            accepted_at = time.perf_counter()
            accepted = {envelope_id for status, envelope_id in results if status == 202}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                processed = Counter(line.split()[2] for line in list(lines) if " processed " in line)
                if accepted <= set(processed):
                    break
                time.sleep(0.05)
            done = time.perf_counter()
            time.sleep(2)  # any duplicate processing would show up by now
            processed = Counter(line.split()[2] for line in list(lines) if " processed " in line)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    lost = len(accepted - set(processed)) + sum(1 for status, _ in results if status != 202)
    twice = sum(1 for envelope_id in accepted if processed[envelope_id] > 1)
    out(f"pipeline   {DELIVERIES} webhooks over HTTP, {CLIENTS} clients, {len(names)} sources, via the local stack\n")
    out(f"pipeline   accepted: {DELIVERIES / (accepted_at - start):7.1f} /s (202 for {len(accepted)})\n")
    out(f"pipeline   accepted and processed end to end: {DELIVERIES / (done - start):7.1f} /s (goal >= 100/s)\n")
    out(f"pipeline   lost: {lost}, processed twice: {twice}\n")
    return 1 if lost or twice else 0


if __name__ == "__main__":
    sys.exit(main())
