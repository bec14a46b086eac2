"""Where a provider puts an event's facts (id, type, time, resource), as data, and
how its bodies are parsed."""

from __future__ import annotations

import binascii
import hashlib
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from xml.etree import ElementTree

from webhook_core.bodies import BodyFormat, parse_body_or_none
from webhook_core.text import sent_bytes, sqs_safe, without_unsafe

TimeFormat = Literal["epoch_seconds", "epoch_millis", "iso8601"]
UNKNOWN_TYPE = "unknown"
# Bounds on what an envelope copies from headers, so the envelope always fits an SQS message.
MAX_KEPT_HEADER_CHARS = 1024
# An id longer than this, or holding characters SQS cannot carry, is keyed on its digest:
# truncating it would make two ids that differ further on collide.
MAX_ID_CHARS = 256
MAX_TYPE_CHARS = 256
DIGEST_ID_PREFIX = "sha256-"


@dataclass(frozen=True, slots=True)
class EventFacts:
    event_id: str
    type: str
    occurred_at: datetime | None
    resource_id: str | None
    # The kind names where its id is, and this delivery has none there: it is still
    # accepted (keyed on its content), counted and logged.
    id_missing: bool = False


@dataclass(frozen=True, slots=True)
class EventFields:
    """Header names are lower-case; paths are dotted keys into the parsed body."""

    id_header: str | None = None
    id_path: str | None = None
    type_header: str | None = None
    type_path: str | None = None
    # Where to look for the type when type_path has none (Twilio's form posts:
    # MessageStatus, SmsStatus, CallStatus).
    type_fallback_paths: tuple[str, ...] = ()
    occurred_at_path: str | None = None
    occurred_at_format: TimeFormat = "epoch_seconds"
    resource_id_path: str | None = None
    kept_headers: tuple[str, ...] = ("content-type", "user-agent")
    body_format: BodyFormat = "json"
    # A form parameter whose value is the JSON document the paths point into
    # (Mandrill posts `mandrill_events=<JSON array>`).
    json_parameter: str | None = None
    # A form parameter whose value is the base64 of the XML document the paths point into
    # (Braintree posts `bt_payload=<base64 XML>`): each element a key, a leaf its text.
    xml_parameter: str | None = None

    def extract(self, headers: Mapping[str, str], body: bytes, body_format: BodyFormat | None = None) -> EventFacts:
        """Read the event's facts. Never fails: a body that does not parse still gets
        an id (the SHA-256 of the raw body) so it is enqueued, not dropped.

        `body_format` is the kind's own unless its scheme proved another for this
        delivery (Twilio: a signed bodySHA256 means JSON)."""
        document = parse_body_or_none(body, body_format or self.body_format) if self._needs_body else None
        if self.json_parameter is not None:
            document = _embedded_json(document, self.json_parameter)
        if self.xml_parameter is not None:
            document = _embedded_xml(document, self.xml_parameter)
        found_id = _text(headers.get(self.id_header) if self.id_header else None) or _text(
            _lookup(document, self.id_path)
        )
        found_type = _text(headers.get(self.type_header) if self.type_header else None)
        for path in (self.type_path, *self.type_fallback_paths):
            found_type = found_type or _text(_lookup(document, path))
        resource_id = _text(_lookup(document, self.resource_id_path))
        return EventFacts(
            event_id=event_key(found_id) if found_id else hashlib.sha256(body).hexdigest(),
            type=without_unsafe(found_type)[:MAX_TYPE_CHARS] if found_type else UNKNOWN_TYPE,
            occurred_at=_time(_lookup(document, self.occurred_at_path), self.occurred_at_format),
            resource_id=event_key(resource_id) if resource_id else None,
            id_missing=found_id is None and bool(self.id_header or self.id_path),
        )

    def kept(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            name: without_unsafe(headers[name][:MAX_KEPT_HEADER_CHARS]) for name in self.kept_headers if name in headers
        }

    @property
    def _needs_body(self) -> bool:
        return any(
            (self.id_path, self.type_path, self.type_fallback_paths, self.occurred_at_path, self.resource_id_path)
        )


def event_key(text: str) -> str:
    """An id as a key: whole when it is short and SQS can carry it, else its digest,
    so two ids never collide and no send fails on a character."""
    if len(text) <= MAX_ID_CHARS and sqs_safe(text):
        return text
    return DIGEST_ID_PREFIX + hashlib.sha256(sent_bytes(text)).hexdigest()


def _embedded_json(document: Any, parameter: str) -> Any:
    value = document.get(parameter) if isinstance(document, dict) else None
    return parse_body_or_none(value.encode("utf-8", "surrogatepass"), "json") if isinstance(value, str) else None


def _embedded_xml(document: Any, parameter: str) -> Any:
    value = document.get(parameter) if isinstance(document, dict) else None
    if not isinstance(value, str):
        return None
    try:
        # ElementTree never fetches an entity and expat refuses entity expansion bombs;
        # the receiver reads an event's facts only once its signature is verified.
        root = ElementTree.fromstring(b64decode(value))  # noqa: S314 - see above
    except (binascii.Error, ValueError, ElementTree.ParseError):
        return None
    return {root.tag: _element(root)}


def _element(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    found: dict[str, Any] = {}
    for child in children:
        found.setdefault(child.tag, _element(child))  # the first of a repeated element, as forms
    return found


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
    return text or None


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
