"""The handler registry: the API business code is written against.

    from webhook_core.registry import Event, on

    @on("stripe", "invoice.paid", payload=StripeEvent[Invoice])
    def record_payment(event: Event[StripeEvent[Invoice]]) -> None:
        ...

A handler is registered for a name and an event type; either may be "*". The name
is a source (the last segment of its URL), a preset or a kind. For each delivery the
most specific registration runs, and only that one:

    1. (source, type)   2. (source, "*")
    3. (preset, type)   4. (preset, "*")
    5. (kind, type)     6. (kind, "*")
    7. ("*", type)      8. ("*", "*")

So `@on("linear", "Issue")` runs for a source named or preset `linear`, and a handler
for source `acme` never runs for another source of acme's kind, while `@on("hmac")`
stays the fallback for every hmac source without a handler of its own.

A handler receives an `Event`: the envelope, the payload parsed into its model, and
the out-of-order guard. Raising fails the record: SQS retries it alone, and after
MaxReceiveCount receives it lands in the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from webhook_core.envelope import Envelope

P = TypeVar("P")
WILDCARD = "*"


class Ordering(Protocol):
    """What the out-of-order guard needs (webhook_core.ordering.OrderingMarks)."""

    def apply_if_newer(self, source: str, resource_id: str, event_time: datetime, envelope_id: str) -> bool: ...


class UnknownOrderError(ValueError):
    """The event has no resource id or no time to order it by."""


@dataclass(frozen=True)
class Event(Generic[P]):
    envelope: Envelope
    payload: P
    ordering: Ordering
    on_stale: Callable[[Envelope], None] = lambda envelope: None

    def is_newest(self, resource_id: str | None = None, occurred_at: datetime | None = None) -> bool:
        """True when this event is newer than (or as new as) the last one applied
        to the resource, and marks it applied; False when it is stale and should
        be skipped. Defaults to the envelope's resource_id and occurred_at."""
        resource = resource_id or self.envelope.resource_id
        when = occurred_at or self.envelope.occurred_at
        if not resource or when is None:
            raise UnknownOrderError(f"{self.envelope.id} has no resource id or time to order by")
        newest = self.ordering.apply_if_newer(self.envelope.source, resource, when, self.envelope.id)
        if not newest:
            self.on_stale(self.envelope)
        return newest


Handler = Callable[[Event[Any]], None]


@dataclass(frozen=True)
class Registration:
    name: str  # a source, a preset or a kind, or "*"
    event_type: str
    function: Handler
    payload: type[BaseModel] | None

    def parse(self, envelope: Envelope) -> Any:
        """The payload as the handler wants it: its model, else the parsed body (decoded
        JSON, or a form post's parameters)."""
        if self.payload is not None and envelope.body_format == "json":
            return self.payload.model_validate_json(envelope.raw_body())
        document = envelope.document()
        return document if self.payload is None else self.payload.model_validate(document)


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Registration] = {}

    def on(
        self, name: str, event_type: str = WILDCARD, *, payload: type[BaseModel] | None = None
    ) -> Callable[[Handler], Handler]:
        """Register a handler for `name` (a source, a preset or a kind, or "*") and an event type."""

        def register(function: Handler) -> Handler:
            key = (name, event_type)
            if key in self._handlers:
                existing = self._handlers[key].function
                raise ValueError(f"{name}/{event_type} already has a handler: {describe(existing)}")
            self._handlers[key] = Registration(name, event_type, function, payload)
            return function

        return register

    def find(self, event_type: str, *, source: str, kind: str, preset: str | None = None) -> Registration | None:
        """The most specific registration for a delivery of `source` (made from `preset`, of
        `kind`): the source's, then the preset's, then the kind's, each for the exact type
        before "*"; then any name for the exact type, then ("*", "*")."""
        names = [source, *([preset] if preset else []), kind, WILDCARD]
        for name in names:
            for key in ((name, event_type), (name, WILDCARD)):
                if key in self._handlers:
                    return self._handlers[key]
        return None

    def unmatched(self, names: Iterable[str]) -> list[Registration]:
        """The registrations whose name is none of `names` (the configured sources, their
        presets and kinds) and not "*": they can never run."""
        known = {*names, WILDCARD}
        return [registration for registration in self._handlers.values() if registration.name not in known]

    def registrations(self) -> list[Registration]:
        """Every registration, in the order they were made."""
        return list(self._handlers.values())

    def clear(self) -> None:
        """Forget every handler (the local stack reloads edited handler modules)."""
        self._handlers.clear()

    def __len__(self) -> int:
        return len(self._handlers)


def describe(function: Handler) -> str:
    """A handler as a person finds it: module.function."""
    return f"{function.__module__}.{function.__name__}"


# The registry the deployed processor uses; handler modules register into it with @on.
default_registry = HandlerRegistry()
on = default_registry.on
