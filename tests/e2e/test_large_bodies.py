"""Large bodies over HTTP through the local stack (`webhooks dev`, its AWS in the
emulator, the bucket made from template.yaml): verified GitHub pushes of ~600 KB,
~3 MB and exactly MaxBodyBytes are accepted, processed once and the handler sees
their exact bytes; one byte more is 413; a claim-checked dead letter is shown,
found with --grep and replayed by `webhooks dlq`."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import start_stack, stop
from tests.support.payloads import github_push
from tests.support.project import fixture_project
from tests.support.signers import Signed, sign
from webhook_core.settings import MAX_BODY_LIMIT
from webhooks_cli import devsecrets

pytestmark = pytest.mark.e2e
GITHUB_HANDLERS = Path("functions") / "processor" / "handlers" / "github_handlers.py"
# Replaces the fixture GitHub handlers: notes what each push handler was given, and
# fails while the `broken` file exists.
RECORDING_HANDLER = '''"""Records what the push handler sees (tests/e2e/test_large_bodies.py)."""

import hashlib
from pathlib import Path

from webhook_core.payloads.github import PushEvent
from webhook_core.registry import Event, on

SEEN = Path({seen!r})
BROKEN = Path({broken!r})


@on("github", "push", payload=PushEvent)
def record_push(event: Event[PushEvent]) -> None:
    if BROKEN.exists():
        raise RuntimeError("the build service is down")
    raw = event.envelope.raw_body()
    with SEEN.open("a", encoding="utf-8") as seen:
        seen.write(f"{{event.envelope.id}} {{hashlib.sha256(raw).hexdigest()}} {{len(event.payload.commits)}}\\n")
'''


def post(url: str, signed: Signed) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=signed.body, headers=signed.headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_large_pushes_are_kept_processed_once_and_a_claim_checked_dead_letter_replays(tmp_path: Path) -> None:
    project = fixture_project(tmp_path / "project")
    seen_file, broken = tmp_path / "seen.txt", tmp_path / "broken"
    (project / GITHUB_HANDLERS).write_text(RECORDING_HANDLER.format(seen=str(seen_file), broken=str(broken)))
    stack = start_stack(tmp_path, "--visibility-timeout", "0", project_dir=project)
    try:
        secret = devsecrets.signing_secret(json.loads(stack.secrets_file.read_text()), "github")
        assert secret
        url = f"{stack.url}/webhooks/github"
        largest = github_push(MAX_BODY_LIMIT - 20_000)
        largest += b" " * (MAX_BODY_LIMIT - len(largest))
        bodies = {"600KB": github_push(600_000), "3MB": github_push(3_000_000), "largest": largest}
        expected: dict[str, tuple[str, int]] = {}
        for name, body in bodies.items():
            signed = sign("github", body, secret=secret)
            status, answer = post(url, signed)
            assert (name, status) == (name, 202), answer
            expected[str(answer["id"])] = (hashlib.sha256(body).hexdigest(), len(json.loads(body)["commits"]))
        for envelope_id in expected:
            stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b", timeout=60)
        for body in bodies.values():  # GitHub's redelivery, once processed: a duplicate
            assert post(url, sign("github", body, secret=secret))[0] == 200

        status, answer = post(url, sign("github", largest + b" ", secret=secret))
        assert status == 413, answer

        broken.touch()
        body = github_push(1_300_000)  # over 1 MiB as an envelope: claim-checked
        status, answer = post(url, sign("github", body, secret=secret))
        assert status == 202, answer
        dead_id = str(answer["id"])
        expected[dead_id] = (hashlib.sha256(body).hexdigest(), len(json.loads(body)["commits"]))
        stack.wait_for(rf"failed\s+{re.escape(dead_id)}\b.*next receive moves it to the DLQ", timeout=60)
        found = stack.cli("dlq", "list", "--json", "--grep", "Commit 1234: corrige l'accès réseau")
        for _ in range(20):
            if json.loads(found.stdout or "[]"):
                break
            found = stack.cli("dlq", "list", "--json", "--grep", "Commit 1234: corrige l'accès réseau")
        everything = stack.cli("dlq", "list", "--json")
        assert [letter["id"] for letter in json.loads(found.stdout)] == [dead_id], (
            found.stderr + everything.stdout + everything.stderr
        )
        shown = stack.cli("dlq", "show", dead_id)
        assert shown.returncode == 0, shown.stderr
        assert "claim-checked in the body bucket as bodies/" in shown.stdout
        assert "--full prints them all" in shown.stdout  # a terminal gets the first 20,000 characters
        whole = stack.cli("dlq", "show", dead_id, "--full").stdout
        assert '"full_name": "Codertocat/Hello-World"' in whole
        assert "Commit 1234: corrige l" in whole

        broken.unlink()
        replayed = stack.cli("dlq", "replay", "--rate", "50")
        assert "moved 1, skipped 0, failed 0" in replayed.stdout, replayed.stdout + replayed.stderr
        stack.wait_for(rf"processed\s+{re.escape(dead_id)}\b", timeout=60)
    finally:
        stop(stack)

    seen = [line.split() for line in seen_file.read_text(encoding="utf-8").splitlines()]
    assert Counter(envelope_id for envelope_id, _, _ in seen) == Counter(dict.fromkeys(expected, 1))
    for envelope_id, digest, commits in seen:
        assert (digest, int(commits)) == expected[envelope_id]
