"""Whatever arrives, a verifier answers with a verdict, never a crash."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.support.project import FIXTURE_SOURCES
from tests.support.signers import BODY_SIGNED, KINDS, SECRETS, SIGNATURE_HEADER, sign
from webhook_core.errors import SignatureError
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.sources import Source, load_sources

SOURCES = load_sources(FIXTURE_SOURCES)
FIXED_NOW = 1_795_600_000

header_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "stripe-signature",
                "x-hub-signature-256",
                "webhook-signature",
                "webhook-id",
                "webhook-timestamp",
                "x-signature",
                "x-timestamp",
                "x-event-id",
                "x-twilio-signature",
                "x-signature-ed25519",
                "x-signature-timestamp",
            ]
        ),
        header_text,
    ),
    body=st.binary(max_size=512),
)
def test_arbitrary_headers_and_bodies_are_rejected_cleanly(
    fixture_sources: dict[str, Source], kind: str, headers: dict[str, str], body: bytes
) -> None:
    scheme = fixture_sources[kind].spec.scheme
    with pytest.raises(SignatureError):
        scheme.verify(headers, body, scheme.derive_keys(SECRETS[kind]), time.time())


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.tuples(st.integers(min_value=0, max_value=10_000), st.characters(codec="ascii")))
def test_any_one_character_change_to_a_real_signature_header_is_rejected(
    fixture_sources: dict[str, Source], kind: str, mutation: tuple[int, str]
) -> None:
    # One fixed delivery, so that hypothesis replays exactly what it found.
    signed = sign(kind, timestamp=FIXED_NOW, event_id="evt_fixed_for_fuzzing")
    name = SIGNATURE_HEADER[kind]
    header = signed.headers[name]
    position, character = mutation[0] % len(header), mutation[1]
    changed = header[:position] + character + header[position + 1 :]
    headers = {key.lower(): value for key, value in {**signed.headers, name: changed}.items()}
    scheme = fixture_sources[kind].spec.scheme
    keys = scheme.derive_keys(SECRETS[kind])
    scheme_encoding = fixture_sources[kind].spec.scheme.encoding
    if changed == header or (scheme_encoding == "hex" and changed.lower() == header.lower()):
        return  # hex is case-insensitive; the same signature is still the same signature
    try:
        scheme.verify(headers, signed.body, keys, FIXED_NOW, signed.query)
    except SignatureError:
        return
    # Only a change that leaves the signed value itself intact may pass (a separator's spacing, an unused key).
    assert _signature_value(kind, changed) == _signature_value(kind, header)


def _signature_value(kind: str, header: str) -> str:
    """The signature values a header carries, as the scheme reads them."""
    scheme = SOURCES[kind].spec.scheme
    if not isinstance(scheme, SignatureScheme):
        # Token or Basic: the credential itself; the auth-scheme word is case-insensitive (RFC 7235).
        word, _, credential = header.strip().partition(" ")
        return f"{word.lower()} {credential}" if credential else header.strip()
    if scheme.signature_format == "keyed_list":
        parts = [part.strip() for part in header.split(scheme.list_separator)]
        return ",".join(sorted(part for part in parts if part.split("=", 1)[0] in scheme.signature_keys))
    if scheme.signature_format == "versioned_list":
        return " ".join(part for part in header.split() if part.startswith(f"{scheme.version},"))
    return header.strip().lower() if scheme.encoding == "hex" else header.strip()


@pytest.mark.parametrize("kind", BODY_SIGNED)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_any_body_the_secret_did_not_sign_is_rejected(
    fixture_sources: dict[str, Source], kind: str, body: bytes
) -> None:
    signed = sign(kind, timestamp=FIXED_NOW, event_id="evt_fixed_for_fuzzing")
    assume(body != signed.body)
    headers = {key.lower(): value for key, value in signed.headers.items()}
    scheme = fixture_sources[kind].spec.scheme
    with pytest.raises(SignatureError):
        scheme.verify(headers, body, scheme.derive_keys(SECRETS[kind]), FIXED_NOW, signed.query)
