"""The CLI's errors: each is printed as one line and exits non-zero, never a traceback."""

from __future__ import annotations

import click


class CliError(click.ClickException):
    """A problem the user can act on, said in one line."""
