"""Lambda contexts for tests: the local stack's own model (webhooks_cli.local.runtime),
whose remaining time counts down as the real one does."""

from __future__ import annotations

from webhooks_cli.local.runtime import LambdaContext


def lambda_context(remaining_millis: int = 30_000, function_name: str = "test-function") -> LambdaContext:
    """A context with `remaining_millis` left now (default: the processor's 30 s timeout)."""
    return LambdaContext(function_name, remaining_millis / 1000)
