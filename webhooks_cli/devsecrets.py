"""Dev secrets: generated on the first start into a git-ignored file and reused
after. The file holds exactly the Secrets Manager document (README, "Add a source and set its secret")."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

from webhook_core.sources import Source
from webhooks_cli.errors import CliError


def new_secret(kind: str) -> str:  # noqa: PLR0911 - one form per provider's secret
    """A secret in the form the kind's provider issues (what the verifier expects)."""
    if kind in {"standard", "svix"}:
        return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    if kind == "stripe":
        return "whsec_" + secrets.token_hex(24)
    if kind == "basic":
        return "webhooks:" + secrets.token_urlsafe(18)
    if kind == "sns":  # an SNS source's "secrets" are the TopicArns it accepts
        return "arn:aws:sns:us-east-1:000000000000:webhooks-dev"
    if kind == "paypal":  # a PayPal source's "secrets" are the webhook IDs it accepts
        return secrets.token_hex(9).upper()
    if kind == "adyen":  # Adyen's HMAC keys are 32 bytes, shown as hex
        return secrets.token_hex(32).upper()
    if kind == "contentful":  # a space's signing secret: 64 characters
        return secrets.token_urlsafe(48)
    return secrets.token_urlsafe(24)


def active_secrets(value: Any) -> list[str]:
    """An entry's secrets as the receiver reads them (webhook_core.secrets.SourceSecrets):
    a plain string is one secret, a list its non-empty strings, anything else none."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def load(path: Path) -> dict[str, Any]:
    """The document as saved: entries in any form the receiver accepts (or ignores)
    are kept as they are, since `webhooks secrets set` saves them unchanged."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON; delete it to generate new dev secrets") from exc
    if not isinstance(document, dict):
        raise CliError(f"{path} must map each source to its secrets; delete it to generate new ones")
    return document


SIGNING_KEY = "signing_key"


def ensure(path: Path, sources: dict[str, Source], saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dev secrets of every source, creating those that are missing.

    Besides each source's own list (what the receiver verifies with), a
    public-key source keeps `<source>/signing_key`, the private seed the CLI signs
    with, and a source with a GET check keeps `<source>/<token>` (Meta's verify token).

    `saved` is the document a restarted `webhooks dev` restored (what the stack held
    when it stopped): its entries win over the file's, which then follows them, so
    `webhooks send` signs with what the receiver verifies with.
    """
    on_file = load(path)
    document = {**on_file, **(saved or {})}
    missing = {name: source for name, source in sources.items() if not active_secrets(document.get(name))}
    for name, source in missing.items():
        if source.kind == "ed25519":
            from webhook_core.providers.ed25519 import public_key_of  # noqa: PLC0415 - loads cryptography

            seed = secrets.token_hex(32)
            base64_key = getattr(source.spec.scheme, "key_encoding", "hex") == "base64"
            document[name] = [public_key_of(seed, "base64" if base64_key else "hex")]
            document[f"{name}/{SIGNING_KEY}"] = [seed]
        elif source.kind == "sendgrid":
            from webhook_core.providers.sendgrid import new_signing_key  # noqa: PLC0415 - loads cryptography

            private, public = new_signing_key()
            document[name] = [public]
            document[f"{name}/{SIGNING_KEY}"] = [private]
        else:
            document[name] = [new_secret(source.kind)]
    tokens = {
        f"{name}/{source.spec.get_check.token}"
        for name, source in sources.items()
        if source.spec.get_check is not None and source.spec.get_check.token
    }
    new_tokens = tokens - set(document)
    for entry in new_tokens:
        document[entry] = [secrets.token_urlsafe(18)]
    if document != on_file:
        save(path, document)
    return document


def signing_secret(document: dict[str, Any], source: str) -> str | None:
    """What a sender of `source` signs with: its signing key where the receiver holds
    only a public key, else the shared secret itself."""
    for entry in (f"{source}/{SIGNING_KEY}", source):
        found = active_secrets(document.get(entry))
        if found:
            return found[0]
    return None


def shown_in_banner(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Each entry as `webhooks dev`'s banner shows it: what a provider's test settings
    need. A shared secret (or a GET check's token) is shown as it is; a public-key
    source's public key is shown, never the private key `webhooks send` signs with
    (printing it would put key material in terminal scrollback for no use)."""
    shown: list[tuple[str, str]] = []
    for entry, value in document.items():
        if entry.endswith(f"/{SIGNING_KEY}"):
            continue
        active = active_secrets(value)
        if not active:
            shown.append((entry, "(none: answers 503)"))
        elif active_secrets(document.get(f"{entry}/{SIGNING_KEY}")):
            shown.append((entry, f"public key {active[0]}  (signed by `webhooks send`)"))
        else:
            shown.append((entry, active[0]))
    return shown


def save(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
