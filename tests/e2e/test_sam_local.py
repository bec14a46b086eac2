"""`sam local` against `webhooks dev --aws-only`, for each Docker platform choice.

Docker cannot run on the machine these tests run on, so the containers are stood in
for: the functions' handlers run in this process with exactly the environment SAM
would give a container (the env file's variables for that function, which must all
be declared in the template or SAM drops them, plus the region and credentials of the
session `make sam-local-*` runs SAM with), and talk to the emulator over real HTTP. On
Docker Desktop a container reaches the host's loopback as host.docker.internal: here
that name is resolved to 127.0.0.1 as Desktop forwards it. On Docker Engine the
emulator is bound to the address the file names (loopback here; docker0 for real).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.processor import app as processor_app
from functions.receiver import app as receiver_app
from tests.e2e.conftest import ROOT, DevStack, start_stack, stop
from tests.support.lambda_context import lambda_context
from tests.support.project import FIXTURE_SOURCES
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing
from webhooks_cli.local import samlocal
from webhooks_cli.local.resources import declared_variables
from webhooks_cli.project import Project

pytestmark = pytest.mark.e2e
EVENTS = ROOT / "events"
SOURCES = load_sources(FIXTURE_SOURCES)
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
# What `make sam-local-*` gives SAM's session, so no real credentials reach a container.
SAM_SESSION = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}
PLATFORMS = {
    "docker-desktop": ("--docker", "desktop"),
    # Loopback stands in for docker0's address: the file must name whatever was bound.
    "docker-engine": ("--docker", "engine", "--bind", "127.0.0.1"),
}
EXPECTED_HOST = {"docker-desktop": "host.docker.internal", "docker-engine": "127.0.0.1"}


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def sam_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    folder = tmp_path_factory.mktemp(request.param)
    env_file = folder / "env.local.json"
    flags = PLATFORMS[request.param]
    stack = start_stack(folder, "--aws-only", "--env-vars-file", str(env_file), *flags, ready=r"^sam local\s+env")
    stack.platform = request.param  # type: ignore[attr-defined]
    try:
        yield stack
    finally:
        stop(stack)


def env_file(stack: DevStack) -> dict[str, dict[str, str]]:
    return json.loads((stack.secrets_file.parent / "env.local.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def as_in_a_container(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run a function in-process with the environment SAM would give its container."""
    original = socket.getaddrinfo

    def desktop_forwarding(host: Any, *args: Any, **kwargs: Any) -> Any:
        return original("127.0.0.1" if host == samlocal.DESKTOP_HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", desktop_forwarding)

    def enter(variables: dict[str, str]) -> None:
        for name in list(os.environ):
            if name.startswith(("AWS_", "POWERTOOLS_")) or name in variables:
                monkeypatch.delenv(name)
        for name, value in {**variables, **SAM_SESSION}.items():
            monkeypatch.setenv(name, value)
        receiver_app.get_receiver.cache_clear()
        processor_app.get_processor.cache_clear()

    yield enter
    receiver_app.get_receiver.cache_clear()
    processor_app.get_processor.cache_clear()


def test_the_env_file_names_the_emulator_as_containers_reach_it_and_every_url_agrees(sam_stack: DevStack) -> None:
    port = sam_stack.aws_endpoint.rsplit(":", 1)[1]
    expected = f"http://{EXPECTED_HOST[sam_stack.platform]}:{port}"  # type: ignore[attr-defined]
    for function, variables in env_file(sam_stack).items():
        assert variables["AWS_ENDPOINT_URL"] == expected, function
        urls = {name: value for name, value in variables.items() if "://" in value}
        assert set(urls) >= {"AWS_ENDPOINT_URL"} | ({"EVENTS_QUEUE_URL"} if function == "ReceiverFunction" else set())
        for name, value in urls.items():
            assert value == expected or value.startswith(expected + "/"), (function, name, value)


def test_the_env_file_holds_only_variables_the_template_declares_which_sam_passes(sam_stack: DevStack) -> None:
    project = Project(ROOT)
    variables = env_file(sam_stack)
    assert sorted(variables) == ["ProcessorFunction", "ReceiverFunction"]
    for function, values in variables.items():
        assert set(values) == set(declared_variables(project, function)), function


@pytest.mark.skipif(not SAM_PYTHON.exists(), reason="the SAM CLI venv (.venv-sam: `make build`) is not there")
def test_sam_cli_itself_passes_every_value_of_the_env_file_to_the_containers(sam_stack: DevStack) -> None:
    path = sam_stack.secrets_file.parent / "env.local.json"
    resolved = subprocess.run(
        [
            str(SAM_PYTHON),
            str(ROOT / "tests" / "support" / "sam_env.py"),
            "template.yaml",
            str(path),
            *env_file(sam_stack),
        ],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **SAM_SESSION},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    containers = json.loads(resolved.stdout)
    for function, values in env_file(sam_stack).items():
        assert {name: containers[function][name] for name in values} == values, function
        assert {name: containers[function][name] for name in SAM_SESSION} == SAM_SESSION


def test_every_generated_and_committed_event_gets_its_documented_answer(
    sam_stack: DevStack, as_in_a_container: Any, tmp_path: Path
) -> None:
    written = sam_stack.cli("sam-events", "--out", str(tmp_path))
    assert written.returncode == 0, written.stderr
    variables = env_file(sam_stack)

    as_in_a_container(variables["ReceiverFunction"])
    generated = sorted(tmp_path.glob("receiver-*.json"))
    assert len(generated) >= 10
    for path in generated:
        answer = receiver_app.lambda_handler(json.loads(path.read_text()), lambda_context())
        # 202, or the status the kind's provider demands for every delivery (Figma: 200).
        reply = SOURCES[path.stem.removeprefix("receiver-")].spec.reply
        assert answer["statusCode"] == (reply.status if reply else 202), (path.name, answer["body"])
        assert json.loads(answer["body"])["status"] == "accepted"
    # The committed one is the unsigned template the generated ones are made from: a real
    # source (github), refused as any unsigned delivery is.
    committed = receiver_app.lambda_handler(
        json.loads((EVENTS / "apigw-rest-webhook.json").read_text()), lambda_context()
    )
    assert committed["statusCode"] == 401

    as_in_a_container(variables["ProcessorFunction"])
    batch = json.loads((EVENTS / "processor-sqs-batch.json").read_text())
    assert processor_app.lambda_handler(batch, lambda_context()) == {"batchItemFailures": []}


def test_an_interface_name_binds_to_its_address() -> None:
    assert samlocal.bind_address("lo") == "127.0.0.1"
    with pytest.raises(Exception, match="no IPv4 address for interface 'nosuch0'"):
        samlocal.bind_address("nosuch0")


@pytest.mark.skipif(not SAM_PYTHON.exists(), reason="the SAM CLI venv (.venv-sam: `make build`) is not there")
def test_what_webhooks_send_posts_through_sam_local_start_api_is_accepted(
    sam_stack: DevStack, as_in_a_container: Any
) -> None:
    """The gateway path: `webhooks send <source>` against `make sam-local-api`. Each signed
    delivery becomes the event SAM's own start-api code builds for it, which the receiver,
    with the container's environment, accepts."""
    secrets = json.loads(sam_stack.secrets_file.read_text())
    as_in_a_container(env_file(sam_stack)["ReceiverFunction"])
    # SNS and PayPal sign with their own certificates: `webhooks send` cannot sign for them.
    signable = {name: source for name, source in SOURCES.items() if source.kind not in signing.UNSIGNABLE_KINDS}
    for name, source in sorted(signable.items()):
        signing_secret = devsecrets.signing_secret(secrets, name)
        assert signing_secret is not None
        delivery = signing.sign(source, signing_secret)
        request = {
            "method": delivery.method,
            "path": f"/webhooks/{name}",
            "query": delivery.query,
            "headers": delivery.headers,
            "body_base64": base64.b64encode(delivery.body).decode(),
        }
        built = subprocess.run(
            [str(SAM_PYTHON), str(ROOT / "tests" / "support" / "sam_env.py"), "--apigw-event"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        answer = receiver_app.lambda_handler(json.loads(built.stdout), lambda_context())
        # 202, or the status the kind's provider demands for every delivery (Figma: 200).
        assert answer["statusCode"] == (source.spec.reply.status if source.spec.reply else 202), (name, answer["body"])
