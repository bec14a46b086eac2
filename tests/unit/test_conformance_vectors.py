"""The shipped conformance vectors: made by the providers' libraries (regenerated here
and compared byte for byte), covering every kind and preset, and each verdict exactly
what the verifier gives at the vector's time."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.conformance import generate
from tests.conformance.vectors import VECTORS, body_of, load_all, query_of
from webhook_core.errors import SignatureError
from webhook_core.providers.scheme import Verified
from webhook_core.sources import KINDS, parse_sources, presets
from webhook_core.testing import FakeCertificates

ALL = load_all()


def test_the_vectors_are_exactly_what_the_generator_makes() -> None:
    built = generate.build_all()
    assert sorted(built) == sorted(ALL), "run `make vectors`: vectors are missing or stale"
    for name, vector in built.items():
        assert generate.render(vector) == (VECTORS / f"{name}.json").read_text(encoding="utf-8"), name


def test_every_kind_and_every_preset_has_a_vector_with_positive_and_negative_cases() -> None:
    assert {f"kind-{kind}" for kind in KINDS} | {f"preset-{name}" for name in presets()} == set(ALL)
    assert len(presets()) >= 100
    for name, vector in ALL.items():
        verdicts = [case["expect"]["verdict"] for case in vector["cases"]]
        # A source whose every delivery is new (Dropbox's pings) has no duplicate.
        every_delivery_new = vector["cases"][1]["expect"]["verdict"] == "accepted"
        assert {"accepted", "rejected"} | ({"duplicate"} if not every_delivery_new else set()) <= set(verdicts), name
        reasons = {case["expect"].get("reason") for case in vector["cases"]}
        assert {"signature_mismatch", "missing_signature"} <= reasons, name


def test_positive_vectors_come_from_the_official_library_where_there_is_one() -> None:
    made_by = {name: vector["positive_made_by"] for name, vector in ALL.items()}
    for kind, library in (("stripe", "stripe"), ("standard", "standardwebhooks"), ("svix", "svix")):
        assert made_by[f"kind-{kind}"].startswith(library)
    assert made_by["kind-slack"].startswith("slack_sdk")
    assert made_by["kind-twilio"].startswith("twilio")
    assert made_by["preset-discord"].startswith("PyNaCl")
    assert made_by["preset-clerk"].startswith("svix")
    assert "mailgun's SecurityGuard.verify_webhook" in made_by["kind-mailgun"]
    assert made_by["kind-sendgrid"].startswith("cryptography")
    assert "sendgrid's EventWebhook" in made_by["kind-sendgrid"]
    assert made_by["kind-adyen"].startswith("Adyen (Adyen.util.generate_notification_sig)")
    assert "pycronofy's Client.hmac_valid" in made_by["preset-cronofy"]
    assert made_by["kind-jwt"] == made_by["preset-monday"] == "PyJWT (jwt.encode, HS256)"
    assert "the toolkit's verifyRequest" in made_by["kind-contentful"]
    assert made_by["kind-figma"] == made_by["preset-figma"]
    assert made_by["kind-figma"].startswith("Figma's documented examples (https://developers.figma.com/")
    assert made_by["kind-braintree"].startswith("braintree (WebhookTesting.sample_notification)")


# Refusals the receiver gives before any signature is read: a setup secret handed over
# for a source that has its secret already (Notion, Asana).
BEFORE_THE_SIGNATURE = {"setup_secret_after_setup"}


def _post_cases() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (name, position, case)
        for name, vector in ALL.items()
        for position, case in enumerate(vector["cases"])
        if case["request"]["method"] == "POST"
        and case["expect"]["verdict"] in {"accepted", "rejected"}
        and case["expect"].get("reason") not in BEFORE_THE_SIGNATURE
    ]


@pytest.mark.parametrize(("name", "position", "case"), _post_cases(), ids=lambda v: str(v)[:40])
def test_the_verifier_gives_each_vector_its_precise_verdict(name: str, position: int, case: dict[str, Any]) -> None:
    vector = ALL[name]
    source = parse_sources({"sources": [{"name": vector["name"], **vector["source"]}]})[vector["name"]]
    scheme = source.spec.scheme
    request = case["request"]
    headers = {key.lower(): value for key, value in request["headers"].items()}
    keys = scheme.derive_keys(vector["secrets"])
    # What the receiver may fetch (SNS's signing certificate) is served by a fake, never the network.
    FakeCertificates({url: text.encode() for url, text in vector.get("documents", {}).items()}).install()

    def verify() -> Verified:
        return scheme.verify(headers, body_of(request), keys, vector["time"], query_of(request))

    if case["expect"]["verdict"] == "accepted":
        verified = verify()
        assert verified.secret_index == 0
        # The facts come from the body as the receiver keeps it (Figma's without its passcode).
        facts = source.spec.fields.extract(headers, source.spec.kept_body(body_of(request)), verified.body_format)
        if "event_id" in case["expect"]:
            assert facts.event_id == case["expect"]["event_id"]
        if "type" in case["expect"]:
            assert facts.type == case["expect"]["type"]
    else:
        with pytest.raises(SignatureError) as caught:
            verify()
        assert caught.value.reason == case["expect"]["reason"]


@pytest.mark.parametrize("name", ["kind-square", "preset-square"])
def test_square_vectors_pass_squares_sdk_helper_exactly_where_the_receiver_accepts(name: str) -> None:
    from square.utils.webhooks_helper import verify_signature

    vector = ALL[name]
    notification_url = vector["source"]["notification_url"]
    for case in vector["cases"]:
        request = case["request"]
        if request["method"] != "POST" or case["expect"]["verdict"] not in {"accepted", "rejected"}:
            continue
        header = request["headers"].get("x-square-hmacsha256-signature", "")
        valid = verify_signature(
            request_body=body_of(request).decode("utf-8", "replace"),
            signature_header=header,
            signature_key=vector["secrets"][0],
            notification_url=notification_url,
        )
        assert valid is (case["expect"]["verdict"] == "accepted"), case["name"]


@pytest.mark.parametrize("name", ["kind-paddle", "preset-paddle"])
def test_paddle_vectors_pass_paddles_sdk_verifier_exactly_where_the_receiver_accepts(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from paddle_billing.Notifications import Secret, Verifier

    vector = ALL[name]
    # The package re-exports the class under the module's name; patch the module's clock.
    verifier_module = importlib.import_module("paddle_billing.Notifications.Verifier")
    monkeypatch.setattr(verifier_module, "time", lambda: float(vector["time"]))
    for case in vector["cases"]:
        request = case["request"]
        if request["method"] != "POST" or case["expect"]["verdict"] not in {"accepted", "rejected"}:
            continue
        paddle_request = SimpleNamespace(headers=request["headers"], body=body_of(request))
        try:
            valid = Verifier().verify(paddle_request, Secret(vector["secrets"][0]))
        except (ValueError, UnicodeDecodeError):
            valid = False  # the SDK raises where the receiver answers 401
        assert valid is (case["expect"]["verdict"] == "accepted"), case["name"]
