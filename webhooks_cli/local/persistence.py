"""What `webhooks dev` keeps across a restart (README, "Two-minute tour"): every table's
items, every queue's messages (those in flight too), every bucket's objects and every
secret's value, as one snapshot file in the project's git-ignored `.webhooks-dev/`.

The stack writes it on stop and, while it runs, every few seconds when it changed
(Autosave), so a killed process loses at most those seconds. A snapshot is written to a
temporary file and renamed over the old one: a crash mid-write leaves the previous
snapshot whole. Restoring matches tables, queues, buckets and secrets by name: what the
template no longer has is reported, never recreated.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models import dynamodb_backends
from moto.sqs.models import Message, sqs_backends

from webhook_core.ledger import KEY_PREFIX as LEDGER_KEY_PREFIX
from webhooks_cli.errors import CliError
from webhooks_cli.local.emulator import ITEM_WRITES

STATE_FOLDER = ".webhooks-dev"
SNAPSHOT_NAME = "snapshot.json"
FORMAT_VERSION = 1
AUTOSAVE_SECONDS = 3.0
# However large the state grows, snapshots take at most this share of the time.
AUTOSAVE_MAX_SHARE = 0.1


# --- the snapshot -------------------------------------------------------------------------


@dataclass
class SavedMessage:
    """An SQS message as moto holds it; binary attribute values are bytes."""

    message_id: str
    body: str
    attributes: dict[str, dict[str, Any]]
    system_attributes: dict[str, dict[str, Any]]
    receive_count: int
    sent_timestamp: int | None
    first_receive_timestamp: int | None
    sender_id: str | None
    group_id: str | None = None
    deduplication_id: str | None = None
    sequence_number: str | None = None


@dataclass
class SavedObject:
    key: str
    body: bytes
    content_type: str | None
    metadata: dict[str, str]


@dataclass
class Snapshot:
    # Items as DynamoDB's low-level client takes them ({"B": bytes}, {"N": "1.5"}, …).
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    queues: dict[str, list[SavedMessage]] = field(default_factory=dict)
    buckets: dict[str, list[SavedObject]] = field(default_factory=dict)
    # A secret's current value: SecretString (str) or SecretBinary (bytes).
    secrets: dict[str, str | bytes] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        document = {
            "version": FORMAT_VERSION,
            "tables": {name: [_encode_item(item) for item in items] for name, items in self.tables.items()},
            "queues": {name: [_encode_message(m) for m in messages] for name, messages in self.queues.items()},
            "buckets": {name: [_encode_object(o) for o in objects] for name, objects in self.buckets.items()},
            "secrets": {name: _encode_secret(value) for name, value in self.secrets.items()},
        }
        # ASCII JSON: any string survives, lone surrogates included.
        return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> Snapshot:
        """The snapshot in `data`, decoded whole before anything is restored; ValueError
        says what is wrong with it."""
        try:
            document = json.loads(data)
            if not isinstance(document, dict):
                raise TypeError("not a JSON object")
            if document.get("version") != FORMAT_VERSION:
                raise ValueError(f"format version {document.get('version')!r}, expected {FORMAT_VERSION}")
            return cls(
                tables=_decode_section(document, "tables", _decode_item),
                queues=_decode_section(document, "queues", _decode_message),
                buckets=_decode_section(document, "buckets", _decode_object),
                secrets={str(name): _decode_secret(value) for name, value in document["secrets"].items()},
            )
        except KeyError as exc:
            raise ValueError(f"{exc} is missing") from None
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"unexpected content ({exc})") from None


def _decode_section(document: dict[str, Any], name: str, decode: Callable[[Any], Any]) -> dict[str, list[Any]]:
    section = document[name]
    return {str(key): [decode(entry) for entry in entries] for key, entries in section.items()}


# --- encoding: JSON carries bytes as base64 ------------------------------------------------

_PLAIN_TYPES = {"S", "N", "SS", "NS", "BOOL", "NULL"}


def _encode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, content),) = value.items()
    if kind == "B":
        return {"B": _text(content)}
    if kind == "BS":
        return {"BS": [_text(element) for element in content]}
    if kind == "M":
        return {"M": {name: _encode_value(element) for name, element in content.items()}}
    if kind == "L":
        return {"L": [_encode_value(element) for element in content]}
    return {kind: content}


def _decode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, content),) = value.items()
    if kind == "B":
        return {"B": _bytes(content)}
    if kind == "BS":
        return {"BS": [_bytes(element) for element in content]}
    if kind == "M":
        return {"M": {str(name): _decode_value(element) for name, element in content.items()}}
    if kind == "L":
        return {"L": [_decode_value(element) for element in content]}
    if kind not in _PLAIN_TYPES:
        raise ValueError(f"unknown DynamoDB type {kind!r}")
    return {kind: content}


def _encode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _encode_value(value) for name, value in item.items()}


def _decode_item(item: dict[str, Any]) -> dict[str, Any]:
    return {str(name): _decode_value(value) for name, value in item.items()}


_BINARY_FIELDS = ("BinaryValue", "BinaryListValues")


def _encode_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: _map_binary(value, _text) for name, value in attributes.items()}


def _decode_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(name): _map_binary(value, _bytes) for name, value in attributes.items()}


def _map_binary(value: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """A message attribute with its binary value (or list of them) converted."""
    converted = dict(value)
    if converted.get("BinaryValue") is not None:
        converted["BinaryValue"] = convert(converted["BinaryValue"])
    if converted.get("BinaryListValues"):
        converted["BinaryListValues"] = [convert(element) for element in converted["BinaryListValues"]]
    return converted


def _encode_message(message: SavedMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "body": message.body,
        "attributes": _encode_attributes(message.attributes),
        "system_attributes": _encode_attributes(message.system_attributes),
        "receive_count": message.receive_count,
        "sent_timestamp": message.sent_timestamp,
        "first_receive_timestamp": message.first_receive_timestamp,
        "sender_id": message.sender_id,
        "group_id": message.group_id,
        "deduplication_id": message.deduplication_id,
        "sequence_number": message.sequence_number,
    }


def _decode_message(entry: dict[str, Any]) -> SavedMessage:
    if not isinstance(entry["body"], str) or not isinstance(entry["receive_count"], int):
        raise TypeError("a message's body must be text and its receive count a number")
    return SavedMessage(
        message_id=str(entry["message_id"]),
        body=entry["body"],
        attributes=_decode_attributes(entry["attributes"]),
        system_attributes=_decode_attributes(entry["system_attributes"]),
        receive_count=entry["receive_count"],
        sent_timestamp=entry["sent_timestamp"],
        first_receive_timestamp=entry["first_receive_timestamp"],
        sender_id=entry["sender_id"],
        group_id=entry.get("group_id"),
        deduplication_id=entry.get("deduplication_id"),
        sequence_number=entry.get("sequence_number"),
    )


def _encode_object(stored: SavedObject) -> dict[str, Any]:
    return {
        "key": stored.key,
        "body": _text(stored.body),
        "content_type": stored.content_type,
        "metadata": stored.metadata,
    }


def _decode_object(entry: dict[str, Any]) -> SavedObject:
    return SavedObject(
        key=str(entry["key"]),
        body=_bytes(entry["body"]),
        content_type=entry["content_type"],
        metadata={str(name): str(value) for name, value in entry["metadata"].items()},
    )


def _encode_secret(value: str | bytes) -> dict[str, str]:
    return {"binary": _text(value)} if isinstance(value, bytes) else {"string": value}


def _decode_secret(entry: dict[str, Any]) -> str | bytes:
    if "binary" in entry:
        return _bytes(entry["binary"])
    if not isinstance(entry["string"], str):
        raise TypeError("a secret's value must be text")
    return entry["string"]


def _text(value: bytes | str) -> str:
    # moto keeps some binaries as the base64 text they arrived in: those are already encoded.
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _bytes(value: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError("a binary value must be base64 text")
    return base64.b64decode(value, validate=True)  # binascii.Error is a ValueError


# --- reading and restoring the emulator ----------------------------------------------------


@dataclass
class Restored:
    """What a restore put back, for the start banner."""

    items: int = 0
    # Of those items, the events' own records (the rest: setup secrets, counters, ordering).
    events: int = 0
    messages: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    secrets: int = 0
    skipped: list[str] = field(default_factory=list)

    def describe(self, dead_letter_queues: set[str]) -> str:
        dead = sum(count for name, count in self.messages.items() if name in dead_letter_queues)
        queued = sum(self.messages.values()) - dead
        parts = [
            _count(self.events, "event"),
            _count(self.items - self.events, "other record"),
            _count(queued, "queued message"),
            _count(dead, "dead letter"),
            _count(self.objects, "S3 object"),
            _count(self.secrets, "secret"),
        ]
        return ", ".join(part for part in parts if part) or "nothing"


def _is_event_record(item: dict[str, Any]) -> bool:
    key = item.get("id")
    return isinstance(key, dict) and str(key.get("S", "")).startswith(LEDGER_KEY_PREFIX)


def _count(number: int, noun: str) -> str:
    return "" if not number else f"{number} {noun}" + ("" if number == 1 else "s")


class Snapshotter:
    """Reads the emulator's state into a Snapshot and puts one back.

    The emulator is moto in this process, and two things are read and restored through
    its backend objects rather than its API: a queue's messages, since no ReceiveMessage
    returns those in flight (and receiving counts as a receive), and only the backend
    keeps a restored message's id, receive count and sent time; and the tables, which
    moto's Scan reads at ~2 s per 5,000 items and BatchWriteItem restores at ~1.5 s per
    6,000, against a few tens of ms each way directly (measured; a snapshot runs every
    few seconds). Items still go through the table's own put_item, which checks them
    against its key schema. Buckets and secrets are few and go through the API."""

    def __init__(self, session: Any, *, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self._s3 = session.client("s3")
        self._secrets = session.client("secretsmanager")
        # An object's body is fetched once per version (bucket, key, ETag, time written).
        self._fetched: dict[tuple[str, str, str, str], SavedObject] = {}

    def capture(self) -> Snapshot:
        return Snapshot(
            tables=self._capture_tables(),
            queues=self._capture_queues(),
            buckets=self._capture_buckets(),
            secrets=self._capture_secrets(),
        )

    def restore(self, snapshot: Snapshot) -> Restored:
        restored = Restored()
        self._restore_tables(snapshot.tables, restored)
        self._restore_queues(snapshot.queues, restored)
        self._restore_buckets(snapshot.buckets, restored)
        self._restore_secrets(snapshot.secrets, restored)
        return restored

    # --- DynamoDB ---

    def _capture_tables(self) -> dict[str, list[dict[str, Any]]]:
        backend = dynamodb_backends[self.account_id][self.region]
        with ITEM_WRITES:  # no write half done, and no table changing size while read
            return {
                name: [_item_from_moto(item) for item in table.all_items()]
                for name, table in list(backend.tables.items())
            }

    def _restore_tables(self, tables: dict[str, list[dict[str, Any]]], restored: Restored) -> None:
        backend = dynamodb_backends[self.account_id][self.region]
        for name, items in tables.items():
            table = backend.tables.get(name)
            if not items:
                continue
            if table is None:
                restored.skipped.append(f"{_count(len(items), 'record')} of table {name}, which no longer exists")
                continue
            try:
                for item in items:
                    # As the server holds what it is sent: binaries as their base64 text.
                    table.put_item(_encode_item(item), overwrite=True)
            except DynamodbException as exc:  # e.g. the template changed the table's key
                restored.skipped.append(f"the records of table {name}: {getattr(exc, 'message', exc)}")
                continue
            restored.items += len(items)
            restored.events += sum(1 for item in items if _is_event_record(item))

    # --- SQS ---

    def _capture_queues(self) -> dict[str, list[SavedMessage]]:
        backend = sqs_backends[self.account_id][self.region]
        # `_messages` holds every message the queue has, visible or not (`messages` only the visible).
        return {
            name: [_saved_message(m) for m in list(queue._messages)] for name, queue in list(backend.queues.items())
        }

    def _restore_queues(self, queues: dict[str, list[SavedMessage]], restored: Restored) -> None:
        backend = sqs_backends[self.account_id][self.region]
        for name, messages in queues.items():
            if not messages:
                continue
            queue = backend.queues.get(name)
            if queue is None:
                restored.skipped.append(f"{_count(len(messages), 'message')} of queue {name}, which no longer exists")
                continue
            for saved in messages:
                # Visible at once, whatever it was: nobody holds its receipt handle any more.
                queue.add_message(_moto_message(saved))
            restored.messages[name] = len(messages)

    # --- S3 ---

    def _capture_buckets(self) -> dict[str, list[SavedObject]]:
        buckets: dict[str, list[SavedObject]] = {}
        fetched: dict[tuple[str, str, str, str], SavedObject] = {}
        for bucket in self._s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            buckets[name] = []
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for listed in page.get("Contents", []):
                    version = (name, listed["Key"], listed.get("ETag", ""), str(listed.get("LastModified", "")))
                    stored = self._fetched.get(version) or self._fetch_object(name, listed["Key"])
                    fetched[version] = stored
                    buckets[name].append(stored)
        self._fetched = fetched  # forgets what was deleted
        return buckets

    def _fetch_object(self, bucket: str, key: str) -> SavedObject:
        response = self._s3.get_object(Bucket=bucket, Key=key)
        return SavedObject(key, response["Body"].read(), response.get("ContentType"), response.get("Metadata", {}))

    def _restore_buckets(self, buckets: dict[str, list[SavedObject]], restored: Restored) -> None:
        existing = {bucket["Name"] for bucket in self._s3.list_buckets().get("Buckets", [])}
        for name, objects in buckets.items():
            if objects and name not in existing:
                restored.skipped.append(f"{_count(len(objects), 'object')} of bucket {name}, which no longer exists")
                continue
            for stored in objects:
                extra = {"ContentType": stored.content_type} if stored.content_type else {}
                self._s3.put_object(Bucket=name, Key=stored.key, Body=stored.body, Metadata=stored.metadata, **extra)
                restored.objects += 1

    # --- Secrets Manager ---

    def _capture_secrets(self) -> dict[str, str | bytes]:
        secrets: dict[str, str | bytes] = {}
        for page in self._secrets.get_paginator("list_secrets").paginate():
            for listed in page["SecretList"]:
                try:
                    value = self._secrets.get_secret_value(SecretId=listed["ARN"])
                except ClientError:  # no value yet, or scheduled for deletion: nothing to keep
                    continue
                secrets[listed["Name"]] = value["SecretString"] if "SecretString" in value else value["SecretBinary"]
        return secrets

    def _restore_secrets(self, secrets: dict[str, str | bytes], restored: Restored) -> None:
        existing = {
            listed["Name"]
            for page in self._secrets.get_paginator("list_secrets").paginate()
            for listed in page["SecretList"]
        }
        for name, value in secrets.items():
            if name not in existing:
                restored.skipped.append(f"secret {name}, which no longer exists")
                continue
            field_name = "SecretBinary" if isinstance(value, bytes) else "SecretString"
            self._secrets.put_secret_value(SecretId=name, **{field_name: value})
            restored.secrets += 1


def _item_from_moto(item: Any) -> dict[str, Any]:
    return {name: _value_from_moto(value) for name, value in item.attrs.items()}


def _value_from_moto(value: Any) -> dict[str, Any]:
    """A moto DynamoType as the low-level client returns it."""
    kind, content = value.type, value.value
    if kind == "M":
        return {"M": {name: _value_from_moto(element) for name, element in content.items()}}
    if kind == "L":
        return {"L": [_value_from_moto(element) for element in content]}
    if kind == "B":
        return {"B": _moto_binary(content)}
    if kind == "BS":
        return {"BS": [_moto_binary(element) for element in content]}
    if kind in {"SS", "NS"}:
        return {kind: list(content)}
    return {kind: content}


def _moto_binary(content: bytes | str) -> bytes:
    # moto keeps a binary as the base64 text it arrived in, or as bytes it decoded.
    return content if isinstance(content, bytes) else base64.b64decode(content)


def _saved_message(message: Any) -> SavedMessage:
    return SavedMessage(
        message_id=message.id,
        body=message.body,
        # Copies: a snapshot shares nothing with what the emulator goes on changing.
        attributes={name: dict(value) for name, value in message.message_attributes.items()},
        system_attributes={name: dict(value) for name, value in (message.system_attributes or {}).items()},
        receive_count=message.approximate_receive_count,
        sent_timestamp=message.sent_timestamp,
        first_receive_timestamp=message.approximate_first_receive_timestamp,
        sender_id=message.sender_id,
        group_id=message.group_id,
        deduplication_id=message.deduplication_id,
        sequence_number=message.sequence_number,
    )


def _moto_message(saved: SavedMessage) -> Any:
    message: Any = Message(saved.message_id, saved.body, saved.system_attributes or None)
    message.message_attributes = saved.attributes
    message.approximate_receive_count = saved.receive_count
    message.sent_timestamp = saved.sent_timestamp
    message.approximate_first_receive_timestamp = saved.first_receive_timestamp
    if saved.sender_id:
        message.sender_id = saved.sender_id
    message.group_id = saved.group_id
    message.deduplication_id = saved.deduplication_id
    message.sequence_number = saved.sequence_number
    return message


# --- the folder ------------------------------------------------------------------------------


class StateFolder:
    """The snapshot file in its folder, written whole or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.snapshot_file = path / SNAPSHOT_NAME
        self._written: Snapshot | None = None  # what the file holds
        self._lock = threading.Lock()

    def load(self) -> Snapshot | None:
        """The saved snapshot, None if there is none; a damaged one is a CliError."""
        self._remove_partial_writes()
        try:
            data = self.snapshot_file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._damaged(f"cannot read it ({exc.strerror})") from None
        try:
            snapshot = Snapshot.from_bytes(data)
        except ValueError as exc:
            raise self._damaged(str(exc)) from None
        self._written = snapshot
        return snapshot

    def save(self, snapshot: Snapshot) -> bool:
        """Write the snapshot unless the file already holds it; True when written."""
        with self._lock:
            if snapshot == self._written:  # comparing costs a fraction of encoding
                return False
            data = snapshot.to_bytes()
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = self.path / f".{SNAPSHOT_NAME}.{os.getpid()}.partial"
            try:
                # 0600 from the start: the snapshot holds the source secrets.
                descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(partial, self.snapshot_file)
            finally:
                partial.unlink(missing_ok=True)
            self._written = snapshot
            return True

    def clear(self) -> None:
        """Forget the saved state (`webhooks dev --fresh`)."""
        self.snapshot_file.unlink(missing_ok=True)
        self._remove_partial_writes()
        self._written = None

    def _remove_partial_writes(self) -> None:
        for partial in self.path.glob(f".{SNAPSHOT_NAME}.*.partial"):
            partial.unlink(missing_ok=True)

    def _damaged(self, reason: str) -> CliError:
        return CliError(f"{self.snapshot_file} is damaged: {reason}; start with --fresh")


class Autosave:
    """Calls `save` every `every` seconds on a thread of its own until stopped, less
    often when one call takes more than AUTOSAVE_MAX_SHARE of that."""

    def __init__(self, save: Callable[[], object], *, every: float, on_error: Callable[[str], None]) -> None:
        self.save = save
        self.every = every
        self.on_error = on_error
        self._stop = threading.Event()
        self._last_error = ""
        self._thread = threading.Thread(target=self._run, name="autosave", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop, after the snapshot in progress if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        pause = self.every
        while not self._stop.wait(pause):
            started = time.monotonic()
            try:
                self.save()
            except Exception as exc:  # noqa: BLE001 - a failed snapshot must not stop the stack; the next may succeed
                error = f"saving the state failed: {type(exc).__name__}: {exc}"
                if error != self._last_error:  # once, not every few seconds
                    self.on_error(error)
                self._last_error = error
            else:
                self._last_error = ""
            pause = max(self.every, (time.monotonic() - started) / AUTOSAVE_MAX_SHARE)
