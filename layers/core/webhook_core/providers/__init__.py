"""Provider kinds: each is a `ProviderSpec` built from data; `scheme` verifies them all."""

from webhook_core.providers.fields import EventFacts, EventFields
from webhook_core.providers.scheme import SignatureScheme, Verified
from webhook_core.providers.spec import ProviderSpec

__all__ = ["EventFacts", "EventFields", "ProviderSpec", "SignatureScheme", "Verified"]
