"""The `webhooks` command line."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from webhooks_cli import devsecrets, signing
from webhooks_cli.commands_events import events
from webhooks_cli.commands_inspect import inspect
from webhooks_cli.commands_ops import dlq, secrets
from webhooks_cli.commands_rejected import rejected
from webhooks_cli.errors import CliError
from webhooks_cli.local.gateway import Answered, describe
from webhooks_cli.local.poller import RecordOutcome
from webhooks_cli.project import Project
from webhooks_cli.provider_keys import ProviderKey
from webhooks_cli.terminal import printable

console = Console(highlight=False, soft_wrap=True)
DEFAULT_INSPECTOR_PORT = 3100
errors = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="serverless-webhook-receiver")
def main() -> None:
    """Operate the serverless webhook receiver: run it locally, send signed test
    deliveries, list, follow and replay events, inspect and replay dead letters."""


# --- dev ------------------------------------------------------------------------------


@main.command()
@click.option("--port", default=3000, show_default=True, help="Port of the local API (0 picks a free one).")
@click.option("--aws-port", default=4566, show_default=True, help="Port of the AWS emulator (0 picks a free one).")
@click.option(
    "--visibility-timeout",
    default=5,
    show_default=True,
    type=click.IntRange(0, 43_200),
    help="Seconds before a failed record is retried locally (the template's value would make you wait minutes).",
)
@click.option(
    "--aws-only", is_flag=True, help="Only the emulator and its resources (for `sam local`); writes env.local.json."
)
@click.option(
    "--env-vars-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where --aws-only writes the env vars for `sam local` (default: env.local.json in the project).",
)
@click.option(
    "--docker",
    type=click.Choice(["desktop", "engine"]),
    help="With --aws-only: Docker Desktop (reaches the emulator at host.docker.internal) or Docker Engine "
    "(needs --bind). Default: engine on Linux, desktop elsewhere.",
)
@click.option(
    "--bind",
    metavar="ADDRESS|INTERFACE",
    help="With --aws-only: listen here instead of 127.0.0.1, e.g. docker0 for Docker Engine. The emulator "
    "has no authentication: whatever reaches this address can use it.",
)
@click.option("--verbose", is_flag=True, help="Also show the functions' own JSON logs and their metrics.")
@click.option(
    "--chaos",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Fail this fraction of the receiver's DynamoDB writes and SQS sends (503s a provider retries).",
)
@click.option(
    "--inspector-port",
    type=int,
    help="Port of the inspector page and the API docs (default: 3100; with --port 0, a free one too).",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Delete the state kept from the last run (.webhooks-dev/: records, queued messages, dead letters, "
    "bodies, secrets) and start clean.",
)
def dev(
    port: int,
    aws_port: int,
    visibility_timeout: int,
    aws_only: bool,
    env_vars_file: Path | None,
    docker: str | None,
    bind: str | None,
    verbose: bool,
    chaos: float,
    inspector_port: int | None,
    fresh: bool,
) -> None:
    """Run the whole pipeline locally: AWS emulator, API and processor, on 127.0.0.1.

    What the emulator holds is kept in .webhooks-dev/ across restarts (--fresh starts clean)."""
    from webhooks_cli.local import samlocal
    from webhooks_cli.local.stack import DevOptions, LocalStack

    if (docker or bind) and not aws_only:
        raise CliError("--docker and --bind are for `sam local`: use them with --aws-only")
    sam_network = samlocal.choose(docker, bind) if aws_only else None
    project = Project.locate()
    max_receives = _max_receive_count(project)
    stack = LocalStack(
        project,
        DevOptions(
            port,
            aws_port,
            visibility_timeout,
            aws_only,
            verbose,
            chaos,
            sam_network,
            fresh=fresh,
            inspector_port=None if aws_only else _inspector_port(inspector_port, port),
        ),
        on_request=_print_request,
        on_record=lambda outcome: _print_record(outcome, max_receives),
        on_dead_letter=_print_dead_letter,
        on_error=_print_error,
        on_notice=lambda message: console.print(f"{time.strftime('%H:%M:%S')}  {escape(message)}"),
    )
    stopping = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        env_file = env_vars_file or project.root / "env.local.json"
        if aws_only:
            env_file.write_text(json.dumps(stack.sam_env_vars(), indent=2) + "\n", encoding="utf-8")
        _banner(stack, project, env_file if aws_only else None)
        if sam_network is not None:
            for note in sam_network.notes(int(stack.aws_endpoint.rsplit(":", 1)[1])):
                errors.print(f"[yellow]warning: {escape(note)}[/yellow]")
        while not stopping.wait(0.2):
            pass
    finally:
        stack.stop()
    console.print("stopped")
    if stack.keeps_state:
        start_clean = escape(f"{webhooks_command()} dev --fresh")
        console.print(f"state kept in {_shown_folder(stack.saved_state.path)} (`{start_clean}` starts clean)")


def _inspector_port(given: int | None, api_port: int) -> int:
    """--inspector-port, else 3100; a stack whose API takes any free port (tests, a second
    stack) takes any free one for its inspector too, rather than contend for 3100."""
    if given is not None:
        return given
    return 0 if api_port == 0 else DEFAULT_INSPECTOR_PORT


def _shown_folder(path: Path) -> str:
    """A folder as short as it can be said from here, with a trailing slash."""
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    return escape(f"{shown}/")


def _banner(stack: Any, project: Project, env_file: Path | None) -> None:
    # Every command shown runs when pasted into the shell this one was started from.
    webhooks = escape(webhooks_command())
    console.print(
        f"[bold]AWS emulator[/bold]  {stack.aws_endpoint}  (table, queues, DLQ and secret from template.yaml)"
    )
    if env_file is not None:
        console.print(f"[bold]sam local[/bold]     env vars for its containers: {env_file}")
        console.print(f"              emulator as they reach it: {stack.container_endpoint}")
        sam_env = "" if env_file == project.root / "env.local.json" else f" SAM_ENV={shlex.quote(str(env_file))}"
        console.print(f"              {webhooks} sam-events")
        console.print(f"              make sam-local-invoke{escape(sam_env)} EVENT=events/receiver-stripe.json")
        # start-api runs until stopped: what is sent to it is sent from another terminal.
        console.print(f"              make sam-local-api{escape(sam_env)}")
        console.print(f"              {webhooks} send stripe --port 3000   (in another terminal)")
    else:
        console.print(f"[bold]Webhooks[/bold]      POST {stack.url}/webhooks/<source>")
    if stack.inspector is not None:
        # On lines of their own, as the README shows them: a terminal makes each a link.
        console.print(f"inspector: {escape(stack.inspector.login_url)}")
        if stack.inspector.docs is not None:
            console.print(f"api docs: {stack.inspector.url}docs/")
    _print_state(stack)
    console.print("[bold]Dev secrets[/bold]   (from .dev-secrets.json, git-ignored)")
    for entry, shown in devsecrets.shown_in_banner(stack.secrets):
        console.print(f"  {entry:<12} {escape(shown)}")
    if env_file is None:
        # `send` finds this stack's port in the state file it writes: no --port needed.
        console.print(f"[bold]Try[/bold]           {webhooks} send stripe")
        console.print(f"              {webhooks} dlq list")
    console.print("Ctrl-C stops it.")


def webhooks_command() -> str:
    """This CLI as the shell it was started from runs it: `webhooks` when that is on the
    PATH, else the path it was started by (`make dev` runs .venv/bin/webhooks, which is
    not on the PATH until the virtual environment is activated)."""
    started = Path(sys.argv[0])
    if started.name == "__main__.py":  # python -m webhooks_cli
        return f"{shlex.quote(_from_here(Path(sys.executable)))} -m webhooks_cli"
    on_path = shutil.which("webhooks")
    if on_path is not None and Path(on_path).absolute() == started.absolute():
        return "webhooks"
    return shlex.quote(_from_here(started))


def _from_here(path: Path) -> str:
    """A path as short as the working folder allows, without resolving the virtual
    environment's links (its python is a link to the base interpreter)."""
    absolute = path.absolute()
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    return str(relative) if relative.parent != Path() else f"./{relative}"


def _print_state(stack: Any) -> None:
    folder = _shown_folder(stack.saved_state.path)
    if stack.restored is None:
        console.print(f"[bold]State[/bold]         new; kept in {folder} across restarts")
        return
    dead_letter_queue = stack.resources.dead_letter_queue_url.rsplit("/", 1)[1]
    console.print(f"[bold]State[/bold]         restored {stack.restored.describe({dead_letter_queue})} from {folder}")
    for skipped in stack.restored.skipped:
        errors.print(f"[yellow]warning: not restored: {escape(skipped)}[/yellow]")


def _print_request(answered: Answered) -> None:
    """One line per request: the status, and why, in the receiver's own words: which check
    refused it (never in the answer the sender gets), or the type and id it recorded."""
    status = answered.status
    colour = "green" if status < 300 else "yellow" if status < 500 else "red"
    if answered.recorded is not None:
        gist = " ".join(part for part in (answered.recorded, answered.event_type, answered.envelope_id) if part)
    else:
        gist = describe(answered.answer)
        if answered.reason is not None and answered.reason != gist:
            gist = f"{gist}: {answered.reason}" if gist else answered.reason
    console.print(
        f"{time.strftime('%H:%M:%S')}  {escape(printable(answered.method))} {escape(printable(answered.path))}  "
        f"[{colour}]{status}[/{colour}] {escape(printable(gist))}  {answered.seconds * 1000:.1f} ms"
    )


def _print_error(message: str) -> None:
    # A processor's exception message may quote the body or an id it choked on.
    errors.print(f"[red]{escape(printable(message))}[/red]")


def _print_record(outcome: RecordOutcome, max_receives: int) -> None:
    stamp = time.strftime("%H:%M:%S")
    if outcome.succeeded and outcome.absorbed:
        console.print(
            f"{stamp}  [dim]copy[/dim]       {escape(printable(outcome.envelope_id))}  "
            f"{escape(printable(outcome.event_type))}  (already processed: acknowledged, its handler not run again)"
        )
        return
    if outcome.succeeded:
        from webhook_core.registry import default_registry  # what the processor's handlers registered into

        found = default_registry.find(
            outcome.event_type, source=outcome.source, preset=outcome.preset, kind=outcome.kind
        )
        handled = found is not None
        note = "" if handled else "  (no handler registered: acknowledged)"
        console.print(
            f"{stamp}  [green]processed[/green]  {escape(printable(outcome.envelope_id))}  "
            f"{escape(printable(outcome.event_type))}{note}"
        )
        return
    fate = "next receive moves it to the DLQ" if outcome.receive_count >= max_receives else "will be retried"
    because = f"  {escape(printable(outcome.error))}" if outcome.error else ""
    console.print(
        f"{stamp}  [red]failed[/red]     {escape(printable(outcome.envelope_id))}  "
        f"{escape(printable(outcome.event_type))}{because}  "
        f"(receive {outcome.receive_count} of {max_receives}; {fate})"
    )


def _print_dead_letter(outcome: RecordOutcome) -> None:
    console.print(
        f"{time.strftime('%H:%M:%S')}  [red]dead-lettered[/red] {escape(printable(outcome.envelope_id))}  "
        f"{escape(printable(outcome.event_type))}  moved to the DLQ after {outcome.receive_count} receives "
        f"(`{escape(webhooks_command())} dlq list`)"
    )


def _max_receive_count(project: Project) -> int:
    return int(project.parameter_default("MaxReceiveCount") or 5)


# --- send -----------------------------------------------------------------------------


@main.command()
@click.argument("source")
@click.option(
    "--type", "event_type", help="Which sample to send (default: the first); with --file, the type header to send."
)
@click.option("--list-types", is_flag=True, help="List the sample event types of SOURCE and exit.")
@click.option(
    "--handshake",
    is_flag=True,
    help="Send the provider's endpoint check or setup request instead (Slack, Zoom, Discord, Twitch, Event Grid; "
    "Meta, Dropbox, Okta, X by GET; Trello by HEAD; CloudEvents by OPTIONS; WooCommerce's ping; Notion's "
    "verification_token; Asana's X-Hook-Secret).",
)
@click.option("--file", "body_file", type=click.Path(path_type=Path, dir_okay=False), help="Send this body instead.")
@click.option(
    "--times", default=1, show_default=True, type=click.IntRange(1, 10_000), help="Send the same delivery N times."
)
@click.option("--url", help="Base URL of a deployed endpoint, e.g. https://…/dev/webhooks (default: the local stack).")
@click.option("--port", type=int, help="Port of the local stack (default: the running `webhooks dev`'s, else 3000).")
@click.option("--stack", "stack_name", help="A deployed stack: its URL and the source's secret come from it.")
@click.option("--region", help="AWS region of --stack.")
@click.option("--profile", help="AWS profile of --stack.")
@click.option("--endpoint-url", help="Any AWS-compatible endpoint for --stack's lookups.")
@click.option(
    "--secret",
    "given_secret",
    help="Sign with this secret (or private key) instead of the source's: a wrong one shows a 401 "
    "and what `webhooks rejected` keeps.",
)
def send(
    source: str,
    event_type: str | None,
    list_types: bool,
    handshake: bool,
    body_file: Path | None,
    times: int,
    url: str | None,
    port: int | None,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    endpoint_url: str | None,
    given_secret: str | None,
) -> None:
    """Sign a sample (or your own) payload exactly as SOURCE's provider does and POST it.

    Each sample is a realistic body of one of the provider's event types (its documented
    example where it publishes one), with a fresh id and time on every send."""
    from webhook_core.errors import ConfigurationError
    from webhook_core.sources import load_sources

    project = Project.locate()
    try:
        sources = load_sources(project.sources_file)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    if source not in sources:
        raise CliError(f"no source {source!r} in {project.sources_file.name}; sources: {', '.join(sources)}")
    if list_types:
        for sample_type in signing.samples(sources[source]):
            console.print(escape(sample_type))
        return

    if stack_name:
        from webhooks_cli.aws import StackTarget

        target = StackTarget.resolve(stack_name, region=region, profile=profile, endpoint_url=endpoint_url)
        base_url = url or target.output("WebhookBaseUrl")
        known = target.source_secrets()
    else:
        base_url = url or f"{_local_api(project, port)}/webhooks"
        known = devsecrets.load(project.dev_secrets_file)
    signing_secret = given_secret or devsecrets.signing_secret(known, source)
    if signing_secret is None:
        where = f"stack {stack_name}" if stack_name else ".dev-secrets.json (start `webhooks dev` once)"
        raise CliError(f"no secret for source {source!r} in {where}")

    chosen = sources[source]
    if handshake:
        delivery = signing.handshake(chosen, signing_secret, known)
    else:
        # SNS and PayPal sign with their own keys: to the local stack, with its stand-in.
        provider_key = (
            _local_provider_key(project)
            if chosen.kind in signing.UNSIGNABLE_KINDS and not (stack_name or url)
            else None
        )
        delivery = signing.sign(
            chosen, signing_secret, event_type=event_type, body_file=body_file, provider_key=provider_key
        )
    _send_times(f"{base_url.rstrip('/')}/{source}", delivery, times)


def _local_provider_key(project: Project) -> ProviderKey:
    """The stand-in key `webhooks dev` serves SNS's and PayPal's certificate for."""
    path = ProviderKey.path_beside(project.dev_secrets_file)
    key = ProviderKey.load(path)
    if key is None:
        raise CliError(
            f"no {path.name} yet: start `webhooks dev` once, it makes the stand-in key that local "
            "SNS and PayPal deliveries are signed with"
        )
    return key


def _local_api(project: Project, port: int | None) -> str:
    """The local stack's API: --port, else the running `webhooks dev`'s (its state file
    says which port it took), else the default port."""
    from webhooks_cli.targets import local_api_url

    if port is None:
        return local_api_url(project) or "http://127.0.0.1:3000"
    return f"http://127.0.0.1:{port}"


def _send_times(target_url: str, delivery: signing.Delivery, times: int) -> None:
    """POST (or GET) the delivery `times` times, printing each answer and what was recorded."""
    kind_of = escape(printable(delivery.event_type))
    for attempt in range(1, times + 1):
        status, body, waited = _post_as_a_provider(target_url, delivery)
        prefix = f"[{attempt}/{times}] " if times > 1 else ""
        colour = "green" if status < 300 else "yellow" if status < 500 else "red"
        recorded = _recorded_id(status, body)
        # One line per attempt: the type, the status, the envelope id the receiver recorded, its answer.
        as_recorded = f" recorded {escape(printable(recorded))}" if recorded is not None else ""
        in_flight = f"  [dim](409 while the previous copy was in flight; resent after {waited:.1f} s)[/dim]"
        console.print(
            f"{prefix}{delivery.method} {target_url}  {kind_of}  "
            f"[{colour}]{status}[/{colour}]{as_recorded}  {escape(printable(body))}" + (in_flight if waited else "")
        )
    if status >= 400:  # refused: a script that sends must see it
        raise click.exceptions.Exit(1)


# A copy sent while the previous one may still be sending is answered 409 + Retry-After;
# like a provider, `send` sends it again, sooner than Retry-After asks (the local processor
# takes an event within a second), and for at most that long.
IN_FLIGHT_PAUSE_SECONDS = 0.25


def _post_as_a_provider(url: str, delivery: signing.Delivery) -> tuple[int, str, float]:
    """POST the delivery; on a 409 in flight, again until it is not: (status, body, seconds waited)."""
    waited = 0.0
    while True:
        status, body, retry_after = _post(url, delivery)
        if status != 409 or retry_after is None or waited >= retry_after:
            return status, body, waited
        time.sleep(IN_FLIGHT_PAUSE_SECONDS)
        waited += IN_FLIGHT_PAUSE_SECONDS


def _recorded_id(status: int, body: str) -> str | None:
    """The envelope id of a 202 accepted or 200 duplicate answer (the type is the one this
    delivery carries, derived by the receiver's own code from the same sources file)."""
    if status not in {200, 202}:
        return None
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if isinstance(answer, dict) and answer.get("status") in {"accepted", "duplicate"}:
        recorded = answer.get("id")
        return recorded if isinstance(recorded, str) else None
    return None


def _post(url: str, delivery: signing.Delivery) -> tuple[int, str, float | None]:
    """(status, body, Retry-After seconds if any)."""
    shown = url  # never with its query string: a source's key may be in it (Mailchimp's)
    if delivery.query:
        url = f"{url}?{urllib.parse.urlencode(delivery.query)}"
    data = delivery.body if delivery.method not in {"GET", "HEAD"} else None
    request = urllib.request.Request(url, data=data, headers=delivery.headers, method=delivery.method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the user's own endpoint
            return response.status, response.read().decode("utf-8", "replace"), None
    except urllib.error.HTTPError as exc:
        retry_after = exc.headers.get("Retry-After", "")
        seconds = float(retry_after) if retry_after.isdigit() else None
        return exc.code, exc.read().decode("utf-8", "replace"), seconds
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        hint = " (is `webhooks dev` running?)" if "127.0.0.1" in shown else ""
        raise CliError(f"cannot reach {shown}: {reason}{hint}") from None


# --- sam-events -----------------------------------------------------------------------


@main.command("sam-events")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write to (default: the project's events/).",
)
def sam_events(out: Path | None) -> None:
    """Write signed API Gateway events, one per source, for `sam local invoke -e`.

    They are signed with the dev secrets at the current time, so they verify for
    the signature tolerance (5 minutes by default): regenerate them before use.
    A deployed stage never gets a tolerance bypass."""
    from webhook_core.errors import ConfigurationError
    from webhook_core.sources import load_sources
    from webhooks_cli.apigw import rest_event

    project = Project.locate()
    try:
        sources = load_sources(project.sources_file)
    except ConfigurationError as exc:
        raise CliError(str(exc)) from None
    known = devsecrets.load(project.dev_secrets_file)
    folder = out or project.root / "events"
    folder.mkdir(parents=True, exist_ok=True)
    base = json.loads((project.root / "events" / "apigw-rest-webhook.json").read_text(encoding="utf-8"))
    for name, source in sources.items():
        if source.kind in signing.UNSIGNABLE_KINDS:
            console.print(
                f"skipped {name}: {signing.UNSIGNABLE_KINDS[source.kind]} signs with its own certificate "
                "(the local stand-in is served by `webhooks dev`, not in `sam local`'s container)"
            )
            continue
        signing_secret = devsecrets.signing_secret(known, name)
        if signing_secret is None:
            raise CliError(f"no dev secret for source {name!r}: start `webhooks dev` once to generate them")
        delivery = signing.sign(source, signing_secret)
        path = folder / f"receiver-{name}.json"
        path.write_text(json.dumps(rest_event(base, delivery), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {path}  ({delivery.event_type}, {delivery.event_id})")


main.add_command(events)
main.add_command(dlq)
main.add_command(secrets)
main.add_command(rejected)
main.add_command(inspect)


# --- providers --------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of tables.")
def providers(as_json: bool) -> None:
    """The signature kinds and the named provider presets: header, algorithm, encoding,
    timestamp and tolerance, handshake, and the documentation each follows."""
    from webhook_core.sources import load_sources
    from webhooks_cli import catalog

    project = Project.locate()
    shipped = load_sources(project.sources_file)
    kinds = [catalog.describe(source) for source in catalog.kind_sources(shipped).values()]
    for row in kinds:
        row["name"] = row["kind"]
    presets = [catalog.describe(source) for source in catalog.preset_sources().values()]
    if as_json:
        sys.stdout.write(json.dumps({"kinds": kinds, "presets": presets}, indent=2) + "\n")
        return
    # One entry of two lines each, readable at any terminal width (a nine-column table is not).
    for title, rows in (("signature kinds", kinds), (f'presets ({len(presets)}): a source\'s "preset"', presets)):
        console.print(f"[bold underline]{escape(title)}[/]")
        for row in rows:
            scheme = " ".join(part for part in (row["algorithm"], row["encoding"]) if part)
            header = " or ".join([row["header"], *row["alternative_headers"][:1]])
            if len(row["alternative_headers"]) > 1:
                header = f"{row['header']} … {row['alternative_headers'][-1]}"
            details = [f"{header}: {scheme}" + (f" of {row['signed']}" if row["signed"] else "")]
            if row["timestamp"]:
                details.append(f"timestamp {row['timestamp']} ±{row['tolerance_seconds']} s")
            if row["handshake"]:
                details.append(f"answers {row['handshake']}")
            if row["reply"]:
                details.append(f"replies {row['reply']}")
            details.append(f"{row['body']} bodies; dedupe: {row['dedupe']}")
            console.print(
                f"[bold]{escape(row['name'])}[/] [dim]({escape(row['kind'])})[/]  " + escape("; ".join(details))
            )
            if row["notes"]:
                console.print(f"    {escape(row['notes'])}", soft_wrap=True)
            secondary = " [yellow](follows a secondary source)[/]" if row["source"] == "secondary" else ""
            console.print(f"    [dim]{escape(row['docs'])}[/]{secondary}", soft_wrap=True)
        console.print()
