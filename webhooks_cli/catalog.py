"""What `webhooks providers` lists: every kind and every preset, described from the
same specs the receiver verifies with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_core.errors import ConfigurationError
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.sources import KINDS, Source, parse_sources, presets
from webhooks_cli import signing

# Options a preset leaves to the user (the URL the provider signs); a stand-in lets it be described.
PLACEHOLDER_URL = "https://example.com/webhooks/{name}"
STAND_IN_HEADER = {"header": "X-Webhook-Signature"}
# Kinds whose scheme is not a SignatureScheme: what their signature covers, in words.
HMAC_FORM_KINDS = {"twilio", "mandrill", "mailgun", "adyen", "braintree", "contentful"}
# Kinds whose signature and timestamp travel in the body.
IN_BODY = {
    "mailgun": ("body signature.signature (or parent-signature)", "body signature.timestamp"),
    "jwt": ("", "the token's exp (and iat, nbf)"),
    "adyen": ("body notificationItems[].NotificationRequestItem.additionalData.hmacSignature, every item", None),
    "braintree": ("form parameter bt_signature (<public key>|<hex>, & between keys)", None),
    "sns": ("body Signature (certificate from https://sns.<region>.amazonaws.com only)", "body Timestamp"),
    "figma": ("body passcode (the secret itself: cut out of everything kept)", None),
}
# Kinds whose credential travels in the URL: where, in words.
IN_QUERY = "query parameter {}"
SIGNED_CONTENT = {
    "twilio": "{url}{sorted form parameters} or {url}?bodySHA256=…",
    "mandrill": "{url}{sorted form parameters}",
}


def kind_sources(shipped: Mapping[str, Source]) -> dict[str, Source]:
    """One source per kind, by kind: the project's own source of it where there is one,
    else one with stand-ins for what the kind needs from the user (the URL it signs, the
    header it reads), so every kind is listed whatever sources.json holds."""
    made = {source.kind: source for source in shipped.values()}
    for kind in KINDS:
        for options in ({}, {"url": PLACEHOLDER_URL}, {"notification_url": PLACEHOLDER_URL}, STAND_IN_HEADER):
            if kind in made:
                break
            item = {"name": kind, "kind": kind, **{key: value.format(name=kind) for key, value in options.items()}}
            try:
                made[kind] = parse_sources({"sources": [item]})[kind]
            except ConfigurationError:
                continue
    return {kind: made[kind] for kind in sorted(made, key=KINDS.index)}


def preset_sources() -> dict[str, Source]:
    """One source per preset, named after it, with stand-ins for the options it needs from the user."""
    items = []
    for name, preset in presets().items():
        item: dict[str, Any] = {"name": name, "preset": name}
        if preset.url_option:
            item[preset.url_option] = PLACEHOLDER_URL.format(name=name)
        items.append(item)
    return parse_sources({"sources": items})


def describe(source: Source) -> dict[str, Any]:
    scheme, spec = source.spec.scheme, source.spec
    if isinstance(scheme, SignatureScheme):
        algorithm, signed = f"hmac-{scheme.algorithm}", scheme.signed_content
        timestamp = scheme.timestamp_header or (
            f"{scheme.signature_header} {scheme.timestamp_key}=" if scheme.timestamp_key else None
        )
    elif scheme.encoding == "token":  # a token, Basic credentials or a key in the URL: nothing is signed
        algorithm, signed, timestamp = "basic" if source.kind == "basic" else "token", "", None
    else:
        algorithm = f"{'hmac-' if source.kind in HMAC_FORM_KINDS else ''}{getattr(scheme, 'algorithm', '')}"
        signed = getattr(scheme, "signed_content", SIGNED_CONTENT.get(source.kind, ""))
        timestamp = scheme.timestamp_header or IN_BODY.get(source.kind, ("", None))[1]
    preset = source.preset
    return {
        "name": preset.name if preset else source.name,
        "title": preset.title if preset else source.config.description,
        "kind": source.kind,
        "header": scheme.signature_header
        or (IN_QUERY.format(parameter) if (parameter := getattr(scheme, "parameter", None)) else "")
        or IN_BODY.get(source.kind, ("",))[0],
        # Further signature headers, read in order (Shopify's Events name, DocuSign's one per key).
        "alternative_headers": list(getattr(scheme, "alternative_headers", ())),
        "algorithm": algorithm,
        "encoding": "" if scheme.encoding == "token" else scheme.encoding,
        "signed": signed,
        "timestamp": timestamp or "",
        "tolerance_seconds": scheme.tolerance_seconds if timestamp else None,
        "handshake": ", ".join(setup_checks(source)),
        "reply": _reply(source),
        "body": spec.fields.body_format,
        "dedupe": _dedupe(source),
        "docs": spec.docs,
        # "primary": checked against the provider's own pages or SDK; "secondary": not (see notes).
        "source": preset.reference if preset else "primary",
        "notes": preset.notes if preset else "",
    }


# How `webhooks providers` names each GET check.
GET_CHECK_NAMES = {
    "meta": "GET hub.challenge",
    "challenge": "GET challenge",
    "okta": "GET X-Okta-Verification-Challenge (with Authorization)",
    "crc": "GET crc_token (X's CRC)",
    "mailchimp": "GET 200 (with the URL's key)",
}


def setup_checks(source: Source) -> list[str]:
    """Every check and setup request the source answers, as an operator reads them."""
    config = source.config
    checks = [name for name in (signing.handshake_name(source),) if name and name != "figma"]
    if source.kind == "figma":  # checked like any delivery, then answered and never queued
        checks.append("PING (passcode checked; 200, nothing queued)")
    get_check = getattr(config, "get_check", None)
    if get_check:
        checks.append(GET_CHECK_NAMES[get_check])
    if getattr(config, "head_check", None):
        checks.append("HEAD 200")
    if getattr(config, "options_check", None):
        checks.append("OPTIONS WebHook-Request-Origin (" + ", ".join(config.webhook_origins) + ")")  # type: ignore[attr-defined]
    if getattr(config, "unsigned_check", None) == "woocommerce":
        checks.append("creation ping webhook_id (200, nothing queued)")
    if source.kind == "sns":
        checks.append(f"SubscriptionConfirmation ({getattr(config, 'subscription', 'confirm')})")
    capture = getattr(config, "setup_capture", None)
    if capture == "notion":
        checks.append("verification_token kept (`webhooks secrets captured`)")
    elif capture == "asana":
        checks.append("X-Hook-Secret echoed and kept (verifies until a secret is set)")
    return checks


def _reply(source: Source) -> str:
    reply = source.spec.reply
    if reply is None:
        return ""
    return f"{reply.status}{' (no body)' if reply.empty else ''}"


def _dedupe(source: Source) -> str:
    """The dedupe policy as an operator reads it: on what, and why."""
    fields = source.spec.fields
    if source.spec.dedupe == "none":
        return "none (every delivery is a new event)"
    if source.spec.dedupe == "id":
        return f"id ({fields.id_header or fields.id_path}, signed)"
    where = fields.id_header or fields.id_path
    return f"digest of the signed content (id {where}, unsigned)" if where else "digest of the signed content (no id)"
