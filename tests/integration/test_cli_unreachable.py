"""With nothing listening, `webhooks send` says so in one line (a real refused socket on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from webhooks_cli.cli import main


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path) -> CliRunner:
    monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))
    monkeypatch.setenv("WEBHOOKS_DEV_SECRETS_FILE", str(tmp_path / "no-secrets.json"))
    return CliRunner()


def test_send_with_nothing_listening_says_so(runner: CliRunner, tmp_path: Path) -> None:
    secrets = tmp_path / "no-secrets.json"
    secrets.write_text('{"stripe": ["whsec_x"]}')
    result = runner.invoke(main, ["send", "stripe", "--port", "9"])
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9/webhooks/stripe" in result.output
    assert "Traceback" not in result.output
