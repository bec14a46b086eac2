"""EXAMPLES to replace with your own business code: Stripe checkout and invoices."""

from __future__ import annotations

from webhook_core.observability import logger
from webhook_core.payloads.stripe import CheckoutSession, Invoice, StripeEvent
from webhook_core.registry import Event, on


@on("stripe", "checkout.session.completed", payload=StripeEvent[CheckoutSession])
def fulfil_checkout(event: Event[StripeEvent[CheckoutSession]]) -> None:
    session = event.payload.data.object
    if session.payment_status not in (None, "paid", "no_payment_required"):
        logger.info("checkout completed but not paid yet", extra={"session": session.id})
        return
    # Replace: grant access, ship the order, email the receipt ...
    logger.info("fulfilling checkout", extra={"session": session.id, "customer": session.customer})


@on("stripe", "invoice.payment_failed", payload=StripeEvent[Invoice])
def flag_failed_payment(event: Event[StripeEvent[Invoice]]) -> None:
    invoice = event.payload.data.object
    # Invoice events can arrive out of order; act only on the newest for this invoice.
    if not event.is_newest(resource_id=invoice.id):
        return
    # Replace: mark the subscription past due, notify the customer ...
    logger.info("payment failed", extra={"invoice": invoice.id, "attempt_count": invoice.attempt_count})
