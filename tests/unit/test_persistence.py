"""The snapshot file of `webhooks dev` (webhooks_cli.local.persistence): written whole or
not at all, read back exactly, a damaged one refused in one line; and the source
secrets it restores win over the dev secrets file."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from webhook_core.sources import Source
from webhooks_cli import cli, devsecrets
from webhooks_cli.errors import CliError
from webhooks_cli.local.persistence import (
    SNAPSHOT_NAME,
    Autosave,
    Restored,
    SavedMessage,
    SavedObject,
    Snapshot,
    StateFolder,
)
from webhooks_cli.project import Project


def odd_snapshot() -> Snapshot:
    return Snapshot(
        tables={
            "ledger": [
                {
                    "id": {"S": "stripe/evt_1 \u202e ✓"},
                    "blob": {"B": bytes(range(256))},
                    "blobs": {"BS": [b"", b"\x00"]},
                    "n": {"N": "-1.50E+10"},
                    "ns": {"NS": ["1", "2"]},
                    "ss": {"SS": ["a", "\ud800"]},
                    "m": {"M": {"l": {"L": [{"B": b"\xff"}, {"NULL": True}, {"BOOL": False}, {"M": {}}]}}},
                }
            ],
            "empty": [],
        },
        queues={
            "dlq": [
                SavedMessage(
                    message_id="m-1",
                    body='{"id": "x"}',
                    attributes={
                        "bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                        "str": {"DataType": "String", "StringValue": "v"},
                    },
                    system_attributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1"}},
                    receive_count=5,
                    sent_timestamp=1_700_000_000_000,
                    first_receive_timestamp=1_700_000_000_100,
                    sender_id="AIDA",
                )
            ]
        },
        buckets={"bodies": [SavedObject("k/1", b"\x00\xff" * 10, "application/octet-stream", {"a": "b"})]},
        secrets={"webhooks-local/source-secrets": '{"stripe": ["whsec_1"]}', "raw": b"\x00"},
    )


def test_a_snapshot_reads_back_exactly_what_was_written() -> None:
    snapshot = odd_snapshot()
    assert Snapshot.from_bytes(snapshot.to_bytes()) == snapshot


def test_the_file_is_replaced_whole_private_and_only_when_the_state_changed(tmp_path: Path) -> None:
    folder = StateFolder(tmp_path / ".webhooks-dev")
    assert folder.load() is None
    assert folder.save(odd_snapshot())
    assert stat.S_IMODE(folder.snapshot_file.stat().st_mode) == 0o600  # it holds the source secrets
    assert not folder.save(odd_snapshot())  # unchanged: not written again
    assert StateFolder(folder.path).load() == odd_snapshot()
    assert [path.name for path in folder.path.iterdir()] == [SNAPSHOT_NAME]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_previous_snapshot_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    folder = StateFolder(tmp_path / ".webhooks-dev")
    folder.save(odd_snapshot())
    before = folder.snapshot_file.read_bytes()

    def crash(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="No space left"):
        folder.save(Snapshot(tables={"ledger": [{"id": {"S": "new"}}]}))
    monkeypatch.undo()
    assert folder.snapshot_file.read_bytes() == before
    assert [path.name for path in folder.path.iterdir()] == [SNAPSHOT_NAME]
    assert StateFolder(folder.path).load() == odd_snapshot()


def test_a_partial_write_a_killed_process_left_is_ignored_and_removed(tmp_path: Path) -> None:
    folder = StateFolder(tmp_path / ".webhooks-dev")
    folder.save(odd_snapshot())
    partial = folder.path / f".{SNAPSHOT_NAME}.4242.partial"
    partial.write_bytes(b'{"version": 1, "tab')
    assert StateFolder(folder.path).load() == odd_snapshot()
    assert not partial.exists()


def test_fresh_forgets_the_snapshot(tmp_path: Path) -> None:
    folder = StateFolder(tmp_path / ".webhooks-dev")
    folder.save(odd_snapshot())
    folder.clear()
    assert folder.load() is None
    assert folder.save(odd_snapshot())  # written again, though the same as before the clear


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"version": 1, "tables": {"t": [{"id"', "Expecting"),
        (b"\xff\xfe not utf-8", "Expecting value"),
        (b"[]", "unexpected content"),
        (b'{"version": 2}', "format version 2, expected 1"),
        (b'{"version": 1, "tables": {}, "queues": {}, "buckets": {}}', "'secrets' is missing"),
        (
            b'{"version": 1, "tables": {"t": [{"b": {"B": "not base64!"}}]}, "queues": {}, "buckets": {}, '
            b'"secrets": {}}',
            "base64",
        ),
        (
            b'{"version": 1, "tables": {"t": [{"x": {"Q": "1"}}]}, "queues": {}, "buckets": {}, "secrets": {}}',
            "unknown DynamoDB type 'Q'",
        ),
        (
            b'{"version": 1, "tables": {}, "queues": {"q": [{"body": 1, "receive_count": 1}]}, "buckets": {}, '
            b'"secrets": {}}',
            "a message's body must be text",
        ),
    ],
)
def test_a_damaged_snapshot_is_one_line_that_says_what_to_do(tmp_path: Path, content: bytes, reason: str) -> None:
    folder = StateFolder(tmp_path / ".webhooks-dev")
    folder.path.mkdir()
    folder.snapshot_file.write_bytes(content)
    with pytest.raises(CliError) as refused:
        folder.load()
    message = refused.value.message
    assert message.startswith(f"{folder.snapshot_file} is damaged: ")
    assert message.endswith("; start with --fresh")
    assert reason in message
    assert "\n" not in message


def test_an_unreadable_snapshot_is_one_line_too(tmp_path: Path) -> None:
    folder = StateFolder(tmp_path / ".webhooks-dev")
    folder.snapshot_file.mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(CliError, match=r"is damaged: cannot read it \(Is a directory\); start with --fresh$"):
        folder.load()


def test_the_banner_counts_dead_letters_apart_from_queued_messages() -> None:
    restored = Restored(items=12, events=10, messages={"main": 2, "dlq": 1}, objects=1, secrets=1)
    assert restored.describe({"dlq"}) == (
        "10 events, 2 other records, 2 queued messages, 1 dead letter, 1 S3 object, 1 secret"
    )
    assert Restored().describe({"dlq"}) == "nothing"


def test_restored_source_secrets_win_over_the_file_and_a_new_source_still_gets_one(
    tmp_path: Path, fixture_sources: dict[str, Source]
) -> None:
    secrets_file = tmp_path / "dev-secrets.json"
    sources = {name: fixture_sources[name] for name in ("stripe", "github")}
    seeded = devsecrets.ensure(secrets_file, sources)
    # `webhooks secrets set` while the stack ran; then github was added to sources.json.
    saved = {"stripe": ["whsec_rotated0123456789"], "stripe/old": ["kept as it was"]}
    sources["standard"] = fixture_sources["standard"]

    document = devsecrets.ensure(secrets_file, sources, saved=saved)

    assert document["stripe"] == ["whsec_rotated0123456789"]
    assert document["stripe/old"] == ["kept as it was"]
    assert document["github"] == seeded["github"]  # from the file: the snapshot did not have it
    assert devsecrets.active_secrets(document["standard"])[0].startswith("whsec_")
    assert json.loads(secrets_file.read_text()) == document  # `webhooks send` signs with these


def test_autosave_reports_a_failure_once_and_keeps_trying() -> None:
    calls: list[int] = []
    reported: list[str] = []
    done = threading.Event()

    def save() -> None:
        calls.append(1)
        if len(calls) >= 5:
            done.set()
        raise OSError(28, "No space left on device")

    autosave = Autosave(save, every=0.01, on_error=reported.append)
    autosave.start()
    assert done.wait(10)
    autosave.stop()
    assert reported == ["saving the state failed: OSError: [Errno 28] No space left on device"]


def test_the_banner_shows_shared_secrets_and_public_keys_never_a_private_key(
    tmp_path: Path, fixture_sources: dict[str, Source], capsys: pytest.CaptureFixture[str]
) -> None:
    sources = {name: fixture_sources[name] for name in ("stripe", "ed25519", "sendgrid")}
    document = devsecrets.ensure(tmp_path / "dev-secrets.json", sources)
    stack = SimpleNamespace(
        aws_endpoint="http://127.0.0.1:4566",
        url="http://127.0.0.1:3000",
        secrets=document,
        saved_state=SimpleNamespace(path=tmp_path / ".webhooks-dev"),
        restored=None,
        inspector=None,
    )

    cli._banner(stack, Project.locate(), None)

    banner = capsys.readouterr().out
    shown = {line.split()[0]: line.split(None, 1)[1] for line in banner.splitlines() if line.startswith("  ")}
    assert shown["stripe"] == document["stripe"][0]  # what the provider's test settings need
    for name in ("ed25519", "sendgrid"):
        assert shown[name].startswith(f"public key {document[name][0]} ")
        assert "signed by `webhooks send`" in shown[name]
        assert document[f"{name}/signing_key"][0] not in banner
    assert not [name for name in shown if name.endswith("/signing_key")]
