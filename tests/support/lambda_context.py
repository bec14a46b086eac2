"""Lambda contexts for tests: the local stack's own model (webhooks_cli.local.runtime),
whose remaining time counts down as the real one does."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from webhooks_cli.local.runtime import LambdaContext

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext as PowertoolsLambdaContext


def lambda_context(remaining_millis: int = 30_000, function_name: str = "test-function") -> PowertoolsLambdaContext:
    """A context with `remaining_millis` left now (default: the processor's 30 s timeout).
    Typed as Powertools' context, whose attributes it has."""
    return cast("PowertoolsLambdaContext", LambdaContext(function_name, remaining_millis / 1000))
