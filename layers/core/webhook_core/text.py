"""Text that must survive SQS and DynamoDB: what a sender put in a header or a JSON
string can hold lone surrogates (JSON's `\\ud800`), U+FFFE/U+FFFF or control
characters, which SQS refuses in a message or an attribute, every time: a send
that fails on such a character would fail on every retry."""

from __future__ import annotations

REPLACEMENT = "\ufffd"


def _carried(character: str) -> bool:
    # XML 1.0's characters: what SQS accepts in message bodies and attributes.
    code = ord(character)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def sqs_safe(text: str) -> bool:
    """Whether SQS can carry `text` as it is."""
    if text.isascii() and text.isprintable():  # the common case, without a loop in Python
        return True
    return all(_carried(character) for character in text)


def without_unsafe(text: str) -> str:
    """`text` with each character SQS cannot carry replaced by U+FFFD (for values that
    are shown, never used as keys)."""
    if sqs_safe(text):
        return text
    return "".join(character if _carried(character) else REPLACEMENT for character in text)


def sent_bytes(text: str) -> bytes:
    """What a sender sent, as bytes to sign or compare: a lone surrogate (JSON's \\ud800
    escape, in a header or a query) must make a comparison fail, never raise."""
    return text.encode("utf-8", "surrogatepass")
