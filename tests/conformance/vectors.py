"""Reading the conformance vectors (for the tests that replay them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

VECTORS = Path(__file__).with_name("vectors")


def load_all() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(VECTORS.glob("*.json"))}


def body_of(request: dict[str, Any]) -> bytes:
    if "body_base64" in request:
        return base64.b64decode(request["body_base64"])
    return str(request["body"]).encode("utf-8")


def query_of(request: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request["url"]).query, keep_blank_values=True))
