"""`webhooks dlq …` and `webhooks secrets …`: operating a running stack."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from webhook_core.errors import BodyStoreError
from webhook_core.ledger import LedgerError
from webhooks_cli import devsecrets
from webhooks_cli.aws import describe
from webhooks_cli.dlq import DeadLetter, Selection, parse_since
from webhooks_cli.errors import CliError
from webhooks_cli.operations import dead_letters_of
from webhooks_cli.project import Project
from webhooks_cli.replaying import Outcome, ProgressCallback
from webhooks_cli.targets import Target, resolve
from webhooks_cli.terminal import shown

console = Console(highlight=False, soft_wrap=True)
# What `dlq show` prints of a body unless --full: a 4 MB body is no terminal's business.
SHOWN_BODY_CHARS = 20_000
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TargetChoice:
    """The target options as given; resolved only when a command needs AWS."""

    stack: str | None
    endpoint_url: str | None
    region: str | None
    profile: str | None

    def resolve(self, project: Project | None = None) -> Target:
        return resolve(
            project or Project.locate(),
            stack=self.stack,
            endpoint_url=self.endpoint_url,
            region=self.region,
            profile=self.profile,
        )


def target_options(function: F) -> F:
    """--stack, --endpoint-url, --region, --profile, handed to the command as one
    `target: TargetChoice`; the local stack when none is given."""

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        stack_name: str | None,
        endpoint_url: str | None,
        region: str | None,
        profile: str | None,
        **kwargs: Any,
    ) -> Any:
        return function(*args, target_choice=TargetChoice(stack_name, endpoint_url, region, profile), **kwargs)

    options = [
        click.option("--profile", help="AWS profile."),
        click.option("--region", help="AWS region."),
        click.option("--endpoint-url", help="Any AWS-compatible endpoint."),
        click.option("--stack", "stack_name", help="A deployed stack (resources from its CloudFormation outputs)."),
    ]
    decorated: Any = wrapper
    for option in options:
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def aws_errors(function: F) -> F:
    """An AWS failure is one line and exit 1, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise CliError(describe(exc)) from None
        except LedgerError as exc:  # the ledger's own error names only the code; the cause says more
            cause = exc.__cause__
            raise CliError(f"{exc.detail}: {describe(cause)}" if cause else exc.detail) from None

    return wrapper  # type: ignore[return-value]


def selection_options(function: F) -> F:
    options = [
        click.option("--grep", help="Only dead letters whose body contains this text."),
        click.option("--since", help="Only those that arrived since: 30m, 2h, 7d or an ISO time."),
        click.option("--type", "event_type", help="Only this event type."),
        click.option("--source", help="Only this source."),
    ]
    for option in options:
        function = option(function)
    return function


def replay_options(*, sent: str, dry_run_help: str, force_help: str) -> Callable[[F], F]:
    """The options `events replay` and `dlq replay` share: --rate (`sent` per second),
    --dry-run, --force and --yes."""
    options = [
        click.option("--yes", is_flag=True, help="Do not ask for confirmation."),
        click.option("--force", is_flag=True, help=force_help),
        click.option("--dry-run", is_flag=True, help=dry_run_help),
        click.option(
            "--rate",
            default=10.0,
            show_default=True,
            type=click.FloatRange(0.1, 10_000),
            help=f"{sent} per second.",
        ),
    ]

    def decorate(function: F) -> F:
        for option in options:
            function = option(function)
        return function

    return decorate


def _selection(
    ids: tuple[str, ...], source: str | None, event_type: str | None, since: str | None, grep: str | None
) -> Selection:
    return Selection(ids=ids, source=source, type=event_type, since=parse_since(since) if since else None, grep=grep)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


# --- dlq ----------------------------------------------------------------------------------


@click.group()
def dlq() -> None:
    """Inspect, replay and purge dead letters."""


@dlq.command("list")
@selection_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@target_options
@aws_errors
def list_(
    source: str | None,
    event_type: str | None,
    since: str | None,
    grep: str | None,
    as_json: bool,
    target_choice: TargetChoice,
) -> None:
    """List dead letters with why they failed. Leaves every one in the DLQ."""
    target = target_choice.resolve()
    letters = dead_letters_of(target).select(_selection((), source, event_type, since, grep))
    now = datetime.now(tz=UTC)
    if as_json:
        sys.stdout.write(json.dumps([letter.as_json(now) for letter in letters], indent=2) + "\n")
        return
    table = Table(title=f"{len(letters)} dead letter(s) — {target.description}", title_justify="left")
    # An envelope id is copied from here into `dlq show` and `replay`: kept whole on its line.
    longest_id = max((len(shown(letter.envelope_id)) for letter in letters), default=2)
    for column in ("message id", "envelope id", "source", "type", "status", "receives", "last failure", "age"):
        table.add_column(column, overflow="fold", min_width=min(longest_id, 100) if column == "envelope id" else None)
    for letter in letters:
        table.add_row(
            letter.message_id[:8],
            shown(letter.envelope_id),
            shown(letter.source),
            shown(letter.type),
            # The ledger's view: a letter whose event was since replayed and processed says so.
            letter.record.view() if letter.record else "?",
            str(letter.receive_count),
            shown(letter.last_error[:80]),
            _age((now - letter.sent_at).total_seconds()),
        )
    console.print(table)


@dlq.command()
@click.argument("identifier")
@click.option(
    "--full", is_flag=True, help=f"Print the whole body (otherwise its first {SHOWN_BODY_CHARS:,} characters)."
)
@target_options
@aws_errors
def show(identifier: str, full: bool, target_choice: TargetChoice) -> None:
    """Show one dead letter (by message id, its first 8 characters, or envelope id)."""
    queue = dead_letters_of(target_choice.resolve())
    letters = queue.select(Selection())
    matches = [
        letter
        for letter in letters
        if identifier in (letter.message_id, letter.envelope_id) or letter.message_id.startswith(identifier)
    ]
    if len(matches) != 1:
        raise CliError(f"{len(matches)} dead letters match {identifier!r}; give a full message or envelope id")
    _print_letter(matches[0], full=full)


def _print_letter(letter: DeadLetter, *, full: bool = False) -> None:
    envelope = letter.envelope or {}
    console.print(f"[bold]message id[/bold]   {shown(letter.message_id)}")
    console.print(f"[bold]envelope id[/bold]  {shown(letter.envelope_id)}")
    for key in ("source", "kind", "type", "received_at", "occurred_at", "resource_id"):
        if envelope.get(key):
            console.print(f"[bold]{key:<12}[/bold] {shown(_text(envelope[key]))}")
    console.print(f"[bold]receives[/bold]     {letter.receive_count}")
    record = letter.record
    if record is not None:
        console.print(f"[bold]ledger[/bold]       {record.view()} after {record.attempts} attempt(s)")
    if record is not None and record.last_error:
        when = letter.failed_at.isoformat() if letter.failed_at else "?"
        console.print(f"[bold]last failure[/bold] {shown(letter.last_error)}  ({when})")
        console.print("             (`webhooks events show` gives its whole timeline)")
    else:
        console.print("[bold]last failure[/bold] none recorded")
    headers = envelope.get("headers")
    if isinstance(headers, dict) and headers:
        console.print("[bold]headers[/bold]")
        for name, value in headers.items():
            console.print(f"  {shown(name)}: {shown(_text(value))}")
    elif headers:  # not the object the receiver writes: shown as it is
        console.print(f"[bold]headers[/bold]      {shown(_text(headers))}")
    reference = letter.body_ref
    where = f", claim-checked in the body bucket as {reference.key}" if reference else ""
    console.print(
        f"[bold]body[/bold]         {reference.size if reference else len(letter.body):,} bytes{where}"
        if reference
        else "[bold]body[/bold]"
    )
    try:
        raw = letter.raw_body()
    except BodyStoreError as exc:  # claim-checked, and the object is gone (expired or deleted)
        console.print(f"  (the claim-checked body cannot be read: {shown(exc.detail)})")
        return
    print_body(raw, full=full)


def print_body(raw: bytes, *, full: bool) -> None:
    """A body as `dlq show` and `events show` print it: JSON pretty-printed, anything else
    as text, escaped, and cut at SHOWN_BODY_CHARS unless `full`."""
    try:
        text = json.dumps(json.loads(raw), indent=2)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to pretty-print
        text = raw.decode("utf-8", "replace")
    hidden = 0 if full else max(0, len(text) - SHOWN_BODY_CHARS)
    if hidden:
        text = text[:SHOWN_BODY_CHARS]
    # Line by line, so a text body keeps its lines while a control character in one is escaped.
    console.print("\n".join(shown(line) for line in text.split("\n")))
    if hidden:
        console.print(f"… {hidden:,} more characters (--full prints them all)")


def _text(value: Any) -> str:
    """A field as stored: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@dlq.command()
@click.argument("ids", nargs=-1)
@selection_options
@replay_options(
    sent="Messages",
    dry_run_help="List what would move; change nothing.",
    force_help="Re-run envelopes whose handler already completed (reopens their ledger record: once more).",
)
@target_options
@aws_errors
def replay(
    ids: tuple[str, ...],
    source: str | None,
    event_type: str | None,
    since: str | None,
    grep: str | None,
    rate: float,
    dry_run: bool,
    force: bool,
    yes: bool,
    target_choice: TargetChoice,
) -> None:
    """Move dead letters back to the main queue: all, a filtered selection, or IDS."""
    target = target_choice.resolve()
    selection = _selection(ids, source, event_type, since, grep)
    if force and not dry_run and not yes:
        click.confirm("--force re-runs handlers that already completed. Continue?", abort=True)
    if selection.everything and not force and not dry_run and not target.local and _move_task(target, rate):
        return
    queue = dead_letters_of(target)
    with replay_progress(sent="moved", would="would move", failed_note=" (left in the DLQ)") as progress:
        report = queue.replay(selection, rate=rate, force=force, dry_run=dry_run, on_progress=progress)
    if not selection.everything and report.empty:
        asked = [*ids, *(f"{option} {value}" for option, value in _filters(source, event_type, since, grep))]
        raise CliError(f"no dead letter matches {shown(' '.join(asked))}; `webhooks dlq list` shows them")
    console.print(report.summary("would move" if dry_run else "moved"))


@contextmanager
def replay_progress(*, sent: str, would: str, failed_note: str = "") -> Iterator[ProgressCallback]:
    """A progress bar while a replay runs (on a terminal) and a line per event: what
    became of it and, when skipped or failed, why. `sent` and `would` name a send."""
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=None)

        def advance(envelope_id: str, outcome: Outcome, reason: str) -> None:
            progress.advance(task)
            if outcome == "sent":
                progress.console.print(f"{sent} {shown(envelope_id)}")
            elif outcome == "would send":
                progress.console.print(f"{would} {shown(envelope_id)}")
            else:
                note = failed_note if outcome == "failed" else ""
                progress.console.print(f"{outcome} {shown(envelope_id)}: {shown(reason)}{note}")

        yield advance


def _filters(source: str | None, event_type: str | None, since: str | None, grep: str | None) -> list[tuple[str, str]]:
    """The filter options given, as typed."""
    given = (("--source", source), ("--type", event_type), ("--since", since), ("--grep", grep))
    return [(option, value) for option, value in given if value]


def _move_task(target: Target, rate: float) -> bool:
    """Replay everything with SQS's own message-move task; False if the endpoint has none."""
    sqs = target.client("sqs")
    try:
        handle = sqs.start_message_move_task(
            SourceArn=target.resources.dead_letter_queue_arn,
            DestinationArn=target.resources.queue_arn,
            MaxNumberOfMessagesPerSecond=max(1, int(rate)),
        )["TaskHandle"]
    except (ClientError, BotoCoreError, NotImplementedError):
        return False
    console.print(f"SQS message-move task started ({handle[:16]}…)")
    import time

    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=target.resources.dead_letter_queue_arn, MaxResults=1)["Results"]
        current = tasks[0] if tasks else {}
        status = current.get("Status", "UNKNOWN")
        moved = current.get("ApproximateNumberOfMessagesMoved", 0)
        console.print(f"  {status}: {moved} moved of {current.get('ApproximateNumberOfMessagesToMove', '?')}")
        if status in {"COMPLETED", "FAILED", "CANCELLED"}:
            if status != "COMPLETED":
                raise CliError(f"the message-move task ended {status}: {current.get('FailureReason', '')}")
            console.print(f"moved {moved}, skipped 0, failed 0")
            return True
        time.sleep(2)


@dlq.command()
@click.argument("ids", nargs=-1)
@selection_options
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@target_options
@aws_errors
def purge(
    ids: tuple[str, ...],
    source: str | None,
    event_type: str | None,
    since: str | None,
    grep: str | None,
    dry_run: bool,
    yes: bool,
    target_choice: TargetChoice,
) -> None:
    """Delete dead letters for good: all, a filtered selection, or IDS."""
    target = target_choice.resolve()
    selection = _selection(ids, source, event_type, since, grep)
    queue = dead_letters_of(target)
    chosen = queue.select(selection)
    if not chosen:
        console.print("nothing to purge")
        return
    if dry_run:
        for letter in chosen:
            console.print(f"would delete {shown(letter.envelope_id)}")
        console.print(f"would delete {len(chosen)}")
        return
    if not yes:
        click.confirm(f"Delete {len(chosen)} dead letter(s) from {target.description} for good?", abort=True)
    deleted = queue.purge(selection)
    console.print(f"deleted {len(deleted)}")


# --- secrets --------------------------------------------------------------------------------


@click.group()
def secrets() -> None:
    """Rotate and inspect the source secrets (values are never printed)."""


@secrets.command("set")
@click.argument("source")
@click.argument("secret", required=False)
@click.option("--keep-old", is_flag=True, help="Keep the previous secret(s) active while the provider switches over.")
@target_options
@aws_errors
def set_(
    source: str,
    secret: str | None,
    keep_old: bool,
    target_choice: TargetChoice,
) -> None:
    """Put SECRET first in SOURCE's list (read from standard input when omitted or '-').

    SOURCE may name a source's GET-check token instead, e.g. `meta/verify_token`."""
    from webhook_core.sources import load_sources

    project = Project.locate()
    sources = load_sources(project.sources_file)
    # `meta/verify_token`: a source's GET-check token, kept beside its signing secrets.
    name, _, token = source.partition("/")
    if name not in sources:
        raise CliError(f"no source {name!r} in {project.sources_file.name}; sources: {', '.join(sources)}")
    check = sources[name].spec.get_check
    if token and (check is None or check.token != token):
        expected = f"{name}/{check.token}" if check is not None and check.token else None
        raise CliError(f"source {name!r} has no {token!r}" + (f"; did you mean {expected}?" if expected else ""))
    if secret in (None, "-"):
        secret = sys.stdin.readline().strip()
    if not secret:
        raise CliError("the secret is empty")
    if not token and sources[name].spec.scheme.derive_keys([secret])[0] is None:
        raise CliError(f"that is not a secret of kind {sources[name].kind!r}: {_secret_format(sources[name].kind)}")

    target = target_choice.resolve(project)
    client = target.client("secretsmanager")
    document = _secret_document(client, target.resources.secret_id)
    # Only this entry is rewritten (a plain string becomes a list); every other one is
    # another source's, in whatever form the receiver accepts, and goes back unchanged.
    previous = [item for item in devsecrets.active_secrets(document.get(source)) if item != secret]
    document[source] = [secret, *previous] if keep_old else [secret]
    client.put_secret_value(SecretId=target.resources.secret_id, SecretString=json.dumps(document))
    if target.local:
        devsecrets.save(project.dev_secrets_file, document)
    kept = f", keeping {len(previous)} older" if keep_old and previous else ""
    console.print(
        f"{source}: new secret first{kept}; {len(document[source])} active. Receivers pick it up within a minute."
    )


@secrets.command("list")
@target_options
@aws_errors
def list_secrets(target_choice: TargetChoice) -> None:
    """Each source and how many secrets it has (never the values)."""
    from webhook_core.sources import load_sources

    project = Project.locate()
    target = target_choice.resolve(project)
    document = _secret_document(target.client("secretsmanager"), target.resources.secret_id)
    table = Table(title=f"source secrets — {target.description}", title_justify="left")
    table.add_column("source")
    table.add_column("kind")
    table.add_column("active secrets", justify="right")
    sources = load_sources(project.sources_file)
    for name in sorted(set(sources) | set(document)):
        count = len(devsecrets.active_secrets(document.get(name)))
        kind = sources[name].kind if name in sources else "(not in sources.json)"
        table.add_row(name, kind, str(count) if count else "[red]0: answers 503[/red]")
    console.print(table)


def _secret_format(kind: str) -> str:  # noqa: PLR0911 - one form per provider's secret
    """What a secret of `kind` looks like, for the error that refuses one."""
    if kind == "ed25519":
        return (
            "an Ed25519 source takes the provider's public key, 32 bytes in its key encoding (hex by default); "
            "a key of small order is refused, since anyone could forge signatures for it"
        )
    if kind in {"standard", "svix"}:
        return "Standard Webhooks and Svix secrets are whsec_ followed by base64"
    if kind == "sendgrid":
        return "a SendGrid source takes the account's verification key, a public key (base64 DER)"
    if kind == "sns":
        return "an SNS source takes a TopicArn it accepts"
    if kind == "paypal":
        return "a PayPal source takes a webhook ID it accepts"
    if kind == "adyen":
        return "an Adyen source takes the webhook's HMAC key, hexadecimal as the Customer Area shows it"
    if kind == "braintree":
        return "a Braintree source takes an API private key"
    return "it does not decode as this source's key_format says"


@secrets.command("captured")
@click.argument("source")
@click.option("--reset", is_flag=True, help="Forget it, so the provider's next setup request is kept instead.")
@target_options
@aws_errors
def captured(source: str, reset: bool, target_choice: TargetChoice) -> None:
    """Show the secret SOURCE's provider handed over at setup (Notion's verification_token,
    Asana's X-Hook-Secret), kept by the receiver, first one wins; or --reset it.

    Notion: paste it into Notion to verify the subscription, then `webhooks secrets set
    SOURCE -` with it. Asana: it verifies SOURCE's deliveries until a secret is set. If
    Notion refuses it, or Asana's webhook could not be made, someone else's came first:
    --reset, then have the provider send its own again."""
    from webhook_core.captured import CapturedSecrets
    from webhook_core.sources import load_sources

    project = Project.locate()
    sources = load_sources(project.sources_file)
    if source not in sources:
        raise CliError(f"no source {source!r} in {project.sources_file.name}; sources: {', '.join(sources)}")
    if sources[source].spec.setup_capture is None:
        raise CliError(f"source {source!r} keeps no setup secret (only Notion- and Asana-style sources do)")
    target = target_choice.resolve(project)
    store = CapturedSecrets(target.resources.ledger_table, client=target.client("dynamodb"))
    if reset:
        forgotten = store.forget(source)
        console.print(f"{source}: " + ("forgotten; the next one handed over is kept" if forgotten else "none kept"))
        return
    secret = store.get(source)
    if secret is None:
        raise CliError(f"{source}: nothing handed over yet (create the subscription at the provider)")
    # Asked for by name, to the operator's own terminal: the one place this value is shown.
    sys.stdout.write(secret + "\n")


def _secret_document(client: Any, secret_id: str) -> dict[str, Any]:
    """The source secrets document exactly as stored: entries in any form stay as they are."""
    value = client.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
    try:
        document = json.loads(value)
    except ValueError:
        raise CliError("the source secrets are not a JSON object; fix them in Secrets Manager") from None
    if not isinstance(document, dict):
        raise CliError("the source secrets are not a JSON object; fix them in Secrets Manager")
    return document
