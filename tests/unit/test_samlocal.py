"""`webhooks dev --aws-only` for `sam local`: which address the emulator listens on, the
host SAM's containers reach it at, and an env file whose every URL agrees.

Docker cannot run here: these check the choices against how Docker networks a
container (Desktop forwards host.docker.internal to the host's loopback; Engine
reaches the host only at an address of its own, such as docker0's)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.support.template_resources import template
from webhooks_cli.cli import main
from webhooks_cli.errors import CliError
from webhooks_cli.local import samlocal
from webhooks_cli.local.samlocal import DESKTOP, ENGINE, SamNetwork


@pytest.mark.parametrize(("platform", "docker"), [("linux", ENGINE), ("darwin", DESKTOP), ("win32", DESKTOP)])
def test_docker_engine_is_assumed_on_linux_and_docker_desktop_elsewhere(platform: str, docker: str) -> None:
    assert samlocal.default_docker(platform) == docker


def test_docker_desktop_keeps_the_emulator_on_loopback_and_names_host_docker_internal() -> None:
    network = samlocal.choose(DESKTOP, None)
    assert (network.bind, network.container_host, network.exposed) == ("127.0.0.1", "host.docker.internal", False)
    assert network.notes(4566) == []


def test_docker_engine_binds_beyond_loopback_only_on_request() -> None:
    with pytest.raises(CliError, match="--bind docker0"):
        samlocal.choose(ENGINE, None)


def test_a_bind_beyond_loopback_is_what_the_containers_use_and_comes_with_a_warning() -> None:
    network = samlocal.choose(ENGINE, "172.17.0.1")
    assert (network.bind, network.container_host, network.exposed) == ("172.17.0.1", "172.17.0.1", True)
    (warning,) = network.notes(4566)
    assert "172.17.0.1:4566 with no authentication" in warning


def test_every_interface_at_once_is_refused() -> None:
    for wildcard in ("0.0.0.0", "::"):  # noqa: S104 - what is refused
        with pytest.raises(CliError, match="no authentication"):
            samlocal.choose(ENGINE, wildcard)


def test_engine_on_loopback_says_the_containers_cannot_reach_it() -> None:
    (note,) = SamNetwork(ENGINE, "127.0.0.1").notes(4566)
    assert "--bind docker0" in note


def test_the_env_file_holds_each_functions_declared_variables_with_every_url_as_containers_reach_it() -> None:
    host = "http://127.0.0.1:4566"
    environment = {
        "AWS_ENDPOINT_URL": host,
        "EVENTS_QUEUE_URL": f"{host}/123456789012/webhooks-local-EventsQueue",
        "LEDGER_TABLE_NAME": "webhooks-local-DedupeTable",
        "SECRETS_CACHE_SECONDS": "1",  # declared by neither: SAM would drop it
        "ELSEWHERE": "http://127.0.0.1:45660/x",  # another port: not the emulator
    }
    declared = {"ReceiverFunction": ["AWS_ENDPOINT_URL", "EVENTS_QUEUE_URL", "LEDGER_TABLE_NAME", "ELSEWHERE"]}
    file = samlocal.env_vars(environment, declared, host, "http://host.docker.internal:4566")
    assert file == {
        "ReceiverFunction": {
            "AWS_ENDPOINT_URL": "http://host.docker.internal:4566",
            "EVENTS_QUEUE_URL": "http://host.docker.internal:4566/123456789012/webhooks-local-EventsQueue",
            "LEDGER_TABLE_NAME": "webhooks-local-DedupeTable",
            "ELSEWHERE": "http://127.0.0.1:45660/x",
        }
    }


def test_the_template_declares_aws_endpoint_url_for_sam_local_and_leaves_it_out_when_deployed() -> None:
    """SAM passes a container only declared variables; deployed, the !If is AWS::NoValue."""
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["AWS_ENDPOINT_URL"] == {
        "Fn::If": ["HasLocalEndpoint", {"Ref": "LocalEndpointUrl"}, {"Ref": "AWS::NoValue"}]
    }
    assert template()["Parameters"]["LocalEndpointUrl"]["Default"] == ""
    assert template()["Conditions"]["HasLocalEndpoint"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "LocalEndpointUrl"}, ""]}]
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--aws-only", "--docker", "engine"], "add --bind docker0"),
        (["--aws-only", "--bind", "0.0.0.0"], "no authentication"),  # noqa: S104 - what is refused
        (["--bind", "127.0.0.1"], "use them with --aws-only"),
        (["--docker", "desktop"], "use them with --aws-only"),
    ],
)
def test_dev_refuses_a_binding_it_was_not_asked_for_before_starting_anything(
    arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["dev", *arguments])
    assert result.exit_code == 1
    assert message in result.output
