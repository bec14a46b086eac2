"""Where a provider puts an event's id, type, time and resource, as data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

TimeFormat = Literal["epoch_seconds", "epoch_millis", "iso8601"]
UNKNOWN_TYPE = "unknown"
# Bounds on what an envelope copies from headers, so the envelope always fits an SQS message.
MAX_KEPT_HEADER_CHARS = 1024
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 1000


@dataclass(frozen=True, slots=True)
class EventFacts:
    event_id: str
    type: str
    occurred_at: datetime | None
    resource_id: str | None


@dataclass(frozen=True, slots=True)
class EventFields:
    """Header names are lower-case; paths are dotted keys into a JSON body."""

    id_header: str | None = None
    id_path: str | None = None
    type_header: str | None = None
    type_path: str | None = None
    occurred_at_path: str | None = None
    occurred_at_format: TimeFormat = "epoch_seconds"
    resource_id_path: str | None = None
    kept_headers: tuple[str, ...] = ("content-type", "user-agent")

    def extract(self, headers: Mapping[str, str], body: bytes) -> EventFacts:
        """Read the event's facts. Never fails: a body that does not parse still
        gets an id (the SHA-256 of the raw body) so it is enqueued, not dropped."""
        document = _parse_document(body, headers.get("content-type", "")) if self._needs_body else None
        event_id = _text(headers.get(self.id_header) if self.id_header else None) or _text(
            _lookup(document, self.id_path)
        )
        event_type = _text(headers.get(self.type_header) if self.type_header else None) or _text(
            _lookup(document, self.type_path)
        )
        return EventFacts(
            event_id=event_id or hashlib.sha256(body).hexdigest(),
            type=event_type or UNKNOWN_TYPE,
            occurred_at=_time(_lookup(document, self.occurred_at_path), self.occurred_at_format),
            resource_id=_text(_lookup(document, self.resource_id_path)),
        )

    def kept(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: headers[name][:MAX_KEPT_HEADER_CHARS] for name in self.kept_headers if name in headers}

    @property
    def _needs_body(self) -> bool:
        return any((self.id_path, self.type_path, self.occurred_at_path, self.resource_id_path))


def _parse_document(body: bytes, content_type: str) -> Any:
    """JSON, or a form post (Twilio's), as a dict of each field's first value."""
    if content_type.split(";", 1)[0].strip().lower() == FORM:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except (UnicodeDecodeError, ValueError):
            return None
        document: dict[str, str] = {}
        for name, value in pairs:
            document.setdefault(name, value)
        return document
    try:
        return json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None


def _lookup(document: Any, path: str | None) -> Any:
    if path is None:
        return None
    node = document
    for key in path.split("."):
        if isinstance(node, list) and key.isdigit():
            # A batch (HubSpot's array of events, Okta's data.events): an element by position.
            node = node[int(key)] if int(key) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
    return node


def _text(value: Any) -> str | None:
    # Ids are strings or integers in every provider's payloads; anything else is not an id.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text[:256] if text else None


def _time(value: Any, time_format: TimeFormat) -> datetime | None:
    try:
        if time_format == "epoch_seconds" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if time_format == "epoch_millis" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if time_format == "iso8601" and isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
