"""What `sam local` needs from `webhooks dev --aws-only`: an emulator its containers can
reach, and an env-vars file whose every URL points there.

SAM runs each function in a container on Docker's default bridge network
(`--docker-network host` does not change that: SAM CLI leaves a container it is asked
to put on the host network on the bridge, aws/aws-sam-cli#4236). From there:

- Docker Desktop (macOS, Windows) forwards `host.docker.internal` to the host's
  loopback, so the emulator stays on 127.0.0.1 and the file names host.docker.internal.
- Docker Engine (Linux) does not: a container reaches the host only at an address of
  the host's own, such as the docker0 bridge's gateway (172.17.0.1 by default). The
  emulator must listen there, which is only done on request (`--bind docker0`), with a
  warning: it has no authentication.

SAM passes a container only the environment variables the template declares for the
function (and AWS_* credentials and region from its own session), so the file holds
exactly those: anything else would be dropped without a word.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from dataclasses import dataclass

from webhooks_cli.errors import CliError

DESKTOP = "desktop"
ENGINE = "engine"
DESKTOP_HOST = "host.docker.internal"
LOOPBACK = "127.0.0.1"
FUNCTIONS = ("ReceiverFunction", "ProcessorFunction")
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def default_docker(platform: str = sys.platform) -> str:
    """Docker Engine on Linux, Docker Desktop elsewhere (`--docker desktop` for Desktop on Linux)."""
    return ENGINE if platform.startswith("linux") else DESKTOP


def interface_address(name: str) -> str:
    """The IPv4 address of a network interface (Linux), e.g. docker0's 172.17.0.1."""
    import fcntl  # noqa: PLC0415 - POSIX only, and only for --bind <interface>

    request = struct.pack("256s", name[:15].encode())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
        except OSError:
            raise CliError(
                f"no IPv4 address for interface {name!r}: give an address, or start Docker Engine "
                "(its bridge is docker0; `ip -4 addr show docker0` shows its address)"
            ) from None
    return socket.inet_ntoa(answer[20:24])


def bind_address(value: str) -> str:
    """An IP address as given, or an interface name's address."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return interface_address(value)
    if address.is_unspecified:
        raise CliError(
            f"--bind {value} would expose the emulator, which has no authentication, on every "
            "interface: give the one address containers use (e.g. --bind docker0)"
        )
    return str(address)


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


@dataclass(frozen=True)
class SamNetwork:
    """Where the emulator listens, and the host SAM's containers reach it at."""

    docker: str
    bind: str

    @property
    def container_host(self) -> str:
        return DESKTOP_HOST if self.docker == DESKTOP else self.bind

    @property
    def exposed(self) -> bool:
        """Listening beyond loopback: reachable by more than this machine's own processes."""
        return not is_loopback(self.bind)

    def notes(self, port: int) -> list[str]:
        """What the user must know about this choice (printed as warnings)."""
        notes = []
        if self.exposed:
            notes.append(
                f"the AWS emulator listens on {self.bind}:{port} with no authentication: anything that "
                "reaches that address can read and change its tables, queues and dev secrets"
            )
        if self.docker == ENGINE and not self.exposed:
            notes.append(f"containers on Docker Engine cannot reach {self.bind}: `sam local` needs --bind docker0")
        return notes


def choose(docker: str | None, bind: str | None) -> SamNetwork:
    chosen = docker or default_docker()
    if bind is not None:
        return SamNetwork(chosen, bind_address(bind))
    if chosen == DESKTOP:
        return SamNetwork(chosen, LOOPBACK)
    raise CliError(
        "on Docker Engine (Linux) SAM's containers reach the host only at its docker0 bridge, not "
        "127.0.0.1: add --bind docker0 (the emulator has no authentication; that address is "
        "reachable by containers and this machine), or --docker desktop if you use Docker Desktop"
    )


def env_vars(
    environment: dict[str, str],
    declared: dict[str, list[str]],
    host_endpoint: str,
    container_endpoint: str,
) -> dict[str, dict[str, str]]:
    """The env-vars file: for each function, the variables the template declares for it,
    with every URL of the emulator (its endpoint, queue URLs) as the containers reach it."""

    def inside(value: str) -> str:
        if value == host_endpoint or value.startswith(host_endpoint + "/"):
            return container_endpoint + value[len(host_endpoint) :]
        return value

    return {
        function: {name: inside(environment[name]) for name in names if name in environment}
        for function, names in declared.items()
    }
