"""API Gateway REST proxy events, built from the committed example in events/ by the CLI's builder."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from webhooks_cli.apigw import proxy_event

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def signature_headers() -> frozenset[str]:
    """The header of every kind and preset that carries a signature or credential."""
    from webhooks_cli.catalog import preset_sources

    headers = {"authorization"}
    for source in preset_sources().values():
        scheme = source.spec.scheme
        headers |= {scheme.signature_header, *getattr(scheme, "alternative_headers", ())}
    return frozenset(headers)


@cache
def _base_event() -> dict[str, Any]:
    return json.loads((EVENTS / "apigw-rest-webhook.json").read_text())  # type: ignore[no-any-return]


def rest_event(
    source: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    base64_encoded: bool = True,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends for `POST /webhooks/{source}` (the CLI's one builder)."""
    return proxy_event(_base_event(), source, body, headers, base64_encoded=base64_encoded, method=method, query=query)


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
