from __future__ import annotations

from typing import Any

import pytest

from webhook_core.registry import Event, HandlerRegistry


def handler(name: str) -> Any:
    def handle(event: Event[Any]) -> None:
        return None

    handle.__name__ = name
    return handle


# Deliveries as (source, preset, kind, type): sources of one kind, with and without a preset.
LINEAR_ISSUE = ("linear", "linear", "hmac", "Issue")
LINEAR_COMMENT = ("linear", "linear", "hmac", "Comment")
LINEAR_STAGING_ISSUE = ("linear-staging", "linear", "hmac", "Issue")
ACME_ISSUE = ("acme", None, "hmac", "Issue")
OTHER_HMAC_ISSUE = ("other", None, "hmac", "Issue")
OTHER_HMAC_PING = ("other", None, "hmac", "ping")
STRIPE_PING = ("stripe", None, "stripe", "ping")
STRIPE_PAID = ("stripe", None, "stripe", "invoice.paid")


def registry_of(*registrations: tuple[str, str]) -> HandlerRegistry:
    """A registry with one handler per (name, type), each named after its registration."""
    registry = HandlerRegistry()
    for name, event_type in registrations:
        registry.on(name, event_type)(handler(f"{name}:{event_type}"))
    return registry


def found(registry: HandlerRegistry, delivery: tuple[str, str | None, str, str]) -> str | None:
    source, preset, kind, event_type = delivery
    registration = registry.find(event_type, source=source, preset=preset, kind=kind)
    return registration.function.__name__ if registration else None


EVERY_LEVEL = (
    ("linear", "Issue"),
    ("linear", "*"),
    ("hmac", "Issue"),
    ("hmac", "*"),
    ("*", "Issue"),
    ("*", "*"),
)


@pytest.mark.parametrize(
    ("registered", "delivery", "runs"),
    [
        # Source over preset over kind over "*"; within each, the exact type over "*".
        (EVERY_LEVEL, LINEAR_ISSUE, "linear:Issue"),
        (EVERY_LEVEL, LINEAR_COMMENT, "linear:*"),
        (EVERY_LEVEL[2:], LINEAR_ISSUE, "hmac:Issue"),
        (EVERY_LEVEL[3:], LINEAR_ISSUE, "hmac:*"),
        (EVERY_LEVEL[4:], LINEAR_ISSUE, "*:Issue"),
        (EVERY_LEVEL[5:], LINEAR_ISSUE, "*:*"),
        # "linear" names the preset too: another source made from it gets the handler.
        (EVERY_LEVEL, LINEAR_STAGING_ISSUE, "linear:Issue"),
        # The source's own handler beats its preset's, even for "*" against an exact type.
        ((("linear-staging", "*"), ("linear", "Issue")), LINEAR_STAGING_ISSUE, "linear-staging:*"),
        # The preset's "*" beats the kind's exact type.
        ((("linear", "*"), ("hmac", "Issue")), LINEAR_ISSUE, "linear:*"),
        # A handler for source acme runs for acme only; the kind's handler is everyone else's.
        ((("acme", "Issue"), ("hmac", "Issue")), ACME_ISSUE, "acme:Issue"),
        ((("acme", "Issue"), ("hmac", "Issue")), OTHER_HMAC_ISSUE, "hmac:Issue"),
        ((("acme", "Issue"),), OTHER_HMAC_ISSUE, None),
        ((("acme", "Issue"),), LINEAR_ISSUE, None),
        # A kind's handler stays the fallback of every source of the kind.
        ((("hmac", "*"),), OTHER_HMAC_PING, "hmac:*"),
        # ("*", type) and ("*", "*") come last, after every named registration.
        ((("*", "ping"), ("stripe", "*")), STRIPE_PING, "stripe:*"),
        ((("*", "ping"), ("*", "*")), STRIPE_PING, "*:ping"),
        ((("*", "ping"), ("*", "*")), STRIPE_PAID, "*:*"),
        ((("github", "*"),), STRIPE_PAID, None),
    ],
)
def test_the_most_specific_registration_wins(
    registered: tuple[tuple[str, str], ...], delivery: tuple[str, str | None, str, str], runs: str | None
) -> None:
    assert found(registry_of(*registered), delivery) == runs


def test_a_handler_for_the_linear_preset_runs_for_a_linear_delivery_not_the_kinds() -> None:
    """`@on("linear", "Issue")` used to be looked up by kind only, so it never ran (linear is hmac)."""
    registry = registry_of(("linear", "Issue"), ("hmac", "Issue"))
    assert found(registry, LINEAR_ISSUE) == "linear:Issue"
    assert found(registry, ACME_ISSUE) == "hmac:Issue"


def test_registrations_naming_no_configured_source_preset_or_kind_are_unmatched() -> None:
    registry = registry_of(("linear", "Issue"), ("acme", "*"), ("hmac", "*"), ("*", "ping"), ("lineer", "Issue"))
    configured = {"acme", "hmac", "other", "linear"}  # source names, their presets and kinds
    assert [registration.function.__name__ for registration in registry.unmatched(configured)] == ["lineer:Issue"]


def test_nothing_registered_finds_nothing() -> None:
    assert HandlerRegistry().find("invoice.paid", source="stripe", kind="stripe") is None


def test_registering_the_same_pair_twice_is_refused_naming_the_first() -> None:
    registry = HandlerRegistry()
    registry.on("stripe", "invoice.paid")(handler("first"))
    with pytest.raises(ValueError, match=r"stripe/invoice.paid already has a handler: .*first"):
        registry.on("stripe", "invoice.paid")(handler("second"))


@pytest.mark.parametrize(
    ("body_format", "raw", "payload"),
    [
        ("form", b"Body=Hi+%26+bye&SmsStatus=received&Body=second", {"Body": "Hi & bye", "SmsStatus": "received"}),
        ("json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("raw", b"<xml>as sent</xml>", b"<xml>as sent</xml>"),
    ],
)
def test_a_handler_without_a_model_gets_the_body_parsed_as_its_kind_sends_it(
    body_format: str, raw: bytes, payload: Any
) -> None:
    from tests.support.envelopes import envelope

    registry = HandlerRegistry()
    registry.on("twilio", "received")(handler("sms"))
    registration = registry.find("received", source="twilio", kind="twilio")
    assert registration is not None
    queued = envelope("twilio", "received", raw).model_copy(update={"body_format": body_format})
    assert registration.parse(queued) == payload
