"""Mandrill (Mailchimp Transactional): the base64 HMAC-SHA1 of the webhook URL exactly as
entered, followed by the sorted POST variables, as its documentation spells it out
(no official library signs); the events are read from `mandrill_events`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from webhook_core.errors import SignatureError
from webhook_core.providers.forms import FormScheme
from webhook_core.sources import Source, parse_sources

KEY = "mandrill-webhook-key"
URL = "https://hooks.example.com/prod/webhooks/mandrill?tenant=acme"


def source(**options: object) -> Source:
    return parse_sources({"sources": [{"name": "mail", "preset": "mandrill", "url": URL, **options}]})["mail"]


def documented_signature(url: str, body: bytes, key: str) -> str:
    """The recipe of Mandrill's docs (its PHP example: ksort, then key . value)."""
    signed = url + "".join(name + value for name, value in sorted(parse_qsl(body.decode(), keep_blank_values=True)))
    return base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def post(events: object) -> bytes:
    return urlencode({"mandrill_events": json.dumps(events)}).encode()


def verify(src: Source, body: bytes, signature: str, secrets: tuple[str, ...] = (KEY,)) -> int:
    scheme = src.spec.scheme
    return scheme.verify({"x-mandrill-signature": signature}, body, scheme.derive_keys(secrets), 0).secret_index


def test_a_post_signed_as_mandrill_documents_verifies_with_either_active_key() -> None:
    body = post([{"event": "send", "_id": "abc", "ts": 1_700_000_000}])
    signature = documented_signature(URL, body, KEY)
    assert verify(source(), body, signature) == 0
    assert verify(source(), body, signature, ("new-key", KEY)) == 1


@pytest.mark.parametrize(
    "signed_url",
    [URL + "&x=1", URL.replace("?", "/?"), URL.replace("example.com", "example.com:443"), URL.replace("https", "http")],
)
def test_only_the_exact_url_verifies(signed_url: str) -> None:
    """Mandrill signs the URL exactly as entered: unlike Twilio's, no port variant either."""
    body = post([{"event": "send"}])
    with pytest.raises(SignatureError) as caught:
        verify(source(), body, documented_signature(signed_url, body, KEY))
    assert caught.value.reason == "signature_mismatch"


def test_a_changed_event_or_an_added_parameter_fails() -> None:
    body = post([{"event": "send", "_id": "abc"}])
    signature = documented_signature(URL, body, KEY)
    for forged in (post([{"event": "open", "_id": "abc"}]), body + b"&extra=1"):
        with pytest.raises(SignatureError):
            verify(source(), forged, signature)


def test_the_type_is_the_first_events_and_sync_events_name_theirs_in_type() -> None:
    fields = source().spec.fields
    body = post([{"event": "hard_bounce", "_id": "m1", "ts": 1_700_000_000}, {"event": "open", "_id": "m2"}])
    facts = fields.extract({}, body)
    assert (facts.type, facts.resource_id, facts.occurred_at and facts.occurred_at.year) == ("hard_bounce", "m1", 2023)
    assert fields.extract({}, post([{"type": "blacklist", "action": "add"}])).type == "blacklist"
    # A body that is not Mandrill's (its test post's empty batch, JSON that does not parse) still gets an id.
    for odd in (post([]), b"mandrill_events=%5Bnot+json", b"other=1"):
        facts = fields.extract({}, odd)
        assert (facts.type, facts.event_id) == ("unknown", hashlib.sha256(odd).hexdigest())


def test_deliveries_are_told_apart_by_the_signed_parameters_not_an_id() -> None:
    """No id is signed (a message's events share its _id): the policy is digest, and the
    digest is of the signed parameters, so the same post re-encoded is the same delivery."""
    src = source()
    assert src.spec.dedupe == "digest"
    events = json.dumps([{"event": "send"}])
    plain, quoted = urlencode({"mandrill_events": events}).encode(), ("mandrill_events=" + events).encode()
    scheme = src.spec.scheme
    assert isinstance(scheme, FormScheme)
    keys = scheme.derive_keys([KEY])
    first = scheme.verify({"x-mandrill-signature": documented_signature(URL, plain, KEY)}, plain, keys, 0)
    second = scheme.verify({"x-mandrill-signature": documented_signature(URL, plain, KEY)}, quoted, keys, 0)
    assert first.content_digest == second.content_digest is not None


def test_the_preset_needs_the_url_and_the_signature_header_is_never_kept() -> None:
    with pytest.raises(Exception, match="url"):
        parse_sources({"sources": [{"name": "mail", "preset": "mandrill"}]})
    with pytest.raises(Exception, match=r"keep_headers"):
        source(keep_headers=["X-Mandrill-Signature"])
