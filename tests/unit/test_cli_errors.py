"""The CLI's refusals are one line and a non-zero exit, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from webhooks_cli.cli import main
from webhooks_cli.dlq import parse_since
from webhooks_cli.errors import CliError


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path) -> CliRunner:
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))
    monkeypatch.setenv("WEBHOOKS_DEV_STATE_FILE", str(tmp_path / "no-stack.json"))
    monkeypatch.setenv("WEBHOOKS_DEV_SECRETS_FILE", str(tmp_path / "no-secrets.json"))
    return CliRunner()


@pytest.mark.parametrize(
    "arguments",
    [
        ["dlq", "list"],
        ["dlq", "replay", "--dry-run"],
        ["dlq", "purge", "--yes"],
        ["secrets", "list"],
        ["events", "list"],
        ["events", "show", "stripe/evt_1"],
        ["events", "tail", "--once"],
        ["events", "replay", "--since", "1h", "--dry-run"],
    ],
)
def test_without_a_running_local_stack_or_a_stack_name_it_says_so(runner: CliRunner, arguments: list[str]) -> None:
    result = runner.invoke(main, arguments)
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no local stack is running (start `webhooks dev`), and no --stack was given"


def test_send_to_an_unknown_source_names_the_known_ones(runner: CliRunner) -> None:
    result = runner.invoke(main, ["send", "mailchimp"])
    assert result.exit_code == 1
    assert "no source 'mailchimp'" in result.output
    assert "stripe" in result.output


def test_send_without_dev_secrets_says_how_to_get_them(runner: CliRunner) -> None:
    result = runner.invoke(main, ["send", "stripe"])
    assert result.exit_code == 1
    assert "start `webhooks dev` once" in result.output


def test_since_takes_durations_and_iso_times() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-11-25T10:00:00", now) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    with pytest.raises(CliError, match="--since takes"):
        parse_since("yesterday", now)


def test_providers_lists_every_kind_with_its_header_and_docs(runner: CliRunner) -> None:
    import json as json_module

    from webhook_core.sources import KINDS

    result = runner.invoke(main, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    listing = json_module.loads(result.output)
    rows = {row["kind"]: row for row in listing["kinds"]}
    assert set(rows) == set(KINDS)
    assert rows["stripe"]["header"] == "stripe-signature"
    assert (rows["paddle"]["timestamp"], rows["paddle"]["tolerance_seconds"]) == ("paddle-signature ts=", 5)
    assert rows["slack"]["handshake"] == "slack"
    assert all(row["docs"].startswith("https://") for row in rows.values())
    # The kinds whose signature is not an HMAC header say where it is and what it is.
    assert (rows["mandrill"]["algorithm"], rows["mandrill"]["body"]) == ("hmac-sha1", "form")
    assert rows["mailgun"]["header"].startswith("body signature.signature")
    assert rows["mailgun"]["dedupe"] == "id (signature.token, signed)"
    assert (rows["sendgrid"]["algorithm"], rows["sendgrid"]["tolerance_seconds"]) == ("ecdsa-p256-sha256", 300)
    assert "SubscriptionConfirmation" in rows["sns"]["handshake"]
    assert rows["sns"]["dedupe"] == "id (MessageId, signed)"
    assert rows["paypal"]["dedupe"] == "id (paypal-transmission-id, signed)"


def test_providers_lists_every_kind_whatever_the_projects_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project that replaced the shipped sources with one of its own still sees every kind."""
    import json as json_module

    from tests.support.project import fixture_project
    from webhook_core.sources import KINDS

    only_stripe = {"sources": [{"name": "payments", "kind": "stripe"}]}
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project(tmp_path / "project", sources=only_stripe)))
    result = CliRunner().invoke(main, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    listed = [row["kind"] for row in json_module.loads(result.output)["kinds"]]
    assert listed == list(KINDS)
    # Kinds that need the user's URL or header are described with stand-ins for them.
    assert {row["kind"]: row["header"] for row in json_module.loads(result.output)["kinds"]}["hmac"]


def test_providers_lists_at_least_a_hundred_presets_each_with_its_scheme_and_docs(runner: CliRunner) -> None:
    import json as json_module

    result = runner.invoke(main, ["providers", "--json"])
    presets = {row["name"]: row for row in json_module.loads(result.output)["presets"]}
    assert len(presets) >= 100
    assert all(row["docs"].startswith("https://") and row["header"] for row in presets.values())
    assert (presets["gitlab"]["kind"], presets["gitlab"]["header"]) == ("token", "x-gitlab-token")
    assert (presets["twitch"]["timestamp"], presets["twitch"]["handshake"]) == (
        "twitch-eventsub-message-timestamp",
        "twitch",
    )
    assert presets["meta"]["handshake"] == "GET hub.challenge"
    assert presets["discord"]["algorithm"] == "ed25519"
    assert presets["stripe"]["dedupe"] == "id (id, signed)"
    assert presets["github"]["dedupe"] == "digest of the signed content (id x-github-delivery, unsigned)"
    assert presets["dropbox"]["dedupe"].startswith("none")
    assert (presets["twilio"]["body"], presets["slack"]["body"]) == ("form", "json")
    assert presets["dropbox"]["handshake"] == "GET challenge"  # the setup check, shown per preset
    assert (presets["box"]["header"], presets["box"]["alternative_headers"]) == (
        "box-signature-primary",
        ["box-signature-secondary"],
    )
    assert {presets[name]["source"] for name in ("stripe", "box", "workos")} == {"primary"}
    assert {presets[name]["source"] for name in ("resend", "typeform", "lob")} == {"secondary"}
    assert all(row["notes"] for row in presets.values() if row["source"] == "secondary")
    table = runner.invoke(main, ["providers"])
    assert table.exit_code == 0
    assert "woocommerce" in table.output
    assert "(follows a secondary source)" in table.output
    assert "signature kinds" in table.output
