"""`webhooks inspect`: the inspector page on 127.0.0.1, for the local stack or a deployed
one (`--stack NAME`, with the operator's own AWS credentials): nothing is exposed beyond
this machine. `webhooks dev` serves the same page itself."""

from __future__ import annotations

import threading

import click
from rich.markup import escape

from webhooks_cli.commands_ops import TargetChoice, aws_errors, console, target_options
from webhooks_cli.errors import CliError
from webhooks_cli.project import Project


@click.command()
@click.option("--port", default=3100, show_default=True, help="Port of the page on 127.0.0.1 (0 picks a free one).")
@click.option("--for", "for_seconds", type=click.FloatRange(0), help="Stop after this many seconds.")
@target_options
@aws_errors
def inspect(port: int, for_seconds: float | None, target_choice: TargetChoice) -> None:
    """Serve the inspector page: deliveries, events, rejected requests and dead letters,
    with replay buttons (each asks first). Ctrl-C stops it."""
    from webhooks_cli.apidocs import ApiDocs  # noqa: PLC0415 - loaded only here
    from webhooks_cli.inspector.server import Inspector  # noqa: PLC0415 - its templates load only here
    from webhooks_cli.operations import StackOperations  # noqa: PLC0415

    project = Project.locate()
    target = target_choice.resolve(project)
    document = project.root / "openapi.json"
    docs = ApiDocs(document) if document.is_file() else None
    try:
        inspector = Inspector(StackOperations(target, project), port=port, docs=docs)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): try --port {port + 1}") from None
    inspector.start()
    console.print(f"inspector: {escape(inspector.login_url)}  ({target.description}; Ctrl-C stops it)")
    if docs is not None:
        console.print(f"api docs: {inspector.url}docs/")
    try:
        threading.Event().wait(for_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        inspector.stop()
    console.print("stopped")
