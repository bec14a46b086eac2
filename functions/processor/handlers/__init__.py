"""Business handlers. Each module registers functions with `@on(kind, event_type)`;
importing this package registers them all. Add a module here and import it below."""

from . import github_examples, stripe_examples

__all__ = ["github_examples", "stripe_examples"]
