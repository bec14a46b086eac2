"""The jwt kind and the monday preset: monday.com puts a JWT in Authorization, HS256 with
the app's Signing Secret, with exp and aud to check
(https://developer.monday.com/apps/docs/authorization-header). Tokens are made by PyJWT,
and the tokens `webhooks send` makes must pass PyJWT's own checks."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from tests.conformance.vectors import body_of, load_all
from tests.support.clock import Clock
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import Source, parse_sources
from webhook_core.testing import InMemoryLedger, InMemoryQueue, StaticSecrets
from webhooks_cli import signing

NOW = 1_795_600_000
SIGNING_SECRET = "5a4c1ed3e6a0b0a5d1f3c8e2b7a9d4f6"
ENDPOINT = "https://hooks.example.com/webhooks/monday"
BODY = json.dumps(
    {"event": {"type": "create_pulse", "triggerUuid": "b5ed2e17c530f43668de130142445cba", "pulseId": 1772099344}}
).encode()


def monday(**options: Any) -> Source:
    return parse_sources({"sources": [{"name": "monday", "preset": "monday", **options}]})["monday"]


def receiver(source: Source, secrets: list[str], now: int = NOW) -> tuple[Receiver, InMemoryQueue]:
    queue = InMemoryQueue()
    built = Receiver(
        sources={"monday": source},
        secrets=StaticSecrets({"monday": secrets}),
        ledger=InMemoryLedger(),
        queue=queue,
        max_body_bytes=1_000_000,
        clock=Clock(now),
    )
    return built, queue


def token(**claims: Any) -> str:
    """A token as monday.com's docs show one: account, user, audience, exp 300 s after iat."""
    made = {"accountId": 1825529, "userId": 4012689, "aud": ENDPOINT, "iat": NOW - 5, "exp": NOW + 295, **claims}
    return jwt.encode({key: value for key, value in made.items() if value is not None}, SIGNING_SECRET, "HS256")


def delivery(authorization: str, body: bytes = BODY) -> Delivery:
    return Delivery(
        source="monday", headers={"content-type": "application/json", "authorization": authorization}, body=body
    )


def refusal(accepting: Receiver, sent: Delivery) -> tuple[int, str]:
    with pytest.raises(SignatureError) as refused:
        accepting.accept(sent)
    return refused.value.status, refused.value.reason


def test_a_request_signed_as_monday_signs_it_is_accepted_with_its_facts() -> None:
    accepting, queue = receiver(monday(audience=ENDPOINT), [SIGNING_SECRET])
    assert isinstance(accepting.accept(delivery(token())), Outcome)
    (envelope,) = queue.envelopes
    assert (envelope.type, envelope.resource_id) == ("create_pulse", "1772099344")


def test_a_tampered_token_or_another_secret_is_refused() -> None:
    accepting, _ = receiver(monday(), [SIGNING_SECRET])
    header, payload, signature = token().split(".")
    forged_claims = json.loads(jwt.utils.base64url_decode(payload)) | {"accountId": 1}
    forged = f"{header}.{jwt.utils.base64url_encode(json.dumps(forged_claims).encode()).decode()}.{signature}"
    assert refusal(accepting, delivery(forged)) == (401, "signature_mismatch")
    other = jwt.encode({"exp": NOW + 300}, "another-apps-signing-secret-000000", "HS256")
    assert refusal(accepting, delivery(other)) == (401, "signature_mismatch")


def test_an_expired_token_is_refused_past_the_allowed_skew() -> None:
    accepting, _ = receiver(monday(), [SIGNING_SECRET])
    assert isinstance(accepting.accept(delivery(token(iat=NOW - 330, exp=NOW - 30))), Outcome)  # within 60 s
    assert refusal(accepting, delivery(token(iat=NOW - 400, exp=NOW - 100))) == (401, "timestamp_out_of_tolerance")
    assert refusal(accepting, delivery(token(exp=None))) == (401, "missing_timestamp")
    assert refusal(accepting, delivery(token(exp=float("nan")))) == (401, "malformed_timestamp")


def test_the_audience_when_configured_must_be_the_endpoint() -> None:
    accepting, _ = receiver(monday(audience=ENDPOINT), [SIGNING_SECRET])
    assert refusal(accepting, delivery(token(aud="https://other.example/hook"))) == (401, "signature_mismatch")
    assert refusal(accepting, delivery(token(aud=None))) == (401, "signature_mismatch")
    assert isinstance(accepting.accept(delivery(token(aud=["https://other.example", ENDPOINT]))), Outcome)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512", "none"])
def test_only_hs256_is_accepted_whatever_the_token_names(algorithm: str) -> None:
    accepting, _ = receiver(monday(), [SIGNING_SECRET])
    key = "" if algorithm == "none" else SIGNING_SECRET * 2
    other = jwt.encode({"exp": NOW + 300}, key, algorithm)
    assert refusal(accepting, delivery(other)) == (401, "malformed_signature")


def test_the_token_may_come_after_bearer_and_the_client_secret_as_a_second_secret() -> None:
    client_secret = "client-secret-of-the-app-0000000000"
    accepting, queue = receiver(monday(), [SIGNING_SECRET, client_secret])
    lifecycle = jwt.encode({"exp": NOW + 300}, client_secret, "HS256")
    assert isinstance(accepting.accept(delivery("Bearer " + lifecycle)), Outcome)
    assert len(queue.envelopes) == 1


def test_the_shipped_vectors_agree_with_pyjwt() -> None:
    """PyJWT judges each vector's token (signature, algorithm, audience, exp present) as the
    vector expects; its times against the vector's own time, since PyJWT reads the machine's
    clock."""
    for name in ("kind-jwt", "preset-monday"):
        vector = load_all()[name]
        audience = vector["source"].get("audience")
        checked = 0
        for case in vector["cases"]:
            request = case["request"]
            sent = request["headers"].get("Authorization", "").removeprefix("Bearer ")
            if request["method"] != "POST" or not sent or not body_of(request):
                continue
            try:
                claims = jwt.decode(
                    sent,
                    vector["secrets"][0],
                    algorithms=["HS256"],
                    audience=audience,
                    options={
                        "require": ["exp"],
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_aud": bool(audience),
                    },
                )
            except jwt.PyJWTError:
                valid = False
            else:
                valid = claims["exp"] + 60 >= vector["time"] >= claims.get("iat", 0) - 60
            assert valid is (case["expect"]["verdict"] != "rejected"), (name, case["name"])
            checked += 1
        assert checked >= 10  # accepted, retries and every refused token


def test_webhooks_send_signs_a_token_pyjwt_accepts_and_the_receiver_too() -> None:
    source = monday(audience=ENDPOINT)
    sent = signing.sign(source, SIGNING_SECRET, event_type="create_pulse", now=NOW)
    claims = jwt.decode(
        sent.headers["authorization"],
        SIGNING_SECRET,
        algorithms=["HS256"],
        audience=ENDPOINT,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert (claims["iat"], claims["exp"]) == (NOW, NOW + 300)
    accepting, queue = receiver(source, [SIGNING_SECRET])
    headers = {name.lower(): value for name, value in sent.headers.items()}
    assert isinstance(accepting.accept(Delivery(source="monday", headers=headers, body=sent.body)), Outcome)
    assert queue.envelopes[0].type == sent.event_type == "create_pulse"
