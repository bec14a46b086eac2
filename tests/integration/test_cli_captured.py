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
    store = CapturedSecrets(operated_stack.resources.ledger_table, client=operated_stack.client("dynamodb"))
    assert operated_stack.webhooks("secrets", "captured", "notion").exit_code == 1  # nothing handed over yet
    assert store.keep("notion", "secret_first")
    assert not store.keep("notion", "secret_second")  # first write wins

    shown = operated_stack.webhooks("secrets", "captured", "notion")
    assert (shown.exit_code, shown.stdout) == (0, "secret_first\n")
    reset = operated_stack.webhooks("secrets", "captured", "notion", "--reset")
    assert reset.exit_code == 0
    assert "forgotten" in reset.output
    assert "secret_first" not in reset.output
    assert store.keep("notion", "secret_second")
    assert operated_stack.webhooks("secrets", "captured", "notion").stdout == "secret_second\n"


def test_a_source_that_keeps_no_setup_secret_is_refused(operated_stack: OperatedStack, setup_sources: None) -> None:
    result = operated_stack.webhooks("secrets", "captured", "github")
    assert result.exit_code == 1
    assert "keeps no setup secret" in result.output


def test_it_works_on_a_deployed_stack_found_through_its_outputs(
    operated_stack: OperatedStack, setup_sources: None
) -> None:
    outputs = {
        "EventsQueueUrl": operated_stack.resources.queue_url,
        "EventsQueueArn": operated_stack.resources.queue_arn,
        "DeadLetterQueueUrl": operated_stack.resources.dead_letter_queue_url,
        "DeadLetterQueueArn": operated_stack.resources.dead_letter_queue_arn,
        "LedgerTableName": operated_stack.resources.ledger_table,
        "SourceSecretsArn": operated_stack.resources.secret_id,
        "BodyBucketName": operated_stack.resources.body_bucket,
    }
    operated_stack.client("cloudformation").create_stack(
        StackName="deployed",
        TemplateBody=json.dumps(
            {
                "Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()},
            }
        ),
    )
    CapturedSecrets(operated_stack.resources.ledger_table, client=operated_stack.client("dynamodb")).keep(
        "asana", "asana-hook-secret"
    )
    target = ["--stack", "deployed", "--region", "us-east-1", "--endpoint-url", operated_stack.endpoint]
    shown = operated_stack.webhooks("secrets", "captured", "asana", *target)
    assert (shown.exit_code, shown.output) == (0, "asana-hook-secret\n")
