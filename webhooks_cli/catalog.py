"""What `webhooks providers` lists: every kind and every preset, described from the
same specs the receiver verifies with."""

from __future__ import annotations

from typing import Any

from webhook_core.providers.scheme import SignatureScheme
from webhook_core.sources import Source, parse_sources, presets
from webhooks_cli import signing

# Options a preset leaves to the user (the URL the provider signs); a stand-in lets it be described.
PLACEHOLDER_URL = "https://example.com/webhooks/{name}"
# Kinds whose scheme is not a SignatureScheme: what their signature covers, in words.
HMAC_FORM_KINDS = {"twilio", "mandrill", "mailgun"}
# Kinds whose signature and timestamp travel in the body.
IN_BODY = {
    "mailgun": ("body signature.signature (or parent-signature)", "body signature.timestamp"),
    "sns": ("body Signature (certificate from https://sns.<region>.amazonaws.com only)", "body Timestamp"),
}
SIGNED_CONTENT = {
    "twilio": "{url}{sorted form parameters} or {url}?bodySHA256=…",
    "mandrill": "{url}{sorted form parameters}",
}


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
    elif scheme.encoding == "token":  # a token or Basic credentials: nothing is signed
        algorithm, signed, timestamp = "basic" if source.kind == "basic" else "token", "", None
    else:
        algorithm = f"{'hmac-' if source.kind in HMAC_FORM_KINDS else ''}{getattr(scheme, 'algorithm', '')}"
        signed = getattr(scheme, "signed_content", SIGNED_CONTENT.get(source.kind, ""))
        timestamp = scheme.timestamp_header or IN_BODY.get(source.kind, ("", None))[1]
    get_check = spec.get_check
    handshakes = [name for name in (signing.handshake_name(source),) if name]
    if source.kind == "sns":
        handshakes.append(f"SubscriptionConfirmation ({getattr(source.config, 'subscription', 'confirm')})")
    if get_check is not None:
        handshakes.append("GET " + ("hub.challenge" if get_check.token else "challenge"))
    return {
        "name": source.preset.name if source.preset else source.name,
        "title": source.preset.title if source.preset else source.config.description,
        "kind": source.kind,
        "header": scheme.signature_header or IN_BODY.get(source.kind, ("",))[0],
        "algorithm": algorithm,
        "encoding": "" if scheme.encoding == "token" else scheme.encoding,
        "signed": signed,
        "timestamp": timestamp or "",
        "tolerance_seconds": scheme.tolerance_seconds if timestamp else None,
        "handshake": ", ".join(handshakes),
        "body": spec.fields.body_format,
        "dedupe": _dedupe(source),
        "docs": spec.docs,
    }


def _dedupe(source: Source) -> str:
    """The dedupe policy as an operator reads it: on what, and why."""
    fields = source.spec.fields
    if source.spec.dedupe == "none":
        return "none (every delivery is a new event)"
    if source.spec.dedupe == "id":
        return f"id ({fields.id_header or fields.id_path}, signed)"
    where = fields.id_header or fields.id_path
    return f"digest of the signed content (id {where}, unsigned)" if where else "digest of the signed content (no id)"
