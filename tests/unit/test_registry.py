from __future__ import annotations

from typing import Any

import pytest

from webhook_core.registry import Event, HandlerRegistry


def handler(name: str) -> Any:
    def handle(event: Event[Any]) -> None:
        return None

    handle.__name__ = name
    return handle


def test_the_most_specific_registration_wins() -> None:
    registry = HandlerRegistry()
    exact, any_stripe, any_kind, anything = (
        handler("exact"),
        handler("any_stripe"),
        handler("any_kind"),
        handler("anything"),
    )
    registry.on("stripe", "invoice.paid")(exact)
    registry.on("stripe")(any_stripe)
    registry.on("*", "ping")(any_kind)
    registry.on("*", "*")(anything)
    found = {
        (kind, event_type): registration.function.__name__
        for kind, event_type in [
            ("stripe", "invoice.paid"),
            ("stripe", "invoice.voided"),
            ("github", "ping"),
            ("github", "push"),
        ]
        if (registration := registry.find(kind, event_type))
    }
    assert found == {
        ("stripe", "invoice.paid"): "exact",
        ("stripe", "invoice.voided"): "any_stripe",
        ("github", "ping"): "any_kind",
        ("github", "push"): "anything",
    }


def test_nothing_registered_finds_nothing() -> None:
    assert HandlerRegistry().find("stripe", "invoice.paid") is None


def test_registering_the_same_pair_twice_is_refused_naming_the_first() -> None:
    registry = HandlerRegistry()
    registry.on("stripe", "invoice.paid")(handler("first"))
    with pytest.raises(ValueError, match=r"stripe/invoice.paid already has a handler: .*first"):
        registry.on("stripe", "invoice.paid")(handler("second"))


def test_the_shipped_examples_register_the_four_example_types() -> None:
    import importlib

    from webhook_core.registry import default_registry

    importlib.import_module("handlers")
    for kind, event_type in [
        ("stripe", "checkout.session.completed"),
        ("stripe", "invoice.payment_failed"),
        ("github", "push"),
        ("github", "pull_request"),
    ]:
        registration = default_registry.find(kind, event_type)
        assert registration is not None
        assert registration.function.__module__.startswith("handlers.")


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
    registration = registry.find("twilio", "received")
    assert registration is not None
    queued = envelope("twilio", "received", raw).model_copy(update={"body_format": body_format})
    assert registration.parse(queued) == payload
