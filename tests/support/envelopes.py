"""Envelopes as the receiver makes them, for processor tests."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from webhook_core.envelope import Envelope, Verification


def envelope(
    kind: str = "stripe",
    event_type: str = "checkout.session.completed",
    body: dict[str, Any] | bytes | None = None,
    *,
    source: str | None = None,
    preset: str | None = None,
    event_id: str | None = None,
    resource_id: str | None = None,
    occurred_at: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> Envelope:
    event_id = event_id or f"evt_{uuid.uuid4().hex[:16]}"
    raw = body if isinstance(body, bytes) else json.dumps(body if body is not None else {"id": event_id}).encode()
    text, encoding = Envelope.encode_body(raw)
    source = source or kind
    return Envelope(
        id=f"{source}/{event_id}",
        event_id=event_id,
        source=source,
        kind=kind,
        preset=preset,
        type=event_type,
        received_at=datetime.now(tz=UTC),
        occurred_at=occurred_at,
        resource_id=resource_id,
        headers=headers or {},
        body=text,
        body_encoding=encoding,
        verification=Verification(secret_index=0),
    )


def stripe_body(event_id: str, event_type: str, obj: dict[str, Any], created: int = 1_700_000_000) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": event_type, "created": created, "data": {"object": obj}}
