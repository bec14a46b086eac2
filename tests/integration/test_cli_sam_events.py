"""`webhooks sam-events` writes signed API Gateway events the receiver accepts, in-process
(Docker cannot run here, so this stands in for `sam local invoke -e`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.integration.conftest import Stack
from tests.support.project import FIXTURE_SOURCES
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing
from webhooks_cli.cli import main

pytestmark = pytest.mark.integration


def test_every_generated_event_is_accepted_by_the_receiver(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path
) -> None:
    secrets_file = tmp_path / "dev-secrets.json"
    secrets = devsecrets.ensure(secrets_file, load_sources(FIXTURE_SOURCES))
    stack.set_secrets(secrets)
    monkeypatch.setenv("WEBHOOKS_DEV_SECRETS_FILE", str(secrets_file))
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))

    result = CliRunner().invoke(main, ["sam-events", "--out", str(tmp_path / "events")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "events").glob("receiver-*.json"))
    # `<source>/signing_key` entries are not sources; SNS and PayPal sign with their own certificates.
    configured = load_sources(FIXTURE_SOURCES)
    kinds = {name: source.kind for name, source in configured.items()}
    sources = [name for name in secrets if "/" not in name and kinds[name] not in signing.UNSIGNABLE_KINDS]
    assert [path.name for path in files] == [f"receiver-{name}.json" for name in sorted(sources)]
    for path, name in zip(files, sorted(sources), strict=True):
        response = stack.invoke(json.loads(path.read_text()))
        # 202, or the status the kind's provider demands for every delivery (Figma: 200).
        reply = configured[name].spec.reply
        assert response.status == (reply.status if reply else 202), (path.name, response.body)


def test_without_dev_secrets_it_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path
) -> None:
    monkeypatch.setenv("WEBHOOKS_DEV_SECRETS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))
    result = CliRunner().invoke(main, ["sam-events", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "start `webhooks dev` once" in result.output


def test_the_old_name_is_the_event_ledger_now_and_points_at_the_new_one(tmp_path: Path) -> None:
    """`webhooks events` was `sam-events`; it is the event ledger's now: the old use writes
    nothing, and its help names the new command."""
    result = CliRunner().invoke(main, ["events", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []
    assert "webhooks sam-events" in CliRunner().invoke(main, ["events", "--help"]).output
    commands = CliRunner().invoke(main, ["--help"]).output.split("Commands:")[1].split()
    assert {"events", "sam-events"} <= set(commands)
