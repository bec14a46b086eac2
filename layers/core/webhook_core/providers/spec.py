"""A kind: its signature scheme, where its events keep their facts, and the
handshake its provider expects (if any)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import Scheme

# Given the verified body (parsed JSON, or None) and the key that verified it,
# the JSON to answer with when the delivery is the provider's handshake, else None.
Handshake = Callable[[Any, bytes], dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    kind: str
    scheme: Scheme
    fields: EventFields
    docs: str = ""
    handshake: Handshake | None = None
