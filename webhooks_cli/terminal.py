"""Printing what a sender controls on an operator's terminal."""

from __future__ import annotations

from rich.markup import escape


def printable(text: str) -> str:
    """`text` with each character str.isprintable() refuses shown as its Python escape
    (`\\x1b`, `\\u202e`, `\\n`): C0 and C1 controls, DEL, format characters (bidi
    overrides, zero-width), separators other than the ASCII space, unassigned and
    private-use ones. Letters, digits, symbols and emoji of every script are unchanged.

    Headers, bodies, event types and ids come from whoever sent the request: an escape
    sequence in one could retitle the terminal or clear it, a bidi override show one
    name as another. rich's `escape` handles only its markup."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def shown(text: str) -> str:
    """Text that came from a request, for console.print: control characters escaped
    for the terminal, square brackets for rich's markup."""
    return escape(printable(text))
