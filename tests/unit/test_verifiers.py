"""Every kind accepts what its provider signs and rejects every kind of tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime

import pytest
import stripe
import svix.webhooks
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.support import signers
from tests.support.project import FIXTURE_SOURCES
from tests.support.signers import (
    BODY_SIGNED,
    KINDS,
    SECRETS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TIMESTAMPED,
    configured,
    other_secret,
    sign,
)
from webhook_core.errors import SignatureError
from webhook_core.providers.scheme import SignatureScheme, Verified
from webhook_core.sources import Source, parse_sources


def verify(
    source: Source,
    headers: dict[str, str],
    body: bytes,
    secrets: list[str],
    now: float | None = None,
    query: dict[str, str] | None = None,
) -> Verified:
    lowered = {name.lower(): value for name, value in headers.items()}
    keys = source.spec.scheme.derive_keys(secrets)
    return source.spec.scheme.verify(lowered, body, keys, time.time() if now is None else now, query or {})


def reason(
    source: Source,
    headers: dict[str, str],
    body: bytes,
    secrets: list[str],
    now: float | None = None,
    query: dict[str, str] | None = None,
) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(source, headers, body, secrets, now, query)
    return caught.value.reason


# --- vectors from the providers' own libraries and documentation -------------


@pytest.mark.parametrize(
    "body", [b"{}", b'{"id":"evt_1","type":"charge.succeeded"}', '{"emoji": "\u00e9\u2603"}'.encode()]
)
def test_stripe_accepts_what_the_stripe_library_signs(fixture_sources: dict[str, Source], body: bytes) -> None:
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), signers.STRIPE_SECRET, now)
    assert (
        verify(fixture_sources["stripe"], {"Stripe-Signature": header}, body, [signers.STRIPE_SECRET]).secret_index == 0
    )


def test_stripe_signature_our_scheme_makes_passes_the_stripe_library(fixture_sources: dict[str, Source]) -> None:
    body, now = b'{"id":"evt_2"}', int(time.time())
    header = fixture_sources["stripe"].spec.scheme.sign(body, signers.STRIPE_SECRET, timestamp=now)
    assert stripe.WebhookSignature.verify_header(body.decode(), header, signers.STRIPE_SECRET, tolerance=300)


def test_stripe_accepts_any_of_several_v1_signatures_and_ignores_v0(fixture_sources: dict[str, Source]) -> None:
    body, now = b'{"id":"evt_3"}', int(time.time())
    real = stripe.WebhookSignature.generate_signature_header(body.decode(), signers.STRIPE_SECRET, now)
    real_v1 = real.split("v1=")[1]
    header = f"t={now},v1={'ab' * 32},v0={real_v1},v1={real_v1}"
    assert verify(fixture_sources["stripe"], {"Stripe-Signature": header}, body, [signers.STRIPE_SECRET])
    only_v0 = f"t={now},v0={real_v1}"
    assert (
        reason(fixture_sources["stripe"], {"Stripe-Signature": only_v0}, body, [signers.STRIPE_SECRET])
        == "malformed_signature"
    )


@pytest.mark.parametrize("library", ["standardwebhooks", "svix"])
def test_standard_accepts_what_the_official_libraries_sign(fixture_sources: dict[str, Source], library: str) -> None:
    body, now, msg_id = b'{"type":"user.created","data":{"id":1}}', int(time.time()), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    when = datetime.fromtimestamp(now, tz=UTC)
    if library == "svix":
        signature = svix.webhooks.Webhook(signers.STANDARD_SECRET).sign(msg_id, when, body.decode())
    else:
        signature = StandardWebhook(signers.STANDARD_SECRET).sign(msg_id, when, body.decode())
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature}
    assert verify(fixture_sources["standard"], headers, body, [signers.STANDARD_SECRET]).secret_index == 0


def test_standard_signature_our_scheme_makes_passes_the_official_library(fixture_sources: dict[str, Source]) -> None:
    body, now, msg_id = b'{"type":"a"}', int(time.time()), "msg_1"
    signature = fixture_sources["standard"].spec.scheme.sign(
        body, signers.STANDARD_SECRET, timestamp=now, event_id=msg_id
    )
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(now), "webhook-signature": signature}
    assert StandardWebhook(signers.STANDARD_SECRET).verify(body, headers) == {"type": "a"}


def test_standard_accepts_a_header_listing_several_signatures(fixture_sources: dict[str, Source]) -> None:
    signed = sign("standard")
    other = base64.b64encode(b"x" * 32).decode()
    headers = {**signed.headers, "webhook-signature": f"v1a,{other} v1,{other} {signed.headers['webhook-signature']}"}
    assert verify(fixture_sources["standard"], headers, signed.body, [signers.STANDARD_SECRET], query=signed.query)


def test_github_accepts_the_example_from_its_documentation() -> None:
    # docs.github.com, "Validating webhook deliveries": secret, payload and signature as published.
    source = parse_sources({"sources": [{"name": "gh", "kind": "github"}]})["gh"]
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    assert verify(source, headers, b"Hello, World!", ["It's a Secret to Everybody"]).secret_index == 0
    assert reason(source, headers, b"Hello, World?", ["It's a Secret to Everybody"]) == "signature_mismatch"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
@pytest.mark.parametrize("prefix", ["", "v1="])
def test_generic_hmac_matches_hmac_for_every_option(algorithm: str, encoding: str, prefix: str) -> None:
    config = {
        "name": "g",
        "kind": "hmac",
        "header": "X-Sig",
        "algorithm": algorithm,
        "encoding": encoding,
        "prefix": prefix,
    }
    source = parse_sources({"sources": [config]})["g"]
    body = b'{"ok": true}'
    mac = hmac.new(b"k3y", body, getattr(hashlib, algorithm)).digest()
    value = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
    assert verify(source, {"x-sig": prefix + value}, body, ["k3y"])
    assert source.spec.scheme.sign(body, "k3y") == prefix + value
    flipped = bytes([body[0] ^ 1]) + body[1:]
    assert reason(source, {"x-sig": prefix + value}, flipped, ["k3y"]) == "signature_mismatch"


def test_generic_hmac_with_timestamp_and_id_in_the_signed_content() -> None:
    config = {
        "name": "g",
        "kind": "hmac",
        "header": "X-Sig",
        "timestamp_header": "X-Ts",
        "id_header": "X-Id",
        "signed_content": "{id}:{timestamp}:{body}",
    }
    source = parse_sources({"sources": [config]})["g"]
    now, body = int(time.time()), b"payload"
    digest = hmac.new(b"k", f"abc:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Sig": digest, "X-Ts": str(now), "X-Id": "abc"}
    assert verify(source, headers, body, ["k"]).timestamp == now
    assert reason(source, {**headers, "X-Id": "abd"}, body, ["k"]) == "signature_mismatch"
    assert reason(source, {"X-Sig": digest, "X-Ts": str(now)}, body, ["k"]) == "missing_signed_header"


# --- rotation ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_any_active_secret_verifies_and_the_matching_index_is_reported(
    fixture_sources: dict[str, Source], kind: str
) -> None:
    old = SECRETS[kind][0]
    new_signing = other_secret(kind, "a-newer-secret")
    new = configured(kind, new_signing)
    signed_with_old = sign(kind, secret=old)
    assert (
        verify(
            fixture_sources[kind],
            signed_with_old.headers,
            signed_with_old.body,
            [new, old],
            query=signed_with_old.query,
        ).secret_index
        == 1
    )
    signed_with_new = sign(kind, secret=new_signing)
    assert (
        verify(
            fixture_sources[kind],
            signed_with_new.headers,
            signed_with_new.body,
            [new, old],
            query=signed_with_new.query,
        ).secret_index
        == 0
    )
    assert (
        reason(fixture_sources[kind], signed_with_old.headers, signed_with_old.body, [new], query=signed_with_old.query)
        == "signature_mismatch"
    )


# --- tampering, for every kind ------------------------------------------------------


@pytest.mark.parametrize("kind", BODY_SIGNED)
def test_one_flipped_body_byte_is_rejected(fixture_sources: dict[str, Source], kind: str) -> None:
    signed = sign(kind)
    for position in (0, len(signed.body) // 2, len(signed.body) - 1):
        body = bytearray(signed.body)
        body[position] ^= 0x01
        assert (
            reason(fixture_sources[kind], signed.headers, bytes(body), SECRETS[kind], query=signed.query)
            == "signature_mismatch"
        )


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_secret_is_rejected(fixture_sources: dict[str, Source], kind: str) -> None:
    wrong = other_secret(kind, "not-the-secret")
    signed = sign(kind, secret=wrong)
    assert (
        reason(fixture_sources[kind], signed.headers, signed.body, SECRETS[kind], query=signed.query)
        == "signature_mismatch"
    )


@pytest.mark.parametrize("kind", TIMESTAMPED)
@pytest.mark.parametrize("beyond", [-1, 1, -86_400, 10**9])
def test_stale_and_future_timestamps_are_rejected(fixture_sources: dict[str, Source], kind: str, beyond: int) -> None:
    now = int(time.time())
    tolerance = fixture_sources[kind].spec.scheme.tolerance_seconds
    signed = sign(kind, timestamp=now + beyond + (tolerance if beyond > 0 else -tolerance))
    assert (
        reason(fixture_sources[kind], signed.headers, signed.body, SECRETS[kind], now=now, query=signed.query)
        == "timestamp_out_of_tolerance"
    )


@pytest.mark.parametrize("kind", TIMESTAMPED)
@pytest.mark.parametrize("side", [-1, 0, 1])
def test_timestamps_inside_the_tolerance_are_accepted(fixture_sources: dict[str, Source], kind: str, side: int) -> None:
    now = int(time.time())
    signed = sign(kind, timestamp=now + side * fixture_sources[kind].spec.scheme.tolerance_seconds)
    assert verify(fixture_sources[kind], signed.headers, signed.body, SECRETS[kind], now=now, query=signed.query)


@pytest.mark.parametrize("kind", KINDS)
def test_the_signature_of_another_source_is_rejected(kind: str) -> None:
    # Two sources of the same kind (two Stripe accounts): each secret proves only its own source.
    fixture = next(item for item in json.loads(FIXTURE_SOURCES.read_text())["sources"] if item["kind"] == kind)
    config = {"sources": [{**fixture, "name": "a"}, {**fixture, "name": "b"}]}
    sources = parse_sources(config)
    secret_b = other_secret(kind, "source-b-secret")
    signed_for_b = sign(kind, secret=secret_b)
    assert verify(
        sources["b"], signed_for_b.headers, signed_for_b.body, [configured(kind, secret_b)], query=signed_for_b.query
    )
    assert (
        reason(sources["a"], signed_for_b.headers, signed_for_b.body, SECRETS[kind], query=signed_for_b.query)
        == "signature_mismatch"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_signature_header_is_rejected(fixture_sources: dict[str, Source], kind: str) -> None:
    signed = sign(kind)
    headers = {k: v for k, v in signed.headers.items() if k != SIGNATURE_HEADER[kind]}
    assert reason(fixture_sources[kind], headers, signed.body, SECRETS[kind], query=signed.query) == "missing_signature"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_a_truncated_signature_header_is_rejected(fixture_sources: dict[str, Source], kind: str, keep: float) -> None:
    signed = sign(kind)
    header = signed.headers[SIGNATURE_HEADER[kind]]
    truncated = {**signed.headers, SIGNATURE_HEADER[kind]: header[: int(len(header) * keep)]}
    assert reason(fixture_sources[kind], truncated, signed.body, SECRETS[kind], query=signed.query) in {
        "signature_mismatch",
        "malformed_signature",
    }


@pytest.mark.parametrize("kind", BODY_SIGNED)
def test_an_emptied_body_is_rejected(fixture_sources: dict[str, Source], kind: str) -> None:
    signed = sign(kind)
    assert reason(fixture_sources[kind], signed.headers, b"", SECRETS[kind], query=signed.query) == "signature_mismatch"


@pytest.mark.parametrize("kind", TIMESTAMPED)
@pytest.mark.parametrize("bad", ["", "abc", "1.5", "-5", "12345678901234", "\u0661\u0662"])
def test_a_malformed_timestamp_is_rejected(fixture_sources: dict[str, Source], kind: str, bad: str) -> None:
    signed = sign(kind)
    headers = dict(signed.headers)
    header, key = TIMESTAMP_HEADER[kind]
    if key is None:
        headers[header] = bad
    else:  # the timestamp is a key inside the signature header (Stripe t=, Paddle ts=)
        headers[header] = re.sub(rf"(^|[,;]){key}=[^,;]*", lambda m: f"{m.group(1)}{key}={bad}", headers[header])
    assert reason(fixture_sources[kind], headers, signed.body, SECRETS[kind], query=signed.query) in {
        "missing_timestamp",
        "malformed_timestamp",
    }


def test_an_undecodable_secret_never_verifies_anything() -> None:
    scheme = parse_sources({"sources": [{"name": "s", "kind": "standard"}]})["s"].spec.scheme
    assert scheme.derive_keys(["whsec_not base64!", ""]) == (None, None)


def test_a_scheme_with_an_unsigned_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="not signed"):
        SignatureScheme(signature_header="x", timestamp_header="x-ts")


def test_slack_signature_our_scheme_makes_passes_slack_sdk(fixture_sources: dict[str, Source]) -> None:
    from slack_sdk.signature import SignatureVerifier

    body, now = b'{"type":"event_callback","event_id":"Ev1"}', int(time.time())
    signature = fixture_sources["slack"].spec.scheme.sign(body, signers.SLACK_SECRET, timestamp=now)
    assert SignatureVerifier(signers.SLACK_SECRET).is_valid(body=body, timestamp=str(now), signature=signature)


def test_svix_signature_our_scheme_makes_passes_the_svix_library(fixture_sources: dict[str, Source]) -> None:
    body, now, msg_id = b'{"type":"user.created"}', int(time.time()), "msg_p5jXN8AQM9LWM0D4loKWxJek"
    signature = fixture_sources["svix"].spec.scheme.sign(body, signers.SVIX_SECRET, timestamp=now, event_id=msg_id)
    headers = {"svix-id": msg_id, "svix-timestamp": str(now), "svix-signature": signature}
    official = svix.webhooks.Webhook(signers.SVIX_SECRET)
    official.verify(body, headers)  # raises WebhookVerificationError when the signature is wrong
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        official.verify(body + b" ", headers)


def test_paddle_accepts_either_h1_during_its_secret_rotation(fixture_sources: dict[str, Source]) -> None:
    signed = sign("paddle")
    stale = "h1=" + "0" * 64
    rotated = {"Paddle-Signature": signed.headers["Paddle-Signature"].replace(";h1=", f";{stale};h1=")}
    assert verify(fixture_sources["paddle"], rotated, signed.body, [signers.PADDLE_SECRET], query=signed.query)


@pytest.mark.parametrize("kind", ["standard", "svix", "shopify"])
def test_a_non_canonical_base64_signature_is_refused(fixture_sources: dict[str, Source], kind: str) -> None:
    """Found by hypothesis: base64 ignores the spare bits of the last character, so
    two headers could carry the same signature. Only the canonical one verifies."""
    signed = sign(kind)
    name = SIGNATURE_HEADER[kind]
    value = signed.headers[name]
    encoded = value.split(",", 1)[1] if "," in value else value
    last = encoded.rstrip("=")[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sibling = alphabet[alphabet.index(last) ^ 1]  # differs only in a padding bit of the 32-byte digest
    position = len(encoded.rstrip("=")) - 1
    changed = encoded[:position] + sibling + encoded[position + 1 :]
    assert base64.b64decode(changed) == base64.b64decode(encoded)
    headers = {**signed.headers, name: value.replace(encoded, changed)}
    assert reason(fixture_sources[kind], headers, signed.body, SECRETS[kind], query=signed.query) in {
        "signature_mismatch",
        "malformed_signature",
    }


@pytest.mark.parametrize("kind", ["stripe", "github", "slack"])
def test_a_hex_signature_with_spaces_is_refused(fixture_sources: dict[str, Source], kind: str) -> None:
    signed = sign(kind)
    name = SIGNATURE_HEADER[kind]
    spaced = re.sub(r"([0-9a-f]{2})([0-9a-f]{2})$", r"\1 \2", signed.headers[name])
    assert spaced != signed.headers[name]
    headers = {**signed.headers, name: spaced}
    assert reason(fixture_sources[kind], headers, signed.body, SECRETS[kind], query=signed.query) in {
        "signature_mismatch",
        "malformed_signature",
    }


def test_square_signs_the_configured_notification_url_with_the_body() -> None:
    config = {"name": "sq", "kind": "square", "notification_url": signers.SQUARE_URL}
    elsewhere = {**config, "name": "sq2", "notification_url": "https://example.com/dev/webhooks/square"}
    sources = parse_sources({"sources": [config, elsewhere]})
    signed = sign("square")
    assert verify(sources["sq"], signed.headers, signed.body, [signers.SQUARE_SECRET], query=signed.query)
    assert (
        reason(sources["sq2"], signed.headers, signed.body, [signers.SQUARE_SECRET], query=signed.query)
        == "signature_mismatch"
    )


def test_a_square_source_without_its_notification_url_is_refused_naming_it() -> None:
    from webhook_core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="source 'sq': notification_url: Field required"):
        parse_sources({"sources": [{"name": "sq", "kind": "square"}]})
