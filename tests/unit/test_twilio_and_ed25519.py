"""Twilio's URL-and-parameters scheme and Ed25519 public-key signatures, against the
providers' own code: twilio's RequestValidator and PyNaCl (what Discord's docs use)."""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path
from urllib.parse import urlencode

import nacl.signing
import pytest
from twilio.request_validator import RequestValidator

from tests.support.cold_start import after_cold_start
from webhook_core.errors import SignatureError
from webhook_core.providers.ed25519 import public_key_of
from webhook_core.sources import Source, parse_sources

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "12345678901234567890123456789012"
URL = "https://example.com/webhooks/sms?tenant=acme"
PARAMS = {"MessageSid": "SM1", "Body": "Hello & goodbye", "From": "+15017122661", "To": "+15558675310"}
SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # RFC 8032 test 2


def twilio_source(url: str = URL) -> Source:
    return parse_sources({"sources": [{"name": "sms", "kind": "twilio", "url": url}]})["sms"]


def verify(
    source: Source, headers: dict[str, str], body: bytes, secrets: list[str], query: dict[str, str] | None = None
) -> int:
    scheme = source.spec.scheme
    keys = scheme.derive_keys(secrets)
    lowered = {name.lower(): value for name, value in headers.items()}
    return scheme.verify(lowered, body, keys, time.time(), query or {}).secret_index


def reason(
    source: Source, headers: dict[str, str], body: bytes, secrets: list[str], query: dict[str, str] | None = None
) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(source, headers, body, secrets, query)
    return caught.value.reason


# --- twilio -------------------------------------------------------------------------


def test_webhooks_send_posts_twilios_sms_form_as_twilio_signs_it() -> None:
    """The CLI's default Twilio sample is the SMS webhook, a form post: twilio's own
    validator accepts its signature, and the source reads its type from SmsStatus."""
    from urllib.parse import parse_qsl

    from webhooks_cli.signing import sign

    source = twilio_source()
    delivery = sign(source, TOKEN, now=1_795_600_000)
    params = dict(parse_qsl(delivery.body.decode(), keep_blank_values=True))
    assert (delivery.event_type, delivery.query) == ("received", {})
    assert delivery.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert RequestValidator(TOKEN).validate(URL, params, delivery.headers["x-twilio-signature"])
    verified = source.spec.scheme.verify(
        {name.lower(): value for name, value in delivery.headers.items()},
        delivery.body,
        source.spec.scheme.derive_keys([TOKEN]),
        1_795_600_000,
    )
    facts = source.spec.fields.extract({}, delivery.body, verified.body_format)
    assert (verified.body_format, facts.type) == ("form", "received")
    assert params["Body"] == "Hello from webhooks send & co"


def test_a_form_post_signed_by_twilios_validator_is_accepted_whatever_the_parameter_order() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    assert verify(twilio_source(), headers, urlencode(PARAMS).encode(), [TOKEN]) == 0
    reordered = urlencode(dict(reversed(PARAMS.items()))).encode()
    assert verify(twilio_source(), headers, reordered, [TOKEN]) == 0  # Twilio signs parameters, sorted
    assert reason(twilio_source(), headers, urlencode({**PARAMS, "Body": "changed"}).encode(), [TOKEN]) == (
        "signature_mismatch"
    )
    assert reason(twilio_source(), headers, urlencode({**PARAMS, "Extra": "1"}).encode(), [TOKEN]) == (
        "signature_mismatch"
    )


def test_the_configured_url_is_what_counts_not_another_one() -> None:
    signature = RequestValidator(TOKEN).compute_signature("https://attacker.example/webhooks/sms?tenant=acme", PARAMS)
    headers = {"X-Twilio-Signature": signature}
    assert reason(twilio_source(), headers, urlencode(PARAMS).encode(), [TOKEN]) == "signature_mismatch"


def test_a_url_signed_with_its_default_port_is_accepted_as_twilio_validators_do() -> None:
    signature = RequestValidator(TOKEN).compute_signature("https://example.com:443/webhooks/sms?tenant=acme", PARAMS)
    assert verify(twilio_source(), {"X-Twilio-Signature": signature}, urlencode(PARAMS).encode(), [TOKEN]) == 0


def test_a_json_body_is_checked_against_its_bodysha256_and_the_signed_url() -> None:
    body = b'{"type":"com.twilio.messaging.message.delivered","data":{"sid":"SM1"}}'
    body_hash = hashlib.sha256(body).hexdigest()
    signature = RequestValidator(TOKEN).compute_signature(f"{URL}&bodySHA256={body_hash}", {})
    headers = {"X-Twilio-Signature": signature}
    assert verify(twilio_source(), headers, body, [TOKEN], {"tenant": "acme", "bodySHA256": body_hash}) == 0
    assert reason(twilio_source(), headers, body + b" ", [TOKEN], {"bodySHA256": body_hash}) == "signature_mismatch"
    other_hash = hashlib.sha256(b"{}").hexdigest()
    assert reason(twilio_source(), headers, b"{}", [TOKEN], {"bodySHA256": other_hash}) == "signature_mismatch"


def test_what_our_signer_makes_passes_twilios_validator() -> None:
    source = twilio_source("https://example.com/webhooks/twilio")
    body = b'{"hello":"world"}'
    signature = source.spec.scheme.sign(body, TOKEN)
    query = source.spec.scheme.signed_query(body)
    url = "https://example.com/webhooks/twilio?" + urlencode(query)
    assert RequestValidator(TOKEN).validate(url, body.decode(), signature)


def test_a_sharedkey_signature_uses_the_algorithm_its_settings_header_names() -> None:
    body = urlencode(PARAMS).encode()
    signature = RequestValidator("shared-key-secret").compute_signature(URL, PARAMS, "HMAC_SHA256")
    settings = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings}
    assert verify(twilio_source(), headers, body, ["shared-key-secret"]) == 0
    unknown = {**headers, "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5"}
    assert reason(twilio_source(), unknown, body, ["shared-key-secret"]) == "unsupported_algorithm"
    # Without the settings header the same request is judged as HMAC-SHA1, which it is not.
    assert reason(twilio_source(), {"X-Twilio-Signature": signature}, body, ["shared-key-secret"]) == (
        "signature_mismatch"
    )


def test_a_twilio_source_without_its_url_is_refused_naming_the_option() -> None:
    from webhook_core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"source 'sms': url: Field required"):
        parse_sources({"sources": [{"name": "sms", "kind": "twilio"}]})


# --- ed25519 ----------------------------------------------------------------------------


def discord_source(**options: object) -> Source:
    return parse_sources({"sources": [{"name": "discord", "kind": "ed25519", **options}]})["discord"]


def test_a_discord_delivery_signed_with_pynacl_is_accepted_and_any_change_rejected() -> None:
    key = nacl.signing.SigningKey(bytes.fromhex(SEED))
    public = key.verify_key.encode().hex()
    now = str(int(time.time()))
    body = b'{"type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}'
    signature = key.sign(now.encode() + body).signature.hex()
    headers = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": now}
    assert verify(discord_source(), headers, body, [public]) == 0
    assert reason(discord_source(), headers, body.replace(b"1", b"2", 1), [public]) == "signature_mismatch"
    later = {**headers, "X-Signature-Timestamp": str(int(now) + 1)}
    assert reason(discord_source(), later, body, [public]) == "signature_mismatch"
    other_public = nacl.signing.SigningKey.generate().verify_key.encode().hex()
    assert verify(discord_source(), headers, body, [other_public, public]) == 1


def test_what_our_signer_makes_verifies_under_pynacl() -> None:
    source = discord_source()
    now = int(time.time())
    body = b'{"type":0}'
    signature = bytes.fromhex(source.spec.scheme.sign(body, SEED, timestamp=now))
    verify_key = nacl.signing.VerifyKey(bytes.fromhex(public_key_of(SEED)))
    assert verify_key.verify(str(now).encode() + body, signature) == str(now).encode() + body


def test_telnyx_style_base64_keys_signatures_and_template() -> None:
    source = discord_source(
        header="telnyx-signature-ed25519",
        timestamp_header="telnyx-timestamp",
        encoding="base64",
        key_encoding="base64",
        signed_content="{timestamp}|{body}",
    )
    key = nacl.signing.SigningKey(bytes.fromhex(SEED))
    now = str(int(time.time()))
    body = b'{"data":{"event_type":"message.received"}}'
    signature = base64.b64encode(key.sign(f"{now}|".encode() + body).signature).decode()
    public = base64.b64encode(key.verify_key.encode()).decode()
    headers = {"telnyx-signature-ed25519": signature, "telnyx-timestamp": now}
    assert verify(source, headers, body, [public]) == 0
    assert reason(source, headers, body, [public_key_of(SEED)]) == "signature_mismatch"  # a hex key is not base64


@pytest.mark.parametrize("key", ["", "zz", "00" * 31, "00" * 33])
def test_a_public_key_that_is_not_32_bytes_never_verifies(key: str) -> None:
    assert discord_source().spec.scheme.derive_keys([key]) == (None,)


def test_a_bad_ed25519_option_fails_closed_naming_the_source() -> None:
    from webhook_core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"source 'discord'.*timestamp"):
        discord_source(signed_content="{body}")


def test_cryptography_is_loaded_only_when_an_ed25519_delivery_is_verified() -> None:
    sources = [{"name": "g", "kind": "github"}, {"name": "d", "kind": "ed25519"}]
    assert after_cold_start("'cryptography' in sys.modules", sources=sources) is False
