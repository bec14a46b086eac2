"""`webhooks rejected list|show|replay`: the signature debugger (README, "The signature
debugger"). The receiver keeps requests it answered 401 for their signature; these
commands read them, say why each failed (webhook_core.diagnosis, run here and now
against the current secrets, never on the receiver's hot path) and accept one once
its cause is fixed."""

from __future__ import annotations

import json
import sys

import click
from rich.table import Table

from webhooks_cli.commands_ops import (
    SHOWN_BODY_CHARS,
    TargetChoice,
    aws_errors,
    console,
    target_options,
)
from webhooks_cli.dlq import parse_since
from webhooks_cli.project import Project
from webhooks_cli.rejections import Rejections, body_text, header_value, skew_text
from webhooks_cli.terminal import shown

# What `rejected show` prints of a body unless --full.
SHOWN_REJECTED_BODY_CHARS = min(SHOWN_BODY_CHARS, 4_000)


def _rejections(target_choice: TargetChoice) -> Rejections:
    project = Project.locate()
    return Rejections(target_choice.resolve(project), project)


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
    rejections = _rejections(target_choice)
    requests = rejections.newest(source=source, since=parse_since(since) if since else None, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps([request.summary() for request in requests], indent=2) + "\n")
        return
    title = f"{len(requests)} rejected request(s) — {rejections.target.description}"
    table = Table(title=title, title_justify="left")
    # An id is copied from here into `rejected show` and `replay`: kept whole on its line.
    longest_id = max((len(shown(request.id)) for request in requests), default=2)
    for column in ("id", "received", "source", "reason", "skew", "size"):
        table.add_column(column, overflow="fold", min_width=min(longest_id, 100) if column == "id" else None)
    for request in requests:
        table.add_row(
            shown(request.id),
            request.received_time.strftime("%Y-%m-%d %H:%M:%S"),
            shown(request.source),
            shown(request.reason + (f" (since accepted as {request.accepted_as})" if request.accepted_as else "")),
            skew_text(request),
            f"{request.body_size:,}",
        )
    console.print(table)


@rejected.command("show")
@click.argument("request_id")
@click.option("--full", is_flag=True, help="Print the whole kept body.")
@target_options
@aws_errors
def show_rejected(request_id: str, full: bool, target_choice: TargetChoice) -> None:
    """Show one kept rejected request and why it fails, diagnosed now with the current secrets."""
    rejections = _rejections(target_choice)
    request = rejections.get(request_id)
    console.print(f"[bold]id[/bold]          {shown(request.id)}")
    console.print(f"[bold]received[/bold]    {request.received_time.isoformat()}")
    console.print(f"[bold]source[/bold]      {shown(request.source)}")
    if request.source_ip:
        console.print(f"[bold]from[/bold]        {shown(request.source_ip)}")
    skew = f" (skew {skew_text(request)})" if request.skew_seconds is not None else ""
    console.print(f"[bold]reason[/bold]      {shown(request.reason)}{skew}")
    if request.accepted_as:
        console.print(f"[bold]accepted[/bold]    since, by a replay, as {shown(request.accepted_as)}")
    explained = rejections.explain(request)
    console.print(f"[bold]diagnosis[/bold]   {shown(explained.text)}")
    if explained.verifies:
        console.print("            `webhooks rejected replay` accepts it now")
    console.print("[bold]headers[/bold]")
    for name, value in sorted(request.headers.items()):
        console.print(f"  {shown(name)}: {shown(header_value(name, value))}")
    for name, value in sorted(request.query.items()):
        console.print(f"  ?{shown(name)}={shown(header_value(name, value))}")
    cut = f", kept cut at {len(request.body):,} (cannot be re-verified)" if request.body_cut else ""
    console.print(f"[bold]body[/bold]        {request.body_size:,} bytes{cut}")
    body = body_text(request)
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
    console.print(shown(_rejections(target_choice).replay(request_id).sentence()))
