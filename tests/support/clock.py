"""A clock tests move by hand: the receiver reads it for signature tolerances and for how
long a claim holds (a copy arriving while the first delivery may still be sending is
answered 409; after, a duplicate)."""

from __future__ import annotations

from dataclasses import dataclass

from webhook_core.receiving import DEFAULT_IN_FLIGHT_SECONDS


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def past_the_claim(self) -> None:
        """Move past the first delivery's claim: the provider's retry of a delivery it got
        an answer for comes after that delivery's invocation ended."""
        self.advance(DEFAULT_IN_FLIGHT_SECONDS + 1)
