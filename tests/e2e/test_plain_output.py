"""`webhooks dev` as a new user reads it: one plain line per delivery and per record,
saying why (which check refused a delivery, what a record failed on, when it is
dead-lettered), and nothing else unless --verbose."""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import DevStack, start_stack, stop
from tests.support.project import FIXTURE_SOURCES, fixture_project
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing
from webhooks_cli.project import Project

pytestmark = pytest.mark.e2e
SOURCES = load_sources(FIXTURE_SOURCES)
GITHUB_HANDLERS = Path("functions") / "processor" / "handlers" / "github_handlers.py"
BROKEN = '    raise RuntimeError("the repository service is down")\n'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A stack whose GitHub push handler fails (so its pushes are dead-lettered) and whose
    Stripe handlers work."""
    folder = tmp_path_factory.mktemp("plain")
    project = fixture_project(folder / "project")
    handlers = project / GITHUB_HANDLERS
    original = handlers.read_text()
    broken = original.replace("    push = event.payload\n", "    push = event.payload\n" + BROKEN, 1)
    assert broken != original
    handlers.write_text(broken)
    started = start_stack(folder, "--visibility-timeout", "0", project_dir=project)
    try:
        yield started
    finally:
        stop(started)


def post(url: str, delivery: signing.Delivery, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        url, data=delivery.body, headers=delivery.headers if headers is None else headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def signed(stack: DevStack, source: str, event_type: str | None = None) -> signing.Delivery:
    secret = devsecrets.signing_secret(json.loads(stack.secrets_file.read_text()), source)
    assert secret is not None
    return signing.sign(SOURCES[source], secret, event_type=event_type)


def test_a_delivery_line_says_what_was_recorded_and_a_refusal_which_check_failed(stack: DevStack) -> None:
    url = f"{stack.url}/webhooks/stripe"
    delivery = signed(stack, "stripe")
    status, answer = post(url, delivery)
    assert status == 202
    envelope_id = json.loads(answer)["id"]
    stack.wait_for(rf"POST /webhooks/stripe  202 accepted {re.escape(delivery.event_type)} {re.escape(envelope_id)}\b")
    stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b")  # before that, a copy is answered 409
    assert post(url, delivery)[0] == 200
    stack.wait_for(rf"POST /webhooks/stripe  200 duplicate {re.escape(delivery.event_type)} {re.escape(envelope_id)}\b")

    tampered = signing.Delivery(**{**delivery.__dict__, "body": delivery.body + b" "})
    status, answer = post(url, tampered)
    assert status == 401
    assert "signature_mismatch" not in answer  # which check failed is for the operator only
    stack.wait_for(r"POST /webhooks/stripe  401 invalid_signature: signature_mismatch\b")

    unsigned = {name: value for name, value in delivery.headers.items() if name.lower() != "stripe-signature"}
    assert post(url, delivery, unsigned)[0] == 401
    stack.wait_for(r"POST /webhooks/stripe  401 invalid_signature: missing_signature\b")


def test_by_default_nothing_but_the_readable_lines(stack: DevStack) -> None:
    delivery = signed(stack, "stripe")
    status, answer = post(f"{stack.url}/webhooks/stripe", delivery)
    assert status == 202
    stack.wait_for(rf"processed\s+{re.escape(json.loads(answer)['id'])}\b")
    forged = signing.Delivery(**{**delivery.__dict__, "body": delivery.body + b" "})
    assert post(f"{stack.url}/webhooks/stripe", forged)[0] == 401
    stack.wait_for(r"401 invalid_signature", count=1)
    # No Powertools JSON line, no metrics blob: every line is the banner's or a readable one.
    assert not [line for line in stack.lines if line.lstrip().startswith("{")], stack.output()


def test_a_failing_record_says_why_and_when_it_moves_to_the_dead_letter_queue(stack: DevStack) -> None:
    delivery = signed(stack, "github", "push")
    status, answer = post(f"{stack.url}/webhooks/github", delivery)
    assert status == 202
    envelope_id = re.escape(json.loads(answer)["id"])
    stack.wait_for(rf"failed\s+{envelope_id}\s+push\s+RuntimeError: the repository service is down\s+\(receive 1 of 5")
    stack.wait_for(rf"dead-lettered {envelope_id}\s+push\s+moved to the DLQ after 5 receives", timeout=60)


def banner_commands(stack: DevStack) -> list[str]:
    """Every command line the banner shows (after its label column, if any)."""
    banner = stack.lines[: next(i for i, line in enumerate(stack.lines) if line.startswith("Ctrl-C stops it"))]
    shown = [line[14:] if line[:14].strip() in {"", "Try"} else "" for line in banner]
    return [line.strip() for line in shown if "webhooks" in line and not line.startswith(" ")]


def test_the_banner_commands_run_as_printed_and_send_finds_the_stacks_port(stack: DevStack) -> None:
    commands = banner_commands(stack)
    assert any(command.endswith(" send stripe") for command in commands), stack.output()
    for command in commands:
        # Pasted into the shell `webhooks dev` was started from: no --port, no activated venv.
        ran = stack.run(shlex.split(command))
        assert ran.returncode == 0, f"{command}: {ran.stdout}{ran.stderr}"
        if command.endswith(" send stripe"):
            assert f"POST {stack.url}/webhooks/stripe" in ran.stdout


def test_a_second_stack_on_the_same_project_is_refused_naming_the_first(stack: DevStack) -> None:
    second = stack.cli("dev", "--port", "0", "--aws-port", "0")
    assert second.returncode == 1, second.stdout + second.stderr
    (said,) = (second.stdout + second.stderr).strip().splitlines()
    assert said.startswith(
        f"Error: `webhooks dev` is already running for this project (pid {stack.process.pid}, API {stack.url}, "
        f"emulator {stack.aws_endpoint})"
    )
    # The first one's state is untouched: the other commands still reach it.
    assert stack.cli("dlq", "list").returncode == 0
    assert stack.cli("send", "stripe").returncode == 0


def test_an_edited_sources_file_is_reloaded_and_a_broken_one_is_said_and_kept_out(stack: DevStack) -> None:
    sources_file = Project(stack.project_dir).sources_file
    document = json.loads(sources_file.read_text())
    sources_file.write_text(json.dumps({"sources": [*document["sources"], {"name": "acme", "kind": "hamc"}]}))
    stack.wait_for(r"sources\.json changed but cannot be used, the previous sources stay: .*did you mean 'hmac'\?")
    assert stack.process.poll() is None
    answer = post(f"{stack.url}/webhooks/stripe", signed(stack, "stripe"))
    assert answer[0] == 202, stack.output()[-3000:]  # the previous sources serve

    hmac = next(source for source in document["sources"] if source["name"] == "hmac")
    sources_file.write_text(json.dumps({"sources": [*document["sources"], {**hmac, "name": "acme"}]}))
    stack.wait_for(r"sources\.json changed: reloaded, \d+ sources; new: acme \(")
    sent = stack.cli("send", "acme")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    stack.wait_for(r"POST /webhooks/acme  202 accepted ")


def test_with_verbose_each_functions_logs_and_metrics_carry_the_templates_service_name(tmp_path: Path) -> None:
    template = Project.locate().template["Resources"]
    services = {
        function: template[logical_id]["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for function, logical_id in (("receiver", "ReceiverFunction"), ("processor", "ProcessorFunction"))
    }
    verbose = start_stack(tmp_path, "--verbose")
    try:
        # A type no handler is registered for: the processor logs that it acknowledged it.
        body = json.dumps({"id": "evt_service_name", "object": "event", "type": "customer.created", "data": {}})
        secret = devsecrets.signing_secret(json.loads(verbose.secrets_file.read_text()), "stripe")
        assert secret is not None
        delivery = signing.sign(SOURCES["stripe"], secret, body=body.encode())
        status, answer = post(f"{verbose.url}/webhooks/stripe", delivery)
        assert status == 202
        envelope_id = json.loads(answer)["id"]
        verbose.wait_for(rf"processed\s+{re.escape(envelope_id)}\s.*no handler registered")
        lines = [json.loads(line) for line in list(verbose.lines) if line.startswith("{")]
        service_of = {line["message"]: line["service"] for line in lines if line.get("envelope_id") == envelope_id}
        assert service_of == {
            "accepted": services["receiver"],
            "no handler for this event type; acknowledged": services["processor"],
        }, verbose.output()
        metrics = {name: line.get("service") for line in lines if "_aws" in line for name in line if name[0].isupper()}
        assert metrics["Accepted"] == services["receiver"]
        assert metrics["VerifiedWithSecret"] == services["receiver"]
        assert metrics["UnhandledType"] == services["processor"]
    finally:
        stop(verbose)
