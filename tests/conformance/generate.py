"""Make the conformance vectors: one JSON file per kind and per preset (format: README.md here).

Positive requests are signed by the provider's official library where one is on
the registry (stripe, standardwebhooks, svix, slack_sdk, twilio, and PyNaCl for
Discord's Ed25519), else by `reference_headers` below: the documented algorithm,
written out here and sharing no code with the receiver. Every run makes exactly
the same files (fixed time, ids, secrets and bodies), so a test can regenerate
them and fail on any difference.

    python -m tests.conformance.generate      # rewrite tests/conformance/vectors/
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import sys
import warnings
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import Adyen.util
import braintree
import braintree.webhook_testing_gateway
import jwt
import nacl.signing
import slack_sdk.signature
import standardwebhooks.webhooks
import stripe
import svix.webhooks
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_pem_private_key,
)
from cryptography.x509.oid import NameOID
from twilio.request_validator import RequestValidator

from webhook_core.sources import presets

FORMAT = 1
VECTORS = Path(__file__).with_name("vectors")
# One source per kind: the kind vectors are made from the tests' fixture sources, never
# from the shipped examples (which users replace).
FIXTURE_SOURCES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sources.json"
NOW = 1_795_600_000  # 2026-11-25T09:46:40Z: every vector is judged at this time
BASE_URL = "https://example.com/webhooks/"
EVENT_ID = "evt_conformance_0001"
EVENT_TYPE = "conformance.test"
LIBRARIES = {
    "stripe": f"stripe {stripe.VERSION}",
    "standard": "standardwebhooks (Webhook.sign)",
    "svix": "svix (Webhook.sign)",
    "slack": "slack_sdk (SignatureVerifier.generate_signature)",
    "twilio": "twilio (RequestValidator.compute_signature)",
    "ed25519": "PyNaCl (SigningKey.sign)",
    "sendgrid": "cryptography (ECDSA P-256, deterministic per RFC 6979); accepted cases pass sendgrid's EventWebhook",
    "jwt": "PyJWT (jwt.encode, HS256)",
}
# How long the tokens made here live: monday.com's live 300 s (exp - iat).
JWT_LIFETIME = 300
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# Kinds whose provider posts a form, and their own bodies (see `kind_event`).
FORM_KINDS = {"mandrill"}
FORM_TYPE = "application/x-www-form-urlencoded"

# The built-in kinds written as the documented recipe each follows (for `reference_headers`).
KIND_RECIPES: dict[str, dict[str, Any]] = {
    "github": {"header": "X-Hub-Signature-256", "prefix": "sha256="},
    "shopify": {
        "header": "X-Shopify-Hmac-Sha256",
        "alternative_headers": ["Shopify-Hmac-Sha256"],
        "encoding": "base64",
    },
    "paddle": {
        "header": "Paddle-Signature",
        "signature_format": "keyed_list",
        "signature_keys": ["h1"],
        "timestamp_key": "ts",
        "list_separator": ";",
        "signed_content": "{timestamp}:{body}",
    },
    "zoom": {
        "header": "x-zm-signature",
        "prefix": "v0=",
        "timestamp_header": "x-zm-request-timestamp",
        "signed_content": "v0:{timestamp}:{body}",
    },
    "square": {"header": "x-square-hmacsha256-signature", "encoding": "base64", "signed_content": "{url}{body}"},
}
# Where each built-in kind takes an event's id and type from.
KIND_FIELDS: dict[str, dict[str, str]] = {
    "stripe": {"id_path": "id", "type_path": "type"},
    "github": {"id_header": "X-GitHub-Delivery", "type_header": "X-GitHub-Event"},
    "standard": {"id_header": "webhook-id", "type_path": "type"},
    "svix": {"id_header": "svix-id", "type_path": "type"},
    "slack": {"id_path": "event_id", "type_path": "event.type"},
    "shopify": {"id_header": "X-Shopify-Event-Id", "type_header": "X-Shopify-Topic"},
    "paddle": {"id_path": "event_id", "type_path": "event_type"},
    "zoom": {"type_path": "event"},
    "square": {"id_path": "event_id", "type_path": "type"},
    "twilio": {"id_header": "I-Twilio-Idempotency-Token", "type_path": "type"},
}
FIELD_OPTIONS = ("id_header", "id_path", "type_header", "type_path")
# Presets whose provider's SDK verifies but cannot sign: the accepted cases signed by
# `reference_headers` are checked by it (tests/unit/test_presets.py), by signature header.
CHECKED_BY = {"cronofy-hmac-sha256": "pycronofy's Client.hmac_valid"}
DEFAULT_TOLERANCE = {"paddle": 5}
ED25519_DEFAULTS = {
    "header": "X-Signature-Ed25519",
    "timestamp_header": "X-Signature-Timestamp",
    "encoding": "hex",
    "key_encoding": "hex",
    "signed_content": "{timestamp}{body}",
}


# --- subjects: what each vector configures ----------------------------------------------


def subjects() -> list[tuple[str, dict[str, Any]]]:
    """(vector name, source options without the name): every kind, then every preset."""
    found: list[tuple[str, dict[str, Any]]] = []
    for item in json.loads(FIXTURE_SOURCES.read_text(encoding="utf-8"))["sources"]:
        options = {key: value for key, value in item.items() if key not in {"name", "description"}}
        found.append((f"kind-{item['kind']}", options))
    for name, preset in presets().items():
        options = {"preset": name}
        if preset.url_option:
            options[preset.url_option] = BASE_URL + name
        found.append((f"preset-{name}", options))
    return found


def resolved(options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The kind and the full options of a source (a preset's options under the source's own)."""
    if "preset" in options:
        preset = presets()[options["preset"]]
        merged = {**preset.options, **{k: v for k, v in options.items() if k != "preset"}}
        return preset.kind, merged
    return options["kind"], {k: v for k, v in options.items() if k != "kind"}


def secrets_for(name: str, kind: str, options: dict[str, Any]) -> tuple[str, str, str]:
    """(configured secret, what the sender signs with, another sender's signing secret)."""
    label = name.encode()
    if kind in {"standard", "svix"}:
        whsec = [
            "whsec_" + base64.b64encode(hashlib.sha256(seed).digest()[:24]).decode()
            for seed in (label, label + b"/other")
        ]
        return whsec[0], whsec[0], whsec[1]
    if kind == "ed25519":
        seed, other = hashlib.sha256(label).hexdigest(), hashlib.sha256(label + b"/other").hexdigest()
        public = nacl.signing.SigningKey(bytes.fromhex(seed)).verify_key.encode()
        key = public.hex() if options.get("key_encoding", "hex") == "hex" else base64.b64encode(public).decode()
        return key, seed, other
    if kind == "sendgrid":
        own, another = (sendgrid_key(seed) for seed in (label, label + b"/other"))
        return sendgrid_public(own), sendgrid_private(own), sendgrid_private(another)
    # Shared secrets: the receiver holds what the sender signs with.
    if kind == "basic":
        keys = ["webhooks:" + name, "webhooks:other-" + name]
    elif kind == "adyen":  # the HMAC key as Adyen's Customer Area shows it: 32 bytes in hex
        keys = [hashlib.sha256(seed).hexdigest().upper() for seed in (label, label + b"/other")]
    elif kind == "contentful":  # a space's signing secret: 64 characters of Contentful's alphabet
        keys = [hashlib.sha256(seed).hexdigest() for seed in (label, label + b"/other")]
    elif kind == "jwt":  # a signing secret as monday.com's Developer Center shows it: 32 hex characters
        keys = [hashlib.sha256(seed).hexdigest()[:32] for seed in (label, label + b"/other")]
    elif options.get("key_format") == "base64":
        keys = [base64.b64encode(hashlib.sha256(seed).digest()).decode() for seed in (label, label + b"/other")]
    else:
        keys = [f"conformance-secret-{name}", f"conformance-secret-{name}-other"]
    return keys[0], keys[0], keys[1]


# --- bodies and event facts -----------------------------------------------------------------


def _put(root: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, making dicts, or lists where the next key is a position."""
    keys = path.split(".")
    node: Any = root
    for position, key in enumerate(keys):
        last = position == len(keys) - 1
        make: list[Any] | dict[str, Any] | None = None if last else ([] if keys[position + 1].isdigit() else {})
        if isinstance(node, list):
            while len(node) <= int(key):
                node.append(make if make is not None else None)
            if last:
                node[int(key)] = value
            node = node[int(key)]
        elif last:
            node[key] = value
        else:
            node = node.setdefault(key, make)


def event(kind: str, options: dict[str, Any], event_id: str = EVENT_ID) -> tuple[bytes, dict[str, str], str, str]:
    """A body with the event's id and type where this source looks for them, the headers
    that carry them, and the id and type the receiver should report."""
    if kind in OWN_EVENTS:
        return OWN_EVENTS[kind]()
    # A kind's own places, under what the source's options say instead (Replicate's type_path).
    fields = {**KIND_FIELDS.get(kind, {}), **{key: value for key, value in options.items() if key in FIELD_OPTIONS}}
    root: dict[str, Any] = {"document": {"conformance": True, "note": "héllo, wörld"}}  # non-ASCII on purpose
    if any(str(fields.get(f"{role}_path", "")).startswith("0.") for role in ("id", "type")):
        root["document"] = [root["document"]]  # a batch (HubSpot)
    headers: dict[str, str] = {}
    for role, value in (("id", event_id), ("type", EVENT_TYPE)):
        if fields.get(f"{role}_header"):
            headers[fields[f"{role}_header"]] = value
        elif fields.get(f"{role}_path"):
            _put(root, "document." + fields[f"{role}_path"], value)
    if event_id != EVENT_ID:  # another event: another body, even where the id is not in it
        document = root["document"]
        (document[0] if isinstance(document, list) else document)["note"] = f"another event, {event_id}"
    if options.get("handshake") == "discord":
        root["document"] = {"version": 1, "application_id": "1", "type": 1, "event": {"type": EVENT_TYPE, "data": {}}}
    if options.get("body_format") == "form":  # a form post (Acuity): each fact a parameter of its own
        body = form_body(root["document"], fields, event_id)
    else:
        body = json.dumps(root["document"], ensure_ascii=False).encode()
    has_id = bool(fields.get("id_header") or fields.get("id_path"))
    has_type = bool(fields.get("type_header") or fields.get("type_path"))
    return (
        body,
        headers,
        event_id if has_id else hashlib.sha256(body).hexdigest(),
        EVENT_TYPE if has_type else "unknown",
    )


def form_body(document: dict[str, Any], fields: dict[str, str], event_id: str) -> bytes:
    """The event as a form post: its id and type as the parameters their paths name (a path
    is one parameter's name in a form), then a non-ASCII one, UTF-8 and percent-encoded."""
    parameters = {
        fields[f"{role}_path"]: value
        for role, value in (("id", event_id), ("type", EVENT_TYPE))
        if fields.get(f"{role}_path")
    }
    parameters.setdefault("id", "1055040873")  # Acuity's appointment id
    parameters["calendarID"] = "1"
    parameters["note"] = str(document.get("note", "héllo, wörld"))
    return urlencode(parameters).encode()


def mandrill_event() -> tuple[bytes, dict[str, str], str, str]:
    """Mandrill's post: one `mandrill_events` parameter holding a JSON array of events.
    No id is sent: the receiver keys it on the body."""
    events = [
        {
            "event": EVENT_TYPE,
            "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ts": NOW - 5,
            "msg": {"email": "héllo@example.com", "subject": "wörld", "state": "sent"},
        }
    ]
    body = urlencode({"mandrill_events": json.dumps(events, ensure_ascii=False)}).encode()
    return body, {}, hashlib.sha256(body).hexdigest(), EVENT_TYPE


def sendgrid_event() -> tuple[bytes, dict[str, str], str, str]:
    """SendGrid's batch: a JSON array of events, with CRLF at the end as SendGrid posts it.
    No id names the batch: the receiver keys it on the body."""
    events = [
        {
            "email": "héllo@example.com",
            "event": EVENT_TYPE,
            "sg_event_id": "c2VuZGdyaWQtY29uZm9ybWFuY2UtMDAwMQ",
            "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-0",
            "timestamp": NOW - 5,
        }
    ]
    body = (json.dumps(events, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\r\n").encode()
    return body, {}, hashlib.sha256(body).hexdigest(), EVENT_TYPE


OWN_EVENTS = {"mandrill": mandrill_event, "sendgrid": sendgrid_event}


# --- signing ----------------------------------------------------------------------------


def sendgrid_key(seed: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(hashlib.sha256(seed).digest()) % P256_ORDER, ec.SECP256R1())


def sendgrid_private(key: ec.EllipticCurvePrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())).decode()


def sendgrid_public(key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
    return base64.b64encode(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


def sendgrid_signature(private: str, timestamp: str, body: bytes) -> str:
    """ECDSA P-256 / SHA-256 over timestamp + body, DER, base64 (what SendGrid's helper checks);
    deterministic (RFC 6979) so that every run writes the same vectors."""
    key = load_der_private_key(base64.b64decode(private), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signed = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return base64.b64encode(signed).decode()


def mandrill_signature(url: str, body: bytes, key: str) -> str:
    """Mandrill's documented recipe: the URL, then each POST variable sorted by key, key
    then value, no delimiter; HMAC-SHA1 with the webhook key, base64 (as its PHP example)."""
    signed = url + "".join(name + value for name, value in sorted(parse_qsl(body.decode(), keep_blank_values=True)))
    return base64.b64encode(hmac.new(key.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def timestamp_text(timestamp: int, timestamp_format: str) -> str:
    if timestamp_format == "millis":
        return str(timestamp * 1000)
    if timestamp_format == "iso8601":  # with nanoseconds, as Twitch writes them
        return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"
    return str(timestamp)


def reference_headers(
    recipe: dict[str, Any], body: bytes, secret: str, timestamp: int, event_id: str, url: str
) -> dict[str, str]:
    """A generic HMAC signer written from the providers' documentation (not the receiver's code)."""
    key = base64.b64decode(secret) if recipe.get("key_format") == "base64" else secret.encode()
    sent = timestamp_text(timestamp, recipe.get("timestamp_format", "seconds"))
    content = recipe.get("signed_content", "{body}").encode()
    for placeholder, value in (
        (b"{timestamp}", sent.encode()),
        (b"{id}", event_id.encode()),
        (b"{url}", url.encode()),
    ):
        content = content.replace(placeholder, value)
    content = content.replace(b"{body}", body)
    mac = hmac.new(key, content, getattr(hashlib, recipe.get("algorithm", "sha256"))).digest()
    encoding = recipe.get("encoding", "hex")
    if encoding == "hex":
        encoded = mac.hex()
    elif encoding == "base64url":  # Sanity's toolkit: the `base64url` package, which drops the padding
        encoded = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    else:
        encoded = base64.b64encode(mac).decode()
    headers: dict[str, str] = {}
    if recipe.get("signature_format") == "keyed_list":
        parts = [f"{recipe['timestamp_key']}={sent}"] if recipe.get("timestamp_key") else []
        parts.append(f"{recipe['signature_keys'][0]}={encoded}")
        headers[recipe["header"]] = recipe.get("list_separator", ",").join(parts)
    else:
        headers[recipe["header"]] = recipe.get("prefix", "") + encoded
    if recipe.get("timestamp_header"):
        headers[recipe["timestamp_header"]] = sent
    return headers


def signed_headers(  # noqa: PLR0911 - one return per provider library
    kind: str, options: dict[str, Any], body: bytes, secret: str, timestamp: int, url: str
) -> tuple[dict[str, str], dict[str, str], str]:
    """(headers, query, made_by) of a request signed as the provider signs it."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    if kind == "stripe":
        return (
            {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)},
            {},
            LIBRARIES[kind],
        )
    if kind == "standard":
        signature = standardwebhooks.webhooks.Webhook(secret).sign(EVENT_ID, moment, body.decode())
        return {"webhook-timestamp": str(timestamp), "webhook-signature": signature}, {}, LIBRARIES[kind]
    if kind == "svix":
        signature = svix.webhooks.Webhook(secret).sign(EVENT_ID, moment, body.decode())
        return {"svix-timestamp": str(timestamp), "svix-signature": signature}, {}, LIBRARIES[kind]
    if kind == "slack":
        slack_signature = slack_sdk.signature.SignatureVerifier(secret).generate_signature(
            timestamp=str(timestamp), body=body
        )
        return (
            {"X-Slack-Signature": str(slack_signature), "X-Slack-Request-Timestamp": str(timestamp)},
            {},
            LIBRARIES[kind],
        )
    if kind == "twilio":
        body_hash = hashlib.sha256(body).hexdigest()
        twilio_signature = RequestValidator(secret).compute_signature(f"{url}?bodySHA256={body_hash}", {})
        return {"X-Twilio-Signature": twilio_signature}, {"bodySHA256": body_hash}, LIBRARIES[kind]
    if kind == "ed25519":
        recipe = {**ED25519_DEFAULTS, **options}
        sent = str(timestamp)
        content = recipe["signed_content"].encode().replace(b"{timestamp}", sent.encode()).replace(b"{body}", body)
        raw: bytes = nacl.signing.SigningKey(bytes.fromhex(secret)).sign(content).signature
        encoded = raw.hex() if recipe["encoding"] == "hex" else base64.b64encode(raw).decode()
        return {recipe["header"]: encoded, recipe["timestamp_header"]: sent}, {}, LIBRARIES[kind]
    if kind == "sendgrid":
        return (
            {
                "X-Twilio-Email-Event-Webhook-Signature": sendgrid_signature(secret, str(timestamp), body),
                "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
            },
            {},
            LIBRARIES[kind],
        )
    if kind == "mandrill":
        signature = mandrill_signature(url, body, secret)
        return {"X-Mandrill-Signature": signature}, {}, "the documented algorithm (Mandrill)"
    if kind == "token":
        return {options["header"]: secret}, {}, "the documented scheme (the token as sent)"
    if kind == "basic":
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}, {}, "RFC 7617"
    if kind == "jwt":
        claims = jwt_claims(options, timestamp)
        return {options.get("header", "Authorization"): jwt.encode(claims, secret, "HS256")}, {}, LIBRARIES[kind]
    recipe = KIND_RECIPES.get(kind, options)
    checked_by = CHECKED_BY.get(recipe.get("header", "").lower())
    return (
        reference_headers(recipe, body, secret, timestamp, EVENT_ID, url),
        {},
        "the documented algorithm (reference_headers)" + (f"; accepted cases pass {checked_by}" if checked_by else ""),
    )


def jwt_claims(options: dict[str, Any], issued: int) -> dict[str, Any]:
    """What monday.com's tokens claim (developer.monday.com/apps/docs/authorization-header)."""
    claims: dict[str, Any] = {"accountId": 1825529, "userId": 4012689, "iat": issued, "exp": issued + JWT_LIFETIME}
    if options.get("audience"):
        claims["aud"] = options["audience"]
    return claims


def hs512(claims: dict[str, Any], secret: str) -> str:
    with warnings.catch_warnings():  # PyJWT warns of a key shorter than SHA-512's block; it is a test key
        warnings.simplefilter("ignore")
        return jwt.encode(claims, secret, "HS512")


def jwt_cases(
    options: dict[str, Any], url: str, headers: dict[str, str], body: bytes, secret: str, again: dict[str, Any]
) -> list[Any]:
    """A token's own refusals: expired, issued in the future, not HS256, no exp, another audience."""
    header = options.get("header", "Authorization")
    tolerance = int(options.get("tolerance_seconds", 60))
    base = jwt_claims(options, NOW)
    tokens: list[tuple[str, str, str]] = [
        (
            "expired token",
            jwt.encode(jwt_claims(options, NOW - JWT_LIFETIME - tolerance - 60), secret),
            "timestamp_out_of_tolerance",
        ),
        (
            "token issued in the future",
            jwt.encode(jwt_claims(options, NOW + tolerance + 60), secret),
            "timestamp_out_of_tolerance",
        ),
        ("token without exp", jwt.encode({k: v for k, v in base.items() if k != "exp"}, secret), "missing_timestamp"),
        ("token signed HS512 with the same secret", hs512(base, secret), "malformed_signature"),
        ("unsigned token (alg none)", jwt.encode(base, "", "none") + "c2ln", "malformed_signature"),
    ]
    if options.get("audience"):
        other_audience = {**base, "aud": "https://attacker.example/webhooks"}
        tokens.append(("token for another audience", jwt.encode(other_audience, secret), "signature_mismatch"))
    cases = [
        {
            "name": name,
            "request": request("POST", url, {**headers, header: token}, body, {}),
            "expect": rejected(reason),
        }
        for name, token, reason in tokens
    ]
    cases.append(
        {
            "name": "the same delivery with the token after Bearer",
            "request": request("POST", url, {**headers, header: "Bearer " + headers[header]}, body, {}),
            "expect": again,
        }
    )
    return cases


# --- vectors ----------------------------------------------------------------------------


def request(method: str, url: str, headers: dict[str, str], body: bytes, query: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": method, "url": url + (f"?{urlencode(query)}" if query else "")}
    entry["headers"] = headers
    try:
        entry["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        entry["body_base64"] = base64.b64encode(body).decode()
    return entry


def rejected(reason: str, status: int = 401) -> dict[str, Any]:
    return {"verdict": "rejected", "status": status, "reason": reason}


def build(name: str, options: dict[str, Any]) -> dict[str, Any]:
    kind, full = resolved(options)
    if kind in OWN_BUILDERS:
        return OWN_BUILDERS[kind](name, options, full)
    configured, signing, other = secrets_for(name, kind, full)
    source_name = name.split("-", 1)[1]
    url = full.get("url") or full.get("notification_url") or BASE_URL + source_name
    body, id_headers, event_id, event_type = event(kind, full)
    posts_form = kind in FORM_KINDS or full.get("body_format") == "form"
    content_type = {"Content-Type": FORM_TYPE if posts_form else "application/json"}

    def signed(
        payload: bytes, secret: str = signing, timestamp: int = NOW
    ) -> tuple[dict[str, str], dict[str, str], str]:
        headers, query, made_by = signed_headers(kind, full, payload, secret, timestamp, url)
        return {**content_type, **id_headers, **headers}, query, made_by

    headers, query, made_by = signed(body)
    signature_header = next(
        h for h in headers if h not in content_type and h not in id_headers and "timestamp" not in h.lower()
    )
    timestamped = kind in {"stripe", "standard", "svix", "slack", "paddle", "zoom", "ed25519", "sendgrid"} or bool(
        full.get("timestamp_header") or full.get("timestamp_key")
    )
    tolerance = int(full.get("tolerance_seconds", DEFAULT_TOLERANCE.get(kind, 300)))
    body_signed = kind not in {"token", "basic", "jwt"}
    # Ping-style providers (Dropbox) repeat bodies by design: every delivery is a new event.
    every_delivery_new = full.get("dedupe") == "none"
    # A source whose provider demands its own answer (Xero, Okta, Discord) gives it to every
    # verified delivery, its retries too: that status and no body.
    reply = full.get("reply")
    answered: dict[str, Any] = {"status": reply["status"], "empty": True} if reply else {}
    again: dict[str, Any] = (
        {"verdict": "accepted", "status": 202, **answered}
        if every_delivery_new
        else {"verdict": "duplicate", "status": 200, "event_id": event_id, **answered}
    )
    first_expect: dict[str, Any] = {
        "verdict": "accepted",
        "status": 202,
        **({} if every_delivery_new else {"event_id": event_id}),
        "type": event_type,
        **answered,
    }
    id_signed = kind in {"standard", "svix"} or "{id}" in str(full.get("signed_content", ""))
    switched_type = "application/json" if posts_form else FORM_TYPE

    cases: list[dict[str, Any]] = [
        {
            "name": "signed by the provider",
            "request": request("POST", url, headers, body, query),
            "expect": first_expect,
        },
        {
            "name": "the same delivery again (a provider's retry)",
            "request": request("POST", url, headers, body, query),
            "expect": again,
        },
        {
            # The body is parsed as the provider sends it, never as an unsigned header says.
            "name": "the same delivery replayed with another Content-Type",
            "request": request("POST", url, {**headers, "Content-Type": switched_type}, body, query),
            "expect": again,
        },
    ]
    id_header = KIND_FIELDS.get(kind, full).get("id_header")
    if id_header:
        # A replay under a fresh id: refused where the signature covers the id, else still
        # the same delivery (the receiver keys such sources on what the signature binds).
        fresh = {**headers, id_header: "evt_replayed_9999"}
        cases.append(
            {
                "name": f"the same delivery replayed under a fresh {id_header}",
                "request": request("POST", url, fresh, body, query),
                "expect": rejected("signature_mismatch") if id_signed else again,
            }
        )
    recipe = KIND_RECIPES.get(kind, full)
    alternatives = list(recipe.get("alternative_headers", ()))
    for position, alternative in enumerate(dict.fromkeys(alternatives[:1] + alternatives[-1:]), start=2):
        # Another event whose signature comes under an alternative header alone (Shopify's
        # Events deliveries, DocuSign's second Connect key, Box's secondary key).
        other_body, other_ids, other_id, _ = event(kind, full, f"evt_conformance_{position:04d}")
        moved, other_query, _ = signed_headers(kind, full, other_body, signing, NOW, url)
        moved = {alternative if name == recipe["header"] else name: value for name, value in moved.items()}
        cases.append(
            {
                "name": f"another event signed under {alternative} alone",
                "request": request("POST", url, {**content_type, **other_ids, **moved}, other_body, other_query),
                "expect": {"verdict": "accepted", "status": 202, "event_id": other_id, "type": event_type},
            }
        )
    if full.get("signature_format") == "list":
        # The provider signs with each of its active secrets and lists every signature
        # (Cronofy while an application has two client secrets): one of them is ours.
        listed_body, listed_ids, listed_id, _ = event(kind, full, "evt_conformance_0005")
        theirs, _, _ = signed_headers(kind, full, listed_body, other, NOW, url)
        ours, _, _ = signed_headers(kind, full, listed_body, signing, NOW, url)
        listed = {
            **content_type,
            **listed_ids,
            recipe["header"]: theirs[recipe["header"]] + "," + ours[recipe["header"]],
        }
        cases.append(
            {
                "name": "another event listing a signature by another secret, then ours",
                "request": request("POST", url, listed, listed_body, {}),
                "expect": {"verdict": "accepted", "status": 202, "event_id": listed_id, "type": event_type},
            }
        )
    wrong_headers, wrong_query, _ = signed(body, secret=other)
    cases.append(
        {
            "name": "signed with another secret",
            "request": request("POST", url, wrong_headers, body, wrong_query),
            "expect": rejected("signature_mismatch"),
        }
    )
    missing = {key: value for key, value in headers.items() if key != signature_header}
    cases.append(
        {
            "name": "signature header missing",
            "request": request("POST", url, missing, body, query),
            "expect": rejected("missing_signature"),
        }
    )
    # Cut by one whole encoded unit, so what is left still decodes: a shorter signature, not garbage.
    base64_kinds = {"shopify", "square", "standard", "svix", "twilio", "basic", "mandrill", "sendgrid"}
    encoding = full.get("encoding") or ("base64" if kind in base64_kinds else "base64url" if kind == "jwt" else "hex")
    # base64url without padding: 43 characters for 32 bytes, of which 40 are 30 whole bytes.
    cut = {"hex": 2, "base64url": 3}.get(encoding, 4)
    truncated = {**headers, signature_header: headers[signature_header][:-cut]}
    cases.append(
        {
            "name": "signature truncated",
            "request": request("POST", url, truncated, body, query),
            "expect": rejected("malformed_signature" if kind == "ed25519" else "signature_mismatch"),
        }
    )
    if body_signed:
        flipped = bytearray(body)
        flipped[len(flipped) // 2] ^= 0x01
        cases.append(
            {
                "name": "one body byte changed",
                "request": request("POST", url, headers, bytes(flipped), query),
                "expect": rejected("signature_mismatch"),
            }
        )
        cases.append(
            {
                "name": "empty body",
                "request": request("POST", url, headers, b"", query),
                "expect": rejected("signature_mismatch"),
            }
        )
    if timestamped:
        for label, skew in (("stale", -(tolerance + 60)), ("future", tolerance + 60)):
            old_headers, old_query, _ = signed(body, timestamp=NOW + skew)
            cases.append(
                {
                    "name": f"{label} timestamp ({skew:+d} s, signed)",
                    "request": request("POST", url, old_headers, body, old_query),
                    "expect": rejected("timestamp_out_of_tolerance"),
                }
            )
    cases += handshake_cases(kind, full, url, signed, configured)
    cases += setup_cases(full, url, headers, signature_header, configured)
    if kind == "twilio":
        cases += twilio_form_cases(url, signing)
    if kind == "jwt":
        cases += jwt_cases(full, url, headers, body, signing, again)
    if kind == "mandrill":
        # Mandrill signs the URL exactly as entered: a trailing slash more is another URL.
        other_url = {**headers, "X-Mandrill-Signature": mandrill_signature(url + "/", body, signing)}
        cases.append(
            {
                "name": "signed over another URL (a trailing slash more)",
                "request": request("POST", url, other_url, body, query),
                "expect": rejected("signature_mismatch"),
            }
        )

    vector: dict[str, Any] = {
        "format": FORMAT,
        "name": source_name,
        "source": options,
        "secrets": [configured],
        "time": NOW,
        "positive_made_by": made_by,
    }
    if full.get("get_check") == "meta":
        vector["tokens"] = {"verify_token": [f"verify-{source_name}"]}
    vector["cases"] = cases
    return vector


def handshake_cases(kind: str, options: dict[str, Any], url: str, signed: Any, configured: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    handshake = options.get("handshake") or (kind if kind in {"slack", "zoom"} else None)
    checks: dict[str, tuple[Any, dict[str, str], Any, str]] = {
        "slack": (
            {
                "token": "t",
                "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                "type": "url_verification",
            },
            {},
            {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
            "application/json",
        ),
        "zoom": (
            {
                "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
                "event_ts": 1654503849680,
                "event": "endpoint.url_validation",
            },
            {},
            {
                "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                "encryptedToken": hmac.new(configured.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest(),
            },
            "application/json",
        ),
        "discord": ({"version": 1, "application_id": "1", "type": 0}, {}, None, ""),
        "twitch": (
            {"challenge": "pogchamp-kappa-360noscope-vohiyo", "subscription": {"type": "stream.online"}},
            {"Twitch-Eventsub-Message-Type": "webhook_callback_verification"},
            "pogchamp-kappa-360noscope-vohiyo",
            "text/plain",
        ),
        # Event Grid's example validation event (learn.microsoft.com, end-point-validation-event-grid-events-schema).
        "eventgrid": (
            [
                {
                    "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
                    "topic": "/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                    "subject": "",
                    "data": {
                        "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
                        "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/myeventsub/"
                        "validate?id=0000000000-0000-0000-0000-00000000000000&t=2022-10-28T04:23:35.1981776Z",
                    },
                    "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                    "eventTime": "2022-10-28T04:23:35.1981776Z",
                    "metadataVersion": "1",
                    "dataVersion": "1",
                }
            ],
            {"aeg-event-type": "SubscriptionValidation"},
            {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            "application/json",
        ),
    }
    if handshake in checks:
        document, extra, answer, content_type = checks[handshake]
        body = json.dumps(document).encode()
        headers, query, _ = signed(body)
        status = 204 if handshake == "discord" else 200
        expect: dict[str, Any] = {"verdict": "handshake", "status": status}
        if answer is not None:
            expect.update(content_type=content_type, body=answer)
        cases.append(
            {
                "name": f"{handshake} endpoint check",
                "request": request("POST", url, {**headers, **extra}, body, query),
                "expect": expect,
            }
        )
        if handshake == "discord":
            interaction = json.dumps({"id": "1", "application_id": "1", "type": 1, "token": "t", "version": 1}).encode()
            headers, query, _ = signed(interaction)
            cases.append(
                {
                    "name": "discord interactions PING",
                    "request": request("POST", url, headers, interaction, query),
                    "expect": {
                        "verdict": "handshake",
                        "status": 200,
                        "content_type": "application/json",
                        "body": {"type": 1},
                    },
                }
            )
    if options.get("get_check") == "meta":
        token = f"verify-{url.rsplit('/', 1)[1]}"
        good = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
        cases.append(
            {
                "name": "GET subscription check",
                "request": request("GET", url, {}, b"", good),
                "expect": {"verdict": "handshake", "status": 200, "content_type": "text/plain", "body": "1158201444"},
            }
        )
        cases.append(
            {
                "name": "GET check with a wrong verify token",
                "request": request("GET", url, {}, b"", {**good, "hub.verify_token": "guess"}),
                "expect": rejected("verify_token_mismatch"),
            }
        )
        cases.append(
            {
                "name": "GET without the check's parameters",
                "request": request("GET", url, {}, b"", {}),
                "expect": rejected("bad_request", 400),
            }
        )
    elif options.get("get_check") == "challenge":
        cases.append(
            {
                "name": "GET challenge",
                "request": request("GET", url, {}, b"", {"challenge": "tWjyAFSNpyMDl0UQ"}),
                "expect": {
                    "verdict": "handshake",
                    "status": 200,
                    "content_type": "text/plain",
                    "body": "tWjyAFSNpyMDl0UQ",
                },
            }
        )
        cases.append(
            {
                "name": "GET challenge that is not a token",
                "request": request("GET", url, {}, b"", {"challenge": "<script>alert(1)</script>"}),
                "expect": rejected("bad_request", 400),
            }
        )
    elif options.get("get_check") == "okta":
        # Okta's example request (developer.okta.com, event hooks, one-time verification request).
        challenge = {"X-Okta-Verification-Challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"}
        authorization = {"Authorization": configured}
        cases += [
            {
                "name": "GET one-time verification, with the hook's Authorization header",
                "request": request("GET", url, {**challenge, **authorization}, b"", {}),
                "expect": {
                    "verdict": "handshake",
                    "status": 200,
                    "content_type": "application/json",
                    "body": {"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg"},
                },
            },
            {
                "name": "GET verification without the Authorization header",
                "request": request("GET", url, challenge, b"", {}),
                "expect": rejected("missing_signature"),
            },
            {
                "name": "GET verification with another Authorization header",
                "request": request("GET", url, {**challenge, "Authorization": configured + "-guess"}, b"", {}),
                "expect": rejected("signature_mismatch"),
            },
            {
                "name": "GET without the verification challenge",
                "request": request("GET", url, authorization, b"", {}),
                "expect": rejected("bad_request", 400),
            },
        ]
    elif options.get("get_check") == "crc":
        # X's documented recipe: base64(HMAC-SHA256(consumer secret, crc_token)), prefixed sha256=.
        token = "9b4507b3-9040-4669-9ca3-6b94edb50553"
        digest = hmac.new(configured.encode(), token.encode(), hashlib.sha256).digest()
        cases += [
            {
                "name": "GET challenge-response check",
                "request": request("GET", url, {}, b"", {"crc_token": token}),
                "expect": {
                    "verdict": "handshake",
                    "status": 200,
                    "content_type": "application/json",
                    "body": {"response_token": "sha256=" + base64.b64encode(digest).decode()},
                },
            },
            {
                "name": "GET check without crc_token",
                "request": request("GET", url, {}, b"", {}),
                "expect": rejected("bad_request", 400),
            },
        ]
    else:
        cases.append(
            {
                "name": "GET on a source without a GET check",
                "request": request("GET", url, {}, b"", {}),
                "expect": rejected("method_not_allowed", 405),
            }
        )
    if options.get("head_check") == "ok":
        cases.append(
            {
                "name": "HEAD on the callback URL (webhook creation)",
                "request": request("HEAD", url, {}, b"", {}),
                "expect": {"verdict": "handshake", "status": 200},
            }
        )
    else:
        cases.append(
            {
                "name": "HEAD on a source without a HEAD check",
                "request": request("HEAD", url, {}, b"", {}),
                "expect": {"verdict": "rejected", "status": 405, "reason": "method_not_allowed"},
            }
        )
    if options.get("options_check") == "cloudevents":
        origin = options["webhook_origins"][0]
        cases += [
            {
                "name": "OPTIONS abuse-protection validation",
                "request": request("OPTIONS", url, {"WebHook-Request-Origin": origin}, b"", {}),
                "expect": {
                    "verdict": "handshake",
                    "status": 200,
                    "headers": {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"},
                },
            },
            {
                "name": "OPTIONS validation asking for a rate",
                "request": request(
                    "OPTIONS", url, {"WebHook-Request-Origin": origin, "WebHook-Request-Rate": "120"}, b"", {}
                ),
                "expect": {
                    "verdict": "handshake",
                    "status": 200,
                    "headers": {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "120"},
                },
            },
            {
                "name": "OPTIONS validation from another origin",
                "request": request("OPTIONS", url, {"WebHook-Request-Origin": "eventemitter.example.com"}, b"", {}),
                "expect": rejected("forbidden", 403),
            },
            {
                "name": "OPTIONS without WebHook-Request-Origin",
                "request": request("OPTIONS", url, {}, b"", {}),
                "expect": rejected("bad_request", 400),
            },
        ]
    else:
        cases.append(
            {
                "name": "OPTIONS on a source without an OPTIONS check",
                "request": request("OPTIONS", url, {"WebHook-Request-Origin": "eventemitter.example.com"}, b"", {}),
                "expect": rejected("method_not_allowed", 405),
            }
        )
    return cases


def setup_cases(
    options: dict[str, Any], url: str, headers: dict[str, str], signature_header: str, configured: str
) -> list[dict[str, Any]]:
    """The unsigned requests a provider sends while a subscription is made: WooCommerce's
    ping, answered 200 and nothing else; Notion's verification_token and Asana's
    X-Hook-Secret, refused once the source has its secret (as in every vector)."""
    unsigned = {key: value for key, value in headers.items() if key != signature_header}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    if options.get("unsigned_check") == "woocommerce":
        return [
            {
                "name": "the creation ping (webhook_id, unsigned)",
                "request": request("POST", url, form, b"webhook_id=42", {}),
                "expect": {"verdict": "handshake", "status": 200},
            },
            {
                "name": "a ping with more than webhook_id",
                "request": request("POST", url, form, b"webhook_id=42&x=1", {}),
                "expect": rejected("missing_signature"),
            },
        ]
    if options.get("setup_capture") == "notion":
        body = json.dumps({"verification_token": "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"}).encode()
        return [
            {
                "name": "a verification_token once the source has its secret",
                "request": request("POST", url, unsigned, body, {}),
                "expect": rejected("setup_secret_after_setup"),
            }
        ]
    if options.get("setup_capture") == "asana":
        handshake = {**unsigned, "X-Hook-Secret": "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"}
        return [
            {
                "name": "an X-Hook-Secret handshake once the source has its secret",
                "request": request("POST", url, handshake, b"", {}),
                "expect": rejected("setup_secret_after_setup"),
            }
        ]
    return []


def twilio_form_cases(url: str, secret: str) -> list[dict[str, Any]]:
    """Twilio's usual form post, signed over the URL and the sorted parameters by twilio's
    own code; its type is what users route on (SmsStatus). Twilio's signature does not
    bind the bytes, so the same parameters in another order are the same delivery."""
    params = {
        "MessageSid": "SM0001",
        "From": "+15017122661",
        "To": "+15558675310",
        "Body": "Hello world & more",
        "SmsStatus": "received",
    }
    signature = RequestValidator(secret).compute_signature(url, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "I-Twilio-Idempotency-Token": "idem-form-0001",
        "X-Twilio-Signature": signature,
    }
    reordered = urlencode(dict(reversed(params.items()))).encode()
    return [
        {
            "name": "form post signed over URL and sorted parameters",
            "request": request("POST", url, headers, urlencode(params).encode(), {}),
            "expect": {"verdict": "accepted", "status": 202, "event_id": "idem-form-0001", "type": "received"},
        },
        {
            "name": "the same form post, parameters reordered, under a fresh idempotency token",
            "request": request("POST", url, {**headers, "I-Twilio-Idempotency-Token": "idem-form-9999"}, reordered, {}),
            "expect": {"verdict": "duplicate", "status": 200, "event_id": "idem-form-0001"},
        },
    ]


def vector_of(
    name: str, options: dict[str, Any], secret: str, made_by: str, cases: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": name.split("-", 1)[1],
        "source": options,
        "secrets": [secret],
        "time": NOW,
        "positive_made_by": made_by,
        "cases": cases,
    }


def get_refused(url: str) -> dict[str, Any]:
    return {
        "name": "GET on a source without a GET check",
        "request": request("GET", url, {}, b"", {}),
        "expect": rejected("method_not_allowed", 405),
    }


# --- Mailgun: the signature object inside the JSON body ---------------------------------------

MAILGUN_TOKEN = "c0nf0rmancet0ken0000000000000000000000000000000001"


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    """Mailgun's documented recipe: hex HMAC-SHA256 of timestamp + token with the signing key."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def mailgun_body(
    key: str, *, timestamp: int = NOW, token: str = MAILGUN_TOKEN, event: str = EVENT_TYPE, parent_key: str = ""
) -> bytes:
    signature = {
        "timestamp": str(timestamp),
        "token": token,
        "signature": mailgun_signature(key, str(timestamp), token),
    }
    if parent_key:  # an event of a subaccount's domain: also signed with the primary account's key
        signature["parent-signature"] = mailgun_signature(parent_key, str(timestamp), token)
    document = {
        "signature": signature,
        "event-data": {
            "id": "CPgfbmQMTCKtHW6uIWtuVe",
            "timestamp": NOW - 5,
            "event": event,
            "recipient": "héllo@example.com",
            "message": {"headers": {"subject": "wörld"}},
        },
    }
    return json.dumps(document, ensure_ascii=False).encode()


def build_mailgun(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    configured, signing, other = secrets_for(name, "mailgun", full)
    url = BASE_URL + name.split("-", 1)[1]
    tolerance = int(full.get("tolerance_seconds", 900))
    json_type = {"Content-Type": "application/json"}
    body = mailgun_body(signing)
    accepted = {"verdict": "accepted", "status": 202, "event_id": MAILGUN_TOKEN, "type": EVENT_TYPE}
    again = {"verdict": "duplicate", "status": 200, "event_id": MAILGUN_TOKEN}
    document = json.loads(body)
    without = {key: value for key, value in document.items() if key != "signature"}
    truncated = json.loads(body)
    truncated["signature"]["signature"] = truncated["signature"]["signature"][:-2]
    new_token = json.loads(body)
    new_token["signature"]["token"] = MAILGUN_TOKEN[:-1] + "2"
    subaccount_token = MAILGUN_TOKEN[:-1] + "3"

    def post(name: str, payload: bytes, expect: dict[str, Any], headers: dict[str, str] = json_type) -> dict[str, Any]:
        return {"name": name, "request": request("POST", url, headers, payload, {}), "expect": expect}

    def encoded(document: dict[str, Any]) -> bytes:
        return json.dumps(document, ensure_ascii=False).encode()

    cases = [
        post("signed by the provider", body, accepted),
        post("the same delivery again (a provider's retry)", body, again),
        post(
            "the same delivery replayed with another Content-Type",
            body,
            again,
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        # The signature covers the timestamp and token only: a captured signature object
        # with other event data is the same delivery (its token), never a new event.
        post(
            "the captured signature object replayed with other event data",
            mailgun_body(signing, event="conformance.forged"),
            again,
        ),
        post(
            "signed with another secret",
            mailgun_body(other, token=MAILGUN_TOKEN[:-1] + "4"),
            rejected("signature_mismatch"),
        ),
        post("signature object missing", encoded(without), rejected("missing_signature")),
        post("signature truncated", encoded(truncated), rejected("malformed_signature")),
        post("the token changed", encoded(new_token), rejected("signature_mismatch")),
        post("empty body", b"", rejected("missing_signature")),
        post(
            "a subaccount's event: signature by another key, parent-signature by this one",
            mailgun_body(other, token=subaccount_token, parent_key=signing),
            {"verdict": "accepted", "status": 202, "event_id": subaccount_token, "type": EVENT_TYPE},
        ),
    ]
    for label, skew in (("stale", -(tolerance + 60)), ("future", tolerance + 60)):
        cases.append(
            post(
                f"{label} timestamp ({skew:+d} s, signed)",
                mailgun_body(signing, timestamp=NOW + skew, token=MAILGUN_TOKEN[:-1] + "5"),
                rejected("timestamp_out_of_tolerance"),
            )
        )
    cases.append(get_refused(url))
    return vector_of(
        name,
        options,
        configured,
        "the documented algorithm (Mailgun); accepted cases pass mailgun's SecurityGuard.verify_webhook",
        cases,
    )


# --- Amazon SNS: RSA over the canonical string, the certificate fetched from SNS ---------------

KEYS = Path(__file__).with_name("keys")
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:conformance-topic"
SNS_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem"
SNS_MESSAGE_ID = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
SNS_SUBSCRIBE_URL = (
    "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
    + SNS_TOPIC
    + "&Token=2336412f37fb687f5d51e6e2425c464d"
)


def sns_key(name: str) -> rsa.RSAPrivateKey:
    key = load_pem_private_key((KEYS / f"{name}.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def sns_certificate() -> bytes:
    """A self-signed certificate of the test signing key, as SNS serves its own at SigningCertURL."""
    key = sns_key("sns-test-signing-key")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com (conformance test)")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1_795_600_000)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM)


def sns_string_to_sign(message: dict[str, str]) -> bytes:
    """AWS's documented canonical string: Name\nValue\n per signed field, in its order."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode()


def sns_message(
    kind: str = "Notification",
    *,
    version: str = "1",
    key: str = "sns-test-signing-key",
    timestamp: int = NOW - 5,
    topic: str = SNS_TOPIC,
    cert_url: str = SNS_CERT_URL,
    message_id: str = SNS_MESSAGE_ID,
    subject: str | None = EVENT_TYPE,
) -> dict[str, str]:
    moment = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.123Z")
    message = {"Type": kind, "MessageId": message_id, "TopicArn": topic}
    if kind == "Notification":
        message["Message"] = json.dumps({"conformance": True, "note": "héllo, wörld"}, ensure_ascii=False)
        if subject is not None:
            message["Subject"] = subject
    else:
        message["Token"] = "2336412f37fb687f5d51e6e2425c464d"
        message["Message"] = f"You have chosen to subscribe to the topic {topic}.\nTo confirm, visit the SubscribeURL."
        message["SubscribeURL"] = SNS_SUBSCRIBE_URL
    message["Timestamp"] = moment
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS's SignatureVersion 1
    signature = sns_key(key).sign(sns_string_to_sign(message), padding.PKCS1v15(), digest)
    message.update(
        SignatureVersion=version,
        Signature=base64.b64encode(signature).decode(),
        SigningCertURL=cert_url,
        UnsubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + SNS_TOPIC + ":1",
    )
    return message


def build_sns(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    url = BASE_URL + name.split("-", 1)[1]
    tolerance = int(full.get("tolerance_seconds", 86_400))

    def post(label: str, message: dict[str, Any] | bytes, expect: dict[str, Any]) -> dict[str, Any]:
        body = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
        kind = message.get("Type", "Notification") if isinstance(message, dict) else "Notification"
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": str(kind),
            "x-amz-sns-message-id": SNS_MESSAGE_ID,
            "x-amz-sns-topic-arn": SNS_TOPIC,
        }
        return {"name": label, "request": request("POST", url, headers, body, {}), "expect": expect}

    def changed(message: dict[str, str], **fields: str | None) -> dict[str, str]:
        copy = dict(message)
        for field_name, value in fields.items():
            if value is None:
                copy.pop(field_name, None)
            else:
                copy[field_name] = value
        return copy

    signed = sns_message()
    again = {"verdict": "duplicate", "status": 200, "event_id": SNS_MESSAGE_ID}
    v2_id = SNS_MESSAGE_ID[:-1] + "5"
    no_subject_id = SNS_MESSAGE_ID[:-1] + "6"
    cases = [
        post(
            "signed by the provider (SignatureVersion 1, SHA1withRSA)",
            signed,
            {"verdict": "accepted", "status": 202, "event_id": SNS_MESSAGE_ID, "type": EVENT_TYPE},
        ),
        post("the same delivery again (a provider's retry)", signed, again),
        post(
            "the same message with an unsigned field changed (UnsubscribeURL)",
            changed(signed, UnsubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=1"),
            again,
        ),
        post(
            "SignatureVersion 2 (SHA256withRSA)",
            sns_message(version="2", message_id=v2_id),
            {"verdict": "accepted", "status": 202, "event_id": v2_id, "type": EVENT_TYPE},
        ),
        post(
            "a notification without a Subject: its type is the Type",
            sns_message(message_id=no_subject_id, subject=None),
            {"verdict": "accepted", "status": 202, "event_id": no_subject_id, "type": "Notification"},
        ),
        post("the Message changed", changed(signed, Message="{}"), rejected("signature_mismatch")),
        post("the Subject changed", changed(signed, Subject="other"), rejected("signature_mismatch")),
        post("the Subject removed", changed(signed, Subject=None), rejected("signature_mismatch")),
        post(
            "the MessageId changed",
            changed(signed, MessageId=SNS_MESSAGE_ID[:-1] + "9"),
            rejected("signature_mismatch"),
        ),
        post(
            "SignatureVersion 2 claimed for a SHA1withRSA signature",
            changed(signed, SignatureVersion="2"),
            rejected("signature_mismatch"),
        ),
        post(
            "signed with another key (the certificate at the URL is SNS's)",
            sns_message(key="sns-test-other-key", message_id=SNS_MESSAGE_ID[:-1] + "7"),
            rejected("signature_mismatch"),
        ),
        post(
            "a genuine message of a topic the source does not accept",
            sns_message(topic=SNS_TOPIC + "-other", message_id=SNS_MESSAGE_ID[:-1] + "8"),
            rejected("topic_not_accepted"),
        ),
        post("the Signature field missing", changed(signed, Signature=None), rejected("missing_signature")),
        post(
            "signature truncated",
            changed(signed, Signature=signed["Signature"][:-4]),
            rejected("signature_mismatch"),
        ),
        post("empty body", b"", rejected("missing_signature")),
    ]
    for host_label, cert_url in (
        ("a SigningCertURL on another host", "https://sns.us-east-1.amazonaws.com.example.com/cert.pem"),
        ("a SigningCertURL over http", SNS_CERT_URL.replace("https:", "http:")),
        ("a SigningCertURL on another port", SNS_CERT_URL.replace(".com/", ".com:8443/")),
        ("a SigningCertURL with credentials", SNS_CERT_URL.replace("https://", "https://user@")),
        ("a SigningCertURL that is not a .pem", SNS_CERT_URL.replace(".pem", ".txt")),
    ):
        cases.append(
            post(
                f"{host_label} (signed)",
                sns_message(cert_url=cert_url, message_id=SNS_MESSAGE_ID[:-1] + "a"),
                rejected("untrusted_certificate_url"),
            )
        )
    for label, skew in (("stale", -(tolerance + 60)), ("future", tolerance + 60)):
        cases.append(
            post(
                f"{label} timestamp ({skew:+d} s, signed)",
                sns_message(timestamp=NOW + skew, message_id=SNS_MESSAGE_ID[:-1] + "b"),
                rejected("timestamp_out_of_tolerance"),
            )
        )
    confirm = full.get("subscription", "confirm") == "confirm"
    cases += [
        post(
            "SubscriptionConfirmation: confirmed by fetching its SubscribeURL, never queued"
            if confirm
            else "SubscriptionConfirmation: left to the operator, never queued",
            sns_message("SubscriptionConfirmation", message_id=SNS_MESSAGE_ID[:-1] + "c"),
            {
                "verdict": "handshake",
                "status": 200,
                "content_type": "application/json",
                "body": {"status": "confirmed" if confirm else "awaiting confirmation"},
            },
        ),
        post(
            "UnsubscribeConfirmation: answered, never queued",
            sns_message("UnsubscribeConfirmation", message_id=SNS_MESSAGE_ID[:-1] + "d"),
            {
                "verdict": "handshake",
                "status": 200,
                "content_type": "application/json",
                "body": {"status": "unsubscribed"},
            },
        ),
        post(
            "a SubscriptionConfirmation with its SubscribeURL changed",
            changed(
                sns_message("SubscriptionConfirmation", message_id=SNS_MESSAGE_ID[:-1] + "e"),
                SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y",
            ),
            rejected("signature_mismatch"),
        ),
        get_refused(url),
    ]
    vector = vector_of(
        name, options, SNS_TOPIC, "the documented algorithm (AWS's canonical string), signed by a test key", cases
    )
    vector["documents"] = {
        SNS_CERT_URL: sns_certificate().decode(),
        SNS_SUBSCRIBE_URL: "<ConfirmSubscriptionResponse/>",
    }
    return vector


# --- PayPal: SHA256withRSA over id|time|webhook id|crc32, the certificate from PayPal ----------

PAYPAL_WEBHOOK_ID = "9XL90610J3647323C"
PAYPAL_TRANSMISSION = "d938e770-8046-11e6-8103-6b62a8a99ac4"
PAYPAL_CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-conformance"
PAYPAL_OTHER_CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-not-paypals"


def rsa_certificate(common_name: str) -> bytes:
    """A self-signed certificate of the test signing key."""
    key = sns_key("sns-test-signing-key")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1_795_600_001)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2036, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM)


def crc32_suffix(data: bytes, target: int) -> bytes:
    """Four bytes that, appended to `data`, make its CRC32 `target`: what anyone can do,
    so a CRC32 binds nothing against an attacker."""
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ 0xEDB88320 if value & 1 else value >> 1
        table.append(value)
    by_top = {value >> 24: index for index, value in enumerate(table)}
    register, indices = target ^ 0xFFFFFFFF, []
    for _ in range(4):
        index = by_top[register >> 24]
        indices.append(index)
        register = ((register ^ table[index]) << 8) & 0xFFFFFFFF
    register, suffix = zlib.crc32(data) ^ 0xFFFFFFFF, bytearray()
    for index in reversed(indices):
        suffix.append((register ^ index) & 0xFF)
        register = (register >> 8) ^ table[index]
    assert zlib.crc32(data + bytes(suffix)) == target
    return bytes(suffix)


def paypal_signed_string(transmission: str, sent: str, webhook_id: str, body: bytes) -> str:
    """PayPal's documented string: transmission id, time, webhook id and the body's CRC32
    as an unsigned decimal, joined by `|` (as its SDKs build it)."""
    return f"{transmission}|{sent}|{webhook_id}|{binascii.crc32(body) & 0xFFFFFFFF}"


def paypal_headers(
    body: bytes,
    *,
    webhook_id: str = PAYPAL_WEBHOOK_ID,
    transmission: str = PAYPAL_TRANSMISSION,
    timestamp: int = NOW - 5,
    key: str = "sns-test-signing-key",
    cert_url: str = PAYPAL_CERT_URL,
) -> dict[str, str]:
    """Headers as PayPal sends them, signed over the documented string."""
    sent = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = paypal_signed_string(transmission, sent, webhook_id, body)
    signature = sns_key(key).sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return {
        "Content-Type": "application/json",
        "PAYPAL-TRANSMISSION-ID": transmission,
        "PAYPAL-TRANSMISSION-TIME": sent,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }


def build_paypal(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    url = BASE_URL + name.split("-", 1)[1]
    tolerance = int(full.get("tolerance_seconds", 86_400))
    document = {
        "id": "WH-9UG43882HX7271132-6E0871324L7949614",
        "event_version": "1.0",
        "create_time": "2026-11-25T09:46:30Z",
        "resource_type": "sale",
        "event_type": EVENT_TYPE,
        "summary": "Payment completed for € 21.00 — héllo",
        "resource": {"id": "80F85758S3080410K", "state": "completed"},
    }
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = paypal_headers(body)
    again = {"verdict": "duplicate", "status": 200, "event_id": PAYPAL_TRANSMISSION}

    def post(label: str, payload: bytes, sent: dict[str, str], expect: dict[str, Any]) -> dict[str, Any]:
        return {"name": label, "request": request("POST", url, sent, payload, {}), "expect": expect}

    forged = json.dumps({**document, "event_type": "PAYMENT.SALE.REFUNDED"}, ensure_ascii=False).encode()
    forged += crc32_suffix(forged, zlib.crc32(body))
    flipped = bytearray(body)
    flipped[len(flipped) // 2] ^= 0x01
    other_id = PAYPAL_TRANSMISSION[:-1] + "5"
    cases = [
        post(
            "signed by the provider",
            body,
            headers,
            {"verdict": "accepted", "status": 202, "event_id": PAYPAL_TRANSMISSION, "type": EVENT_TYPE},
        ),
        post("the same delivery again (a provider's retry)", body, headers, again),
        post(
            "the same delivery replayed with another Content-Type",
            body,
            {**headers, "Content-Type": "application/x-www-form-urlencoded"},
            again,
        ),
        # PayPal binds the body by CRC32 only: a captured transmission with another body of
        # the same CRC32 verifies, and is the same delivery (its signed transmission id).
        post("the captured transmission with a forged body of the same CRC32", forged, headers, again),
        post(
            "the same delivery replayed under a fresh PAYPAL-TRANSMISSION-ID",
            body,
            {**headers, "PAYPAL-TRANSMISSION-ID": other_id},
            rejected("signature_mismatch"),
        ),
        post(
            "signed for another webhook ID (another app or listener)",
            body,
            paypal_headers(body, webhook_id="4JH86294D6297924G", transmission=other_id),
            rejected("signature_mismatch"),
        ),
        post(
            "signed with another secret (another key; the certificate at the URL is PayPal's)",
            body,
            paypal_headers(body, key="sns-test-other-key", transmission=other_id),
            rejected("signature_mismatch"),
        ),
        post(
            "signature header missing",
            body,
            {k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"},
            rejected("missing_signature"),
        ),
        post(
            "signature truncated",
            body,
            {**headers, "PAYPAL-TRANSMISSION-SIG": headers["PAYPAL-TRANSMISSION-SIG"][:-4]},
            rejected("signature_mismatch"),
        ),
        post("one body byte changed", bytes(flipped), headers, rejected("signature_mismatch")),
        post("empty body", b"", headers, rejected("signature_mismatch")),
        post(
            "PAYPAL-AUTH-ALGO other than SHA256withRSA",
            body,
            {**headers, "PAYPAL-AUTH-ALGO": "SHA1withRSA"},
            rejected("unsupported_algorithm"),
        ),
        post(
            "a certificate whose subject is not PayPal's",
            body,
            paypal_headers(body, transmission=other_id, cert_url=PAYPAL_OTHER_CERT_URL),
            rejected("untrusted_certificate"),
        ),
    ]
    for label, cert_url in (
        ("on another host", "https://api.sandbox.paypal.com.example.com/v1/notifications/certs/CERT-1"),
        ("over http", PAYPAL_CERT_URL.replace("https:", "http:")),
        ("on PayPal's host but not a certificate path", "https://api.paypal.com/v1/oauth2/token"),
        ("on another PayPal host", "https://www.paypal.com/v1/notifications/certs/CERT-1"),
    ):
        cases.append(
            post(
                f"a PAYPAL-CERT-URL {label} (signed)",
                body,
                paypal_headers(body, transmission=other_id, cert_url=cert_url),
                rejected("untrusted_certificate_url"),
            )
        )
    for label, skew in (("stale", -(tolerance + 60)), ("future", tolerance + 60)):
        cases.append(
            post(
                f"{label} timestamp ({skew:+d} s, signed)",
                body,
                paypal_headers(body, transmission=other_id, timestamp=NOW + skew),
                rejected("timestamp_out_of_tolerance"),
            )
        )
    cases.append(get_refused(url))
    vector = vector_of(
        name,
        options,
        PAYPAL_WEBHOOK_ID,
        "the documented algorithm (PayPal), signed SHA256withRSA by a test key",
        cases,
    )
    vector["documents"] = {
        PAYPAL_CERT_URL: rsa_certificate("messageverificationcerts.sandbox.paypal.com").decode(),
        PAYPAL_OTHER_CERT_URL: rsa_certificate("messageverificationcerts.example.com").decode(),
    }
    return vector


# --- Adyen: one signature per notification item, inside the body -----------------------------

ADYEN_PSP_REFERENCE = "7914073381342284"


def adyen_item(key: str, **changes: Any) -> dict[str, Any]:
    """A NotificationRequestItem signed by Adyen's SDK (generate_notification_sig) with `key`."""
    item: dict[str, Any] = {
        "additionalData": {"authCode": "039404", "cardSummary": "1111"},
        "amount": {"currency": "EUR", "value": 1130},
        "eventCode": EVENT_TYPE,
        "eventDate": "2026-11-25T10:46:35+01:00",
        "merchantAccountCode": "ConformanceMerchant",
        "merchantReference": "héllo:wörld",  # non-ASCII and a colon, on purpose
        "operations": ["CANCEL", "CAPTURE", "REFUND"],
        "paymentMethod": "visa",
        "pspReference": ADYEN_PSP_REFERENCE,
        "reason": "039404:1111:03/2030",
        "success": "true",
    }
    item.update(changes)
    signed = {name: value for name, value in item.items() if name != "additionalData"}
    item["additionalData"] = {
        **item["additionalData"],
        "hmacSignature": Adyen.util.generate_notification_sig(signed, key).decode(),
    }
    return item


def adyen_body(*items: dict[str, Any]) -> bytes:
    document = {"live": "false", "notificationItems": [{"NotificationRequestItem": item} for item in items]}
    return json.dumps(document, ensure_ascii=False).encode()


def build_adyen(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    configured, signing, other = secrets_for(name, "adyen", full)
    url = BASE_URL + name.split("-", 1)[1]
    json_type = {"Content-Type": "application/json"}
    body = adyen_body(adyen_item(signing))
    event_id = hashlib.sha256(body).hexdigest()  # Adyen sends no event id: the body's digest
    accepted = {"verdict": "accepted", "status": 202, "event_id": event_id, "type": EVENT_TYPE}
    again = {"verdict": "duplicate", "status": 200, "event_id": event_id}

    def post(label: str, payload: bytes, expect: dict[str, Any], headers: dict[str, str] = json_type) -> dict[str, Any]:
        return {"name": label, "request": request("POST", url, headers, payload, {}), "expect": expect}

    def edited(item: dict[str, Any], **changes: Any) -> dict[str, Any]:
        return {**item, **changes}

    genuine = adyen_item(signing)
    unsigned = edited(genuine, additionalData={"hmacSignature": genuine["additionalData"]["hmacSignature"]})
    truncated = edited(genuine, additionalData={"hmacSignature": genuine["additionalData"]["hmacSignature"][:-4]})
    capture = adyen_item(
        signing, eventCode="CAPTURE", pspReference="8814073381342285", originalReference=ADYEN_PSP_REFERENCE
    )
    batch = adyen_body(adyen_item(signing, pspReference="7914073381342286"), capture)
    cases = [
        post("signed by the provider", body, accepted),
        post("the same delivery again (a provider's retry)", body, again),
        post(
            "the same delivery replayed with another Content-Type",
            body,
            again,
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        # The signature covers eight fields of the item: the captured signature with other
        # unsigned data (additionalData, reason, …) is the same delivery, never a new event.
        post("the captured notification replayed with other unsigned fields", adyen_body(unsigned), again),
        post("signed with another secret", adyen_body(adyen_item(other)), rejected("signature_mismatch")),
        post(
            "a signed field changed (the amount)",
            adyen_body(edited(genuine, amount={"currency": "EUR", "value": 1})),
            rejected("signature_mismatch"),
        ),
        post(
            "a signed field changed (success)",
            adyen_body(edited(genuine, success="false")),
            rejected("signature_mismatch"),
        ),
        post(
            "hmacSignature missing",
            adyen_body(edited(genuine, additionalData={"authCode": "039404"})),
            rejected("missing_signature"),
        ),
        post("signature truncated", adyen_body(truncated), rejected("signature_mismatch")),
        post("no notificationItems", json.dumps({"live": "false"}).encode(), rejected("missing_signature")),
        post("empty body", b"", rejected("missing_signature")),
        post(
            "a batch of two items, each signed",
            batch,
            {"verdict": "accepted", "status": 202, "event_id": hashlib.sha256(batch).hexdigest(), "type": EVENT_TYPE},
        ),
        # Adyen's SDK checks the first item only; every item must verify here.
        post(
            "a batch whose second item is signed with another secret",
            adyen_body(adyen_item(signing, pspReference="7914073381342287"), adyen_item(other, eventCode="CAPTURE")),
            rejected("signature_mismatch"),
        ),
    ]
    cases.append(get_refused(url))
    return vector_of(
        name,
        options,
        configured,
        "Adyen (Adyen.util.generate_notification_sig); accepted cases pass Adyen.util.is_valid_hmac_notification",
        cases,
    )


# --- Braintree: bt_signature and bt_payload, a form post ---------------------------------------

BRAINTREE_PUBLIC_KEY = "conformance_public_key"


class _FrozenUtc(datetime):
    """The SDK stamps its sample notifications with the current time: the vectors' own."""

    @classmethod
    def utcnow(cls) -> _FrozenUtc:  # the name the SDK calls
        return cls.fromtimestamp(NOW - 5, tz=UTC).replace(tzinfo=None)


def braintree_sample(
    private_key: str, kind: str, subject_id: str, public_key: str = BRAINTREE_PUBLIC_KEY
) -> dict[str, str]:
    """{bt_signature, bt_payload} as Braintree's SDK makes them (WebhookTesting.sample_notification)."""
    gateway = braintree.BraintreeGateway(
        braintree.Configuration(
            environment=braintree.Environment.Sandbox,
            merchant_id="conformance_merchant",
            public_key=public_key,
            private_key=private_key,
        )
    )
    testing = braintree.webhook_testing_gateway
    original, testing.datetime = testing.datetime, _FrozenUtc  # the SDK's clock
    try:
        sample = gateway.webhook_testing.sample_notification(kind, subject_id)
    finally:
        testing.datetime = original
    # The payload comes as bytes (base64.encodebytes): the form carries its text.
    return {"bt_signature": str(sample["bt_signature"]), "bt_payload": sample["bt_payload"].decode("ascii")}


def build_braintree(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    configured, signing, other = secrets_for(name, "braintree", full)
    url = BASE_URL + name.split("-", 1)[1]
    form = {"Content-Type": FORM_TYPE}
    kind = braintree.WebhookNotification.Kind.SubscriptionChargedSuccessfully
    sample = braintree_sample(signing, kind, "conformance_subscription_1")
    body = urlencode(sample).encode()
    event_id = hashlib.sha256(body).hexdigest()  # Braintree sends no event id: the body's digest
    again = {"verdict": "duplicate", "status": 200, "event_id": event_id}

    def post(label: str, payload: bytes, expect: dict[str, Any], headers: dict[str, str] = form) -> dict[str, Any]:
        return {"name": label, "request": request("POST", url, headers, payload, {}), "expect": expect}

    signature, payload = sample["bt_signature"], sample["bt_payload"]
    other_sample = braintree_sample(other, kind, "conformance_subscription_1")
    dispute = braintree_sample(signing, braintree.WebhookNotification.Kind.DisputeOpened, "conformance_dispute_1")
    rotated = {
        "bt_signature": braintree_sample(other, "dispute_opened", "x", "retired_public_key")["bt_signature"]
        + "&"
        + dispute["bt_signature"],
        "bt_payload": dispute["bt_payload"],
    }
    middle = len(payload) // 2
    flipped = payload[:middle] + ("B" if payload[middle] == "A" else "A") + payload[middle + 1 :]
    cases = [
        post(
            "signed by the provider",
            body,
            {"verdict": "accepted", "status": 202, "event_id": event_id, "type": kind},
        ),
        post("the same delivery again (a provider's retry)", body, again),
        post("the same delivery replayed with another Content-Type", body, again, {"Content-Type": "application/json"}),
        # The signature binds bt_payload: the parameters in another order, or the payload
        # without the newline some frameworks strip, are the same delivery.
        post(
            "the same delivery with its parameters in another order",
            urlencode({"bt_payload": payload, "bt_signature": signature}).encode(),
            again,
        ),
        post(
            "the same delivery with the payload's last newline stripped",
            urlencode({"bt_signature": signature, "bt_payload": payload.rstrip("\n")}).encode(),
            again,
        ),
        post("signed with another secret", urlencode(other_sample).encode(), rejected("signature_mismatch")),
        post("bt_signature missing", urlencode({"bt_payload": payload}).encode(), rejected("missing_signature")),
        post(
            "signature truncated",
            urlencode({"bt_signature": signature[:-2], "bt_payload": payload}).encode(),
            rejected("malformed_signature"),
        ),
        post(
            "one payload character changed",
            urlencode({"bt_signature": signature, "bt_payload": flipped}).encode(),
            rejected("signature_mismatch"),
        ),
        post("empty body", b"", rejected("missing_signature")),
        post(
            "another notification listing another API key's signature, then ours",
            urlencode(rotated).encode(),
            {
                "verdict": "accepted",
                "status": 202,
                "event_id": hashlib.sha256(urlencode(rotated).encode()).hexdigest(),
                "type": "dispute_opened",
            },
        ),
        get_refused(url),
    ]
    return vector_of(
        name,
        options,
        configured,
        "braintree (WebhookTesting.sample_notification); accepted cases pass braintree's WebhookNotification.parse",
        cases,
    )


# --- Contentful: an HMAC over a canonical request (method, path, signed headers, body) ---------

CONTENTFUL_LISTED = "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic,x-contentful-webhook-name"


def contentful_path(url: str) -> str:
    """The toolkit's getNormalizedEncodedURI: the query through Node's querystring.escape,
    then the whole through encodeURI (written from src/requests/utils.ts)."""
    rest = url.split("://", 1)[1]
    path_and_query = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    pathname, _, search = path_and_query.partition("?")
    search = search.split("?")[0]
    escaped = quote(search, safe="-_.!~*'()")
    return quote(f"{pathname}?{escaped}" if escaped else pathname, safe=";,/?:@&=+$-_.!~*'()#")


def contentful_headers(secret: str, url: str, body: bytes, topic: str, millis: int) -> dict[str, str]:
    """The headers of a Contentful webhook signed as the toolkit's signRequest signs one."""
    signed = {
        "x-contentful-signed-headers": CONTENTFUL_LISTED,
        "x-contentful-timestamp": str(millis),
        "x-contentful-topic": topic,
        "x-contentful-webhook-name": "conformance",
    }
    lines = ";".join(f"{key}:{value}" for key, value in sorted(signed.items()))
    content = "\n".join(["POST", contentful_path(url), lines, body.decode()]).encode()
    signature = hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/vnd.contentful.management.v1+json",
        "X-Contentful-Topic": topic,
        "X-Contentful-Webhook-Name": "conformance",
        "X-Contentful-Signed-Headers": CONTENTFUL_LISTED,
        "X-Contentful-Timestamp": str(millis),
        "X-Contentful-Signature": signature,
    }


def build_contentful(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    configured, _, other = secrets_for(name, "contentful", full)
    url = full["url"]
    tolerance = int(full.get("tolerance_seconds", 30))
    document = {
        "sys": {"type": "Entry", "id": "5KsDBWseXY6QegucYAoacS", "space": {"sys": {"id": "yadj1kx9rmg0"}}},
        "fields": {"title": {"en-US": "héllo, wörld"}},
    }
    body = json.dumps(document, ensure_ascii=False).encode()
    digest = hashlib.sha256(body).hexdigest()
    headers = contentful_headers(configured, url, body, EVENT_TYPE, NOW * 1000)
    again = {"verdict": "duplicate", "status": 200, "event_id": digest}

    def post(label: str, sent: dict[str, str], expect: dict[str, Any], payload: bytes = body) -> dict[str, Any]:
        return {"name": label, "request": request("POST", url, sent, payload, {}), "expect": expect}

    without = {key: value for key, value in headers.items() if key != "X-Contentful-Timestamp"}
    unsigned = {key: value for key, value in headers.items() if key != "X-Contentful-Signature"}
    flipped = bytearray(body)
    flipped[len(flipped) // 2] ^= 0x01
    cases = [
        post(
            "signed by the provider",
            headers,
            {"verdict": "accepted", "status": 202, "event_id": digest, "type": EVENT_TYPE},
        ),
        post("the same delivery again (a provider's retry)", headers, again),
        post(
            "the same delivery replayed with another Content-Type",
            {**headers, "Content-Type": "application/x-www-form-urlencoded"},
            again,
        ),
        post(
            "signed with another secret",
            contentful_headers(other, url, body, EVENT_TYPE, NOW * 1000),
            rejected("signature_mismatch"),
        ),
        post("signature header missing", unsigned, rejected("missing_signature")),
        post(
            "signature truncated",
            {**headers, "X-Contentful-Signature": headers["X-Contentful-Signature"][:-2]},
            rejected("malformed_signature"),
        ),
        post("one body byte changed", headers, rejected("signature_mismatch"), bytes(flipped)),
        post("empty body", headers, rejected("signature_mismatch"), b""),
        post(
            "a signed header changed (the topic)",
            {**headers, "X-Contentful-Topic": "ContentManagement.Entry.delete"},
            rejected("signature_mismatch"),
        ),
        post(
            "signed over another path (a trailing slash more)",
            contentful_headers(
                configured, url.replace("?", "/?", 1) if "?" in url else url + "/", body, EVENT_TYPE, NOW * 1000
            ),
            rejected("signature_mismatch"),
        ),
        post(
            "the timestamp moved by a millisecond",
            {**headers, "X-Contentful-Timestamp": str(NOW * 1000 + 1)},
            rejected("signature_mismatch"),
        ),
        post("timestamp header missing", without, rejected("missing_timestamp")),
    ]
    for when, skew in (("stale", -(tolerance + 60)), ("future", tolerance + 60)):
        cases.append(
            post(
                f"{when} timestamp ({skew:+d} s, signed)",
                contentful_headers(configured, url, body, EVENT_TYPE, (NOW + skew) * 1000),
                rejected("timestamp_out_of_tolerance"),
            )
        )
    cases.append(get_refused(url))
    return vector_of(
        name,
        options,
        configured,
        "the documented algorithm (contentful_headers, from @contentful/node-apps-toolkit's src/requests); "
        "accepted cases pass the toolkit's verifyRequest (checked with 3.16.1)",
        cases,
    )


# --- Figma: the passcode inside the JSON body, cut out of what is kept ---------------------------

FIGMA_DOCS_EVENTS = "https://developers.figma.com/docs/rest-api/webhooks-events"


def figma_body(*members: tuple[str, Any], separator: str = ",\n", raw_names: bool = False) -> tuple[bytes, bytes]:
    """(the body Figma sends, the body a receiver keeps): a JSON object written member by
    member, as Figma's examples lay it out, and the same bytes without its `passcode` members.
    `raw_names`: the names are written as given (escapes and all), not JSON-encoded."""

    def member(name: str, value: Any) -> str:
        written = name if raw_names else json.dumps(name)
        return f"{written}: {json.dumps(value, ensure_ascii=False)}"

    def decoded(name: str) -> str:
        return str(json.loads(name)) if raw_names else name

    sent = "{\n" + separator.join(member(name, value) for name, value in members) + "\n}"
    kept = "{\n" + separator.join(member(name, value) for name, value in members if decoded(name) != "passcode") + "\n}"
    return sent.encode(), kept.encode()


def figma_update(passcode: Any, **changes: Any) -> list[tuple[str, Any]]:
    """Figma's documented FILE_UPDATE example (webhooks-events), with this passcode."""
    members: dict[str, Any] = {
        "event_type": "FILE_UPDATE",
        "file_key": "CL06nJNn5eZLQKDoARMND5",
        "file_name": "Developer page mockup demo",
        "passcode": passcode,
        "timestamp": "2020-02-23T20:27:16Z",
        "webhook_id": "22",
    }
    members.update(changes)
    return list(members.items())


def build_figma(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    configured, signing, other = secrets_for(name, "figma", full)
    url = BASE_URL + name.split("-", 1)[1]
    json_type = {"Content-Type": "application/json"}

    def post(label: str, payload: bytes, expect: dict[str, Any], headers: dict[str, str] = json_type) -> dict[str, Any]:
        return {"name": label, "request": request("POST", url, headers, payload, {}), "expect": expect}

    def accepted(kept: bytes, event_type: str) -> dict[str, Any]:
        # Figma sends no delivery id: the id is the SHA-256 of the body as kept (no passcode).
        return {"verdict": "accepted", "status": 200, "event_id": hashlib.sha256(kept).hexdigest(), "type": event_type}

    def again(kept: bytes) -> dict[str, Any]:
        return {"verdict": "duplicate", "status": 200, "event_id": hashlib.sha256(kept).hexdigest()}

    body, kept = figma_body(*figma_update(signing))
    # The same event with another webhook's passcode: nothing else tells it apart.
    rotated, _ = figma_body(*figma_update(other))
    comment, comment_kept = figma_body(
        ("comment", [{"text": "TODO: "}, {"mention": "811724164054158337"}, {"text": " change selection colors"}]),
        ("comment_id", "32"),
        ("created_at", "2020-02-23T20:27:16Z"),
        ("event_type", "FILE_COMMENT"),
        ("file_key", "zH44k2FUM629Fa4EMShiHL"),
        ("file_name", "Mockup library"),
        ("mentions", [{"id": "811724164054158337", "handle": "Evan Wallace"}]),
        ("passcode", signing),
        ("timestamp", "2020-02-23T20:27:16Z"),
        ("triggered_by", {"id": "813845097374535682", "handle": "Dylan Field"}),
        ("webhook_id", "22"),
    )
    ping, _ = figma_body(
        ("event_type", "PING"), ("passcode", signing), ("timestamp", "2020-02-23T20:27:16Z"), ("webhook_id", "22")
    )
    wrong_ping, _ = figma_body(
        ("event_type", "PING"), ("passcode", other), ("timestamp", "2020-02-23T20:27:16Z"), ("webhook_id", "22")
    )
    escaped, escaped_kept = figma_body(
        *[
            (json.dumps(key) if key != "passcode" else '"pass\\u0063ode"', value)
            for key, value in figma_update(signing, file_key="EsCaPeDnAmE0000000000a")
        ],
        raw_names=True,
    )
    members = figma_update(signing, file_key="DuPlIcAtEkEy0000000000")
    wrong_then_right = [("passcode", other), *members]
    right_then_wrong = [*members, ("passcode", other)]
    cases = [
        post("Figma's FILE_UPDATE example with the webhook's passcode", body, accepted(kept, "FILE_UPDATE")),
        post("the same delivery again (a provider's retry)", body, again(kept)),
        post(
            "the same delivery replayed with another Content-Type",
            body,
            again(kept),
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        post("Figma's FILE_COMMENT example", comment, accepted(comment_kept, "FILE_COMMENT")),
        post("passcode is another webhook's", rotated, rejected("signature_mismatch")),
        post(
            "passcode missing",
            figma_body(*figma_update(signing)[:3], *figma_update(signing)[4:])[0],
            rejected("missing_signature"),
        ),
        post("passcode empty", figma_body(*figma_update(""))[0], rejected("missing_signature")),
        post(
            "passcode one character short", figma_body(*figma_update(signing[:-1]))[0], rejected("signature_mismatch")
        ),
        post("passcode a number", figma_body(*figma_update(22))[0], rejected("malformed_signature")),
        post(
            "passcode a list holding the passcode",
            figma_body(*figma_update([signing]))[0],
            rejected("malformed_signature"),
        ),
        post(
            "passcode an object holding the passcode",
            figma_body(*figma_update({"passcode": signing}))[0],
            rejected("malformed_signature"),
        ),
        post("passcode null", figma_body(*figma_update(None))[0], rejected("malformed_signature")),
        # JSON parsers disagree on which of two members counts: neither is taken.
        post(
            "two passcode members, the right one last",
            figma_body(*wrong_then_right)[0],
            rejected("malformed_signature"),
        ),
        post(
            "two passcode members, the right one first",
            figma_body(*right_then_wrong)[0],
            rejected("malformed_signature"),
        ),
        # The name as JSON decodes it is the name: written with an escape it is still the passcode.
        post("the passcode's name written with a JSON escape", escaped, accepted(escaped_kept, "FILE_UPDATE")),
        post("not JSON", b"event_type=FILE_UPDATE&passcode=" + signing.encode(), rejected("missing_signature")),
        post("a JSON array", json.dumps([{"passcode": signing}]).encode(), rejected("missing_signature")),
        post("JSON followed by more", body + b"{}", rejected("missing_signature")),
        post("empty body", b"", rejected("missing_signature")),
        {
            "name": "Figma's PING, sent when the webhook is made",
            "request": request("POST", url, json_type, ping, {}),
            "expect": {"verdict": "handshake", "status": 200},
        },
        post("a PING with another webhook's passcode", wrong_ping, rejected("signature_mismatch")),
    ]
    cases.append(get_refused(url))
    return vector_of(
        name,
        options,
        configured,
        f"Figma's documented examples ({FIGMA_DOCS_EVENTS}) with the passcode set, as Figma sends it",
        cases,
    )


# --- query_token (Mailchimp): the key in the URL's query string --------------------------------

# Mailchimp's documented subscribe example
# (https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/), as it posts it.
MAILCHIMP_SUBSCRIBE = (
    ("type", "subscribe"),
    ("fired_at", "2009-03-26 21:35:57"),
    ("data[id]", "8a25ff1d98"),
    ("data[list_id]", "a6b5da1054"),
    ("data[email]", "api@mailchimp.com"),
    ("data[email_type]", "html"),
    ("data[merges][EMAIL]", "api@mailchimp.com"),
    ("data[merges][FNAME]", "Mailchimp"),
    ("data[merges][LNAME]", "API"),
    ("data[merges][INTERESTS]", "Group1,Group2"),
    ("data[ip_opt]", "10.20.10.30"),
    ("data[ip_signup]", "10.20.10.30"),
)


def build_query_token(name: str, options: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """The key is the whole credential: it binds nothing of the body, so a changed body
    with the key is another event (the weakness the README states), and the key's absence
    or a wrong one is refused. Nothing names a delivery: keyed on the body's digest."""
    configured, signing, other = secrets_for(name, "query_token", full)
    url = BASE_URL + name.split("-", 1)[1]
    parameter = full.get("parameter", "key")
    form = full.get("body_format") == "form"
    content_type = {"Content-Type": FORM_TYPE if form else "application/json"}
    if form:
        body = urlencode(MAILCHIMP_SUBSCRIBE).encode()
        changed = body.replace(b"type=subscribe", b"type=unsubscribe")
        event_type, changed_type = "subscribe", "unsubscribe"
    else:
        body = json.dumps({"type": EVENT_TYPE, "note": "héllo, wörld"}, ensure_ascii=False).encode()
        changed = json.dumps({"type": EVENT_TYPE, "note": "another event"}, ensure_ascii=False).encode()
        event_type = changed_type = EVENT_TYPE if full.get("type_path") else "unknown"
    digest = hashlib.sha256(body).hexdigest()
    keyed = {parameter: signing}

    def post(label: str, query: dict[str, str], expect: dict[str, Any], payload: bytes = body) -> dict[str, Any]:
        return {"name": label, "request": request("POST", url, content_type, payload, query), "expect": expect}

    cases = [
        post("key in the URL", keyed, {"verdict": "accepted", "status": 202, "event_id": digest, "type": event_type}),
        post(
            "the same delivery again (a provider's retry)",
            keyed,
            {"verdict": "duplicate", "status": 200, "event_id": digest},
        ),
        post("key missing", {}, rejected("missing_signature")),
        post("key empty", {parameter: ""}, rejected("missing_signature")),
        post("another secret as the key", {parameter: other}, rejected("signature_mismatch")),
        post("key truncated", {parameter: signing[:-1]}, rejected("signature_mismatch")),
        post("the key under another parameter name", {parameter + "x": signing}, rejected("missing_signature")),
        {
            "name": "the key in a header, not the URL",
            "request": request("POST", url, {**content_type, parameter: signing}, body, {}),
            "expect": rejected("missing_signature"),
        },
        # The key binds no byte of the body: anyone holding the URL can send any event.
        post(
            "another body with the key (the key signs nothing)",
            keyed,
            {
                "verdict": "accepted",
                "status": 202,
                "event_id": hashlib.sha256(changed).hexdigest(),
                "type": changed_type,
            },
            changed,
        ),
    ]
    if full.get("get_check") == "mailchimp":
        cases += [
            {
                "name": "GET on the webhook URL as configured, key included (Mailchimp saving the webhook)",
                "request": request("GET", url, {"User-Agent": "MailChimp.com WebHook Validator"}, b"", keyed),
                "expect": {"verdict": "handshake", "status": 200},
            },
            {
                "name": "GET without the key",
                "request": request("GET", url, {}, b"", {}),
                "expect": rejected("missing_signature"),
            },
            {
                "name": "GET with another secret as the key",
                "request": request("GET", url, {}, b"", {parameter: other}),
                "expect": rejected("signature_mismatch"),
            },
        ]
    else:
        cases.append(get_refused(url))
    return vector_of(name, options, configured, "the documented scheme (the key in the URL as sent)", cases)


OWN_BUILDERS = {
    "figma": build_figma,
    "contentful": build_contentful,
    "mailgun": build_mailgun,
    "sns": build_sns,
    "paypal": build_paypal,
    "adyen": build_adyen,
    "braintree": build_braintree,
    "query_token": build_query_token,
}


def build_all() -> dict[str, dict[str, Any]]:
    return {name: refusals_answered(build(name, options), options) for name, options in subjects()}


def refusals_answered(vector: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """A source whose provider wants no body in any answer (Xero) refuses with its status only."""
    reply = resolved(options)[1].get("reply") or {}
    if reply.get("empty_refusals"):
        for case in vector["cases"]:
            if case["expect"]["verdict"] == "rejected":
                case["expect"]["empty"] = True
    return vector


def render(vector: dict[str, Any]) -> str:
    return json.dumps(vector, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    VECTORS.mkdir(exist_ok=True)
    built = build_all()
    for stale in set(VECTORS.glob("*.json")) - {VECTORS / f"{name}.json" for name in built}:
        stale.unlink()
    for name, vector in built.items():
        (VECTORS / f"{name}.json").write_text(render(vector), encoding="utf-8")
    sys.stdout.write(f"wrote {len(built)} vectors to {VECTORS}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
