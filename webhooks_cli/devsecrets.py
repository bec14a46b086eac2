"""Dev secrets: generated on the first start into a git-ignored file and reused
after. The file holds exactly the Secrets Manager document (DESIGN §3)."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from webhook_core.sources import Source
from webhooks_cli.errors import CliError


def new_secret(kind: str) -> str:
    """A secret in the form the kind's provider issues (what the verifier expects)."""
    if kind in {"standard", "svix"}:
        return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    if kind == "stripe":
        return "whsec_" + secrets.token_hex(24)
    if kind == "basic":
        return "webhooks:" + secrets.token_urlsafe(18)
    return secrets.token_urlsafe(24)


def load(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON; delete it to generate new dev secrets") from exc
    if not isinstance(document, dict) or not all(
        isinstance(value, list) and all(isinstance(item, str) for item in value) for value in document.values()
    ):
        raise CliError(f"{path} must map each source to a list of secrets; delete it to generate new ones")
    return document


def ensure(path: Path, sources: dict[str, Source]) -> dict[str, list[str]]:
    """The dev secrets of every source, creating those that are missing."""
    document = load(path)
    changed = False
    for name, source in sources.items():
        if not document.get(name):
            document[name] = [new_secret(source.kind)]
            changed = True
    if changed:
        save(path, document)
    return document


def save(path: Path, document: dict[str, list[str]]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
