"""`webhooks secrets captured`: the operator, and only the operator, sees the secret a
provider handed over at setup (Notion's verification_token, Asana's X-Hook-Secret) and
can reset it, after which the provider's next one is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import OperatedStack
from webhook_core.captured import CapturedSecrets
from webhooks_cli.project import Project

pytestmark = pytest.mark.integration


@pytest.fixture
def setup_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sources.json"
    path.write_text(
        json.dumps(
            {
                "sources": [
                    {"name": "notion", "preset": "notion"},
                    {"name": "asana", "preset": "asana"},
                    {"name": "github", "kind": "github"},
                ]
            }
        )
    )
    monkeypatch.setattr(Project, "sources_file", property(lambda self: path))


def test_the_operator_sees_resets_and_the_next_one_is_kept(operated_stack: OperatedStack, setup_sources: None) -> None:
    store = CapturedSecrets(operated_stack.resources.dedupe_table, client=operated_stack.client("dynamodb"))
    assert operated_stack.webhooks("secrets", "captured", "notion").exit_code == 1  # nothing handed over yet
    assert store.keep("notion", "secret_first")
    assert not store.keep("notion", "secret_second")  # first write wins

    shown = operated_stack.webhooks("secrets", "captured", "notion")
    assert (shown.exit_code, shown.output) == (0, "secret_first\n")
    reset = operated_stack.webhooks("secrets", "captured", "notion", "--reset")
    assert reset.exit_code == 0
    assert "forgotten" in reset.output
    assert "secret_first" not in reset.output
    assert store.keep("notion", "secret_second")
    assert operated_stack.webhooks("secrets", "captured", "notion").output == "secret_second\n"


def test_a_source_that_keeps_no_setup_secret_is_refused(operated_stack: OperatedStack, setup_sources: None) -> None:
    result = operated_stack.webhooks("secrets", "captured", "github")
    assert result.exit_code == 1
    assert "keeps no setup secret" in result.output
