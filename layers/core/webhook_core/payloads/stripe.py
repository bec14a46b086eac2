"""Stripe event payloads (https://docs.stripe.com/api/events/object)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class StripeEventData(_Model, Generic[T]):
    object: T


class StripeEvent(_Model, Generic[T]):
    id: str
    type: str
    created: int
    livemode: bool = False
    data: StripeEventData[T]


class CheckoutSession(_Model):
    id: str
    object: str = "checkout.session"
    customer: str | None = None
    client_reference_id: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    payment_status: str | None = None


class Invoice(_Model):
    id: str
    object: str = "invoice"
    customer: str | None = None
    subscription: str | None = None
    amount_due: int | None = None
    attempt_count: int | None = None
    status: str | None = None
