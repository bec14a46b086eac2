"""`webhooks rejected list|show|replay`: the signature debugger (README, "The signature
debugger"). The receiver keeps requests it answered 401 for their signature; these
commands read them, say why each failed (webhook_core.diagnosis, run here and now
against the current secrets, never on the receiver's hot path) and accept one once
its cause is fixed."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from rich.table import Table

from webhook_core.body_store import S3BodyStore
from webhook_core.captured import CapturedSecrets
from webhook_core.diagnosis import Diagnosis, diagnose
from webhook_core.errors import DeliveryInProgressError, SignatureError, SourceUnavailableError, WebhookError
from webhook_core.ledger import DynamoDBLedger
from webhook_core.providers.spec import HandshakeReply
from webhook_core.queue import EnvelopeQueue
from webhook_core.receiving import Delivery, Receiver
from webhook_core.rejected import AwsRejectedRequests, RejectedRequest
from webhook_core.secrets import SourceSecrets
from webhook_core.settings import MAX_BODY_LIMIT
from webhook_core.sources import Source, load_sources
from webhooks_cli.commands_ops import (
    SHOWN_BODY_CHARS,
    TargetChoice,
    aws_errors,
    console,
    target_options,
)
from webhooks_cli.dlq import parse_since
from webhooks_cli.errors import CliError
from webhooks_cli.project import Project
from webhooks_cli.terminal import shown

if TYPE_CHECKING:
    from webhooks_cli.targets import Target

# Headers whose value is (or carries) a signature or credential: shown cut to this many characters.
SIGNATURE_HEADER = re.compile(r"sig|hmac|auth|token|secret|x-hub|verif|key", re.IGNORECASE)
SHOWN_SIGNATURE_CHARS = 10
# What `rejected show` prints of a body unless --full.
SHOWN_REJECTED_BODY_CHARS = min(SHOWN_BODY_CHARS, 4_000)


def _store(target: Target) -> AwsRejectedRequests:
    resources = target.resources
    return AwsRejectedRequests(
        resources.ledger_table,
        resources.body_bucket,
        dynamodb=target.client("dynamodb"),
        s3_factory=lambda: target.client("s3"),
    )


def _skew(request: RejectedRequest) -> str:
    return "" if request.skew_seconds is None else f"{request.skew_seconds:+.0f}s"


@click.group()
def rejected() -> None:
    """Requests refused for their signature (401): why, and accept one once fixed."""


@rejected.command("list")
@click.option("--source", help="Only this source.")
@click.option("--since", help="Only those received since: 30m, 2h, 7d or an ISO time.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="The newest this many.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@target_options
@aws_errors
def list_rejected(
    source: str | None, since: str | None, limit: int, as_json: bool, target_choice: TargetChoice
) -> None:
    """List kept rejected requests: time, source, reason, skew, size (oldest first)."""
    target = target_choice.resolve()
    store = _store(target)
    ids = store.ids(source=source, since=parse_since(since) if since else None)[-limit:]
    requests = [request for request in (store.get(request_id) for request_id in ids) if request is not None]
    if as_json:
        sys.stdout.write(json.dumps([request.summary() for request in requests], indent=2) + "\n")
        return
    table = Table(title=f"{len(requests)} rejected request(s) — {target.description}", title_justify="left")
    for column in ("id", "received", "source", "reason", "skew", "size"):
        table.add_column(column, overflow="fold")
    for request in requests:
        table.add_row(
            shown(request.id),
            request.received_time.strftime("%Y-%m-%d %H:%M:%S"),
            shown(request.source),
            shown(request.reason),
            _skew(request),
            f"{request.body_size:,}",
        )
    console.print(table)


def _kept(target: Target, request_id: str) -> RejectedRequest:
    request = _store(target).get(request_id)
    if request is None:
        raise CliError(f"no rejected request {request_id!r} is kept (they expire); `webhooks rejected list` shows them")
    return request


def _source(project: Project, request: RejectedRequest) -> Source:

    sources = load_sources(project.sources_file)
    if request.source not in sources:
        raise CliError(f"source {request.source!r} is no longer in {project.sources_file.name}")
    return sources[request.source]


def _secrets(target: Target, source: str) -> tuple[str, ...]:

    store = SourceSecrets(target.resources.secret_id, max_age_seconds=0, client=target.client("secretsmanager"))
    return store.for_source(source)


def _diagnosis(target: Target, source: Source, request: RejectedRequest) -> Diagnosis | str:

    try:
        secrets = _secrets(target, source.name)
    except SourceUnavailableError:
        return "the source has no secret now: `webhooks secrets set` one"
    return diagnose(source, secrets, request)


def _header_value(name: str, value: str) -> str:
    if SIGNATURE_HEADER.search(name) and len(value) > SHOWN_SIGNATURE_CHARS:
        return f"{value[:SHOWN_SIGNATURE_CHARS]}… ({len(value)} characters)"
    return value


@rejected.command("show")
@click.argument("request_id")
@click.option("--full", is_flag=True, help="Print the whole kept body.")
@target_options
@aws_errors
def show_rejected(request_id: str, full: bool, target_choice: TargetChoice) -> None:
    """Show one kept rejected request and why it fails, diagnosed now with the current secrets."""
    project = Project.locate()
    target = target_choice.resolve(project)
    request = _kept(target, request_id)
    console.print(f"[bold]id[/bold]          {shown(request.id)}")
    console.print(f"[bold]received[/bold]    {request.received_time.isoformat()}")
    console.print(f"[bold]source[/bold]      {shown(request.source)}")
    if request.source_ip:
        console.print(f"[bold]from[/bold]        {shown(request.source_ip)}")
    skew = f" (skew {_skew(request)})" if request.skew_seconds is not None else ""
    console.print(f"[bold]reason[/bold]      {shown(request.reason)}{skew}")
    source = _source(project, request)
    diagnosis = _diagnosis(target, source, request)
    text = diagnosis if isinstance(diagnosis, str) else diagnosis.explanation()
    console.print(f"[bold]diagnosis[/bold]   {shown(text)}")
    if not isinstance(diagnosis, str) and diagnosis.verifies:
        console.print("            `webhooks rejected replay` accepts it now")
    console.print("[bold]headers[/bold]")
    for name, value in sorted(request.headers.items()):
        console.print(f"  {shown(name)}: {shown(_header_value(name, value))}")
    for name, value in sorted(request.query.items()):
        console.print(f"  ?{shown(name)}={shown(_header_value(name, value))}")
    cut = f", kept cut at {len(request.body):,} (cannot be re-verified)" if request.body_cut else ""
    console.print(f"[bold]body[/bold]        {request.body_size:,} bytes{cut}")
    try:
        body = json.dumps(json.loads(request.body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON (or cut): as text
        body = request.body.decode("utf-8", "replace")
    hidden = 0 if full else max(0, len(body) - SHOWN_REJECTED_BODY_CHARS)
    if hidden:
        body = body[:SHOWN_REJECTED_BODY_CHARS]
    console.print("\n".join(shown(line) for line in body.split("\n")))
    if hidden:
        console.print(f"… {hidden:,} more characters (--full prints them all)")


@rejected.command("replay")
@click.argument("request_id")
@target_options
@aws_errors
def replay_rejected(request_id: str, target_choice: TargetChoice) -> None:
    """Verify a kept request again at its original receive time with the source's
    current secrets; if it verifies now, accept it once through the normal path
    (ledger claim and queue: replaying it again is a duplicate). If not, say why."""

    project = Project.locate()
    target = target_choice.resolve(project)
    request = _kept(target, request_id)
    source = _source(project, request)
    if request.body_cut:
        raise CliError(
            f"{request.id}: only {len(request.body):,} of its {request.body_size:,} bytes were kept; "
            "it cannot be verified again (the provider's own retry or resend is the way)"
        )
    resources = target.resources
    dynamodb = target.client("dynamodb")
    retention_days = int(project.parameter_default("RetentionDays"))
    receiver = Receiver(
        sources={source.name: source},
        secrets=SourceSecrets(resources.secret_id, max_age_seconds=0, client=target.client("secretsmanager")),
        ledger=DynamoDBLedger(resources.ledger_table, retention_seconds=retention_days * 86_400, client=dynamodb),
        queue=EnvelopeQueue(
            resources.queue_url,
            client=target.client("sqs"),
            bodies=S3BodyStore(resources.body_bucket, client_factory=lambda: target.client("s3")),
        ),
        max_body_bytes=MAX_BODY_LIMIT,
        # Verified as of when it arrived: a timestamp that was in tolerance then still is,
        # one that was not still is not.
        clock=lambda: request.received_at,
        captured=CapturedSecrets(resources.ledger_table, client=dynamodb),
    )
    delivery = Delivery(
        source=request.source,
        headers=request.headers,
        body=request.body,
        query=request.query,
        source_ip=request.source_ip,  # the source's allowed_ips, checked as when it arrived
    )
    try:
        with _without_metrics():
            outcome = receiver.accept(delivery)
    except SignatureError:
        diagnosis = _diagnosis(target, source, request)
        text = diagnosis if isinstance(diagnosis, str) else diagnosis.explanation()
        raise CliError(f"{request.id} still does not verify: {text}") from None
    except DeliveryInProgressError:
        raise CliError(f"{request.id}: its event is still being accepted; run this again shortly") from None
    except WebhookError as exc:
        raise CliError(f"{request.id} was not accepted: {exc.detail}") from None
    if isinstance(outcome, HandshakeReply):
        console.print(f"{shown(request.id)}: a provider handshake, answered; nothing queued")
        return
    if outcome.duplicate:
        console.print(
            f"{shown(request.id)}: duplicate of {shown(outcome.envelope_id)}, already accepted; nothing queued"
        )
        return
    console.print(f"{shown(request.id)}: accepted as {shown(outcome.envelope_id)} and queued")


@contextmanager
def _without_metrics() -> Iterator[None]:
    """The receiver's code runs here in a tool: it publishes no CloudWatch metrics, so
    their blobs never reach the command's output (restored after, for whoever runs next)."""
    previous = os.environ.get(METRICS_DISABLED)
    os.environ[METRICS_DISABLED] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(METRICS_DISABLED, None)
        else:
            os.environ[METRICS_DISABLED] = previous


METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"
