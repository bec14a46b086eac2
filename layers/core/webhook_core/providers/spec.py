"""A kind: its signature scheme and where its events keep their facts."""

from __future__ import annotations

from dataclasses import dataclass

from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    kind: str
    scheme: SignatureScheme
    fields: EventFields
    docs: str = ""
