"""Integration tests: the receiver handler, invoked with API Gateway REST events,
against DynamoDB, SQS and Secrets Manager in moto (in-process)."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from functions.receiver import app as receiver_app
from tests.support import template_resources
from tests.support.apigw import rest_event
from tests.support.lambda_context import lambda_context
from tests.support.leaks import WATCH
from tests.support.ledger import processed
from tests.support.signers import SECRETS, Signed
from webhook_core.ledger import DynamoDBLedger
from webhooks_cli import cli, commands_ops
from webhooks_cli.cli import main
from webhooks_cli.local.emulator import Emulator
from webhooks_cli.local.resources import create_resources
from webhooks_cli.local.runtime import LambdaContext
from webhooks_cli.local.stack import LOCAL_CREDENTIALS, REGION
from webhooks_cli.targets import Resources, write_local_state


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Stack:
    resources: template_resources.Resources
    dynamodb: Any
    sqs: Any
    secrets: Any
    s3: Any
    invoke: Callable[..., Response]

    def set_secrets(self, document: dict[str, Any] | str) -> None:
        value = document if isinstance(document, str) else json.dumps(document)
        self.secrets.put_secret_value(SecretId=self.resources.secret_id, SecretString=value)

    def ledger_records(self) -> list[dict[str, Any]]:
        """The event ledger's records (not the setup secrets or ordering marks beside them)."""
        items = self.dynamodb.scan(TableName=self.resources.ledger_table)["Items"]
        return [item for item in items if item["id"]["S"].startswith("event#")]

    def body_objects(self) -> list[str]:
        """The keys of every claim-checked body in the bucket."""
        listing = self.s3.list_objects_v2(Bucket=self.resources.body_bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def messages(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Every message on the queue, received once and left there, visible again."""
        url = queue_url or self.resources.queue_url
        found: dict[str, dict[str, Any]] = {}
        for _ in range(20):
            batch = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
            ).get("Messages", [])
            if not batch:
                break
            found.update({message["MessageId"]: message for message in batch})
        for message in found.values():
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(found.values())

    def taken(self, envelope_id: str) -> None:
        """The processor took the event (its lock, its handler ran): from now on a copy of
        the delivery is a duplicate, where one arriving while the first may still be
        sending is answered 409."""
        processed(DynamoDBLedger(self.resources.ledger_table, retention_seconds=86_400), envelope_id, time.time())

    def deliver(self, source: str, signed: Signed, **event_options: Any) -> Response:
        return self.invoke(rest_event(source, signed.body, signed.headers, query=signed.query, **event_options))


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        resources = template_resources.create()
        monkeypatch.setenv("SOURCE_SECRETS_ID", resources.secret_id)
        monkeypatch.setenv("LEDGER_TABLE_NAME", resources.ledger_table)
        monkeypatch.setenv("EVENTS_QUEUE_URL", resources.queue_url)
        monkeypatch.setenv("BODY_BUCKET_NAME", resources.body_bucket)
        monkeypatch.setenv("SECRETS_CACHE_SECONDS", "0")
        receiver_app.get_receiver.cache_clear()

        def invoke(event: dict[str, Any], context: LambdaContext | None = None) -> Response:
            raw = receiver_app.lambda_handler(event, context or lambda_context())
            WATCH.see("response", json.dumps(raw))
            headers = {name.lower(): value for name, value in (raw.get("headers") or {}).items()}
            headers.update({name.lower(): values[-1] for name, values in (raw.get("multiValueHeaders") or {}).items()})
            body: Any = raw.get("body") or None
            if body is not None and headers.get("content-type", "").startswith("application/json"):
                body = json.loads(body)
            return Response(raw["statusCode"], body, headers)

        stack = Stack(
            resources=resources,
            dynamodb=boto3.client("dynamodb"),
            sqs=boto3.client("sqs"),
            secrets=boto3.client("secretsmanager"),
            s3=boto3.client("s3"),
            invoke=invoke,
        )
        stack.set_secrets(SECRETS)
        yield stack
        receiver_app.get_receiver.cache_clear()


@pytest.fixture
def receiver_logs() -> Iterator[io.StringIO]:
    """What the receiver's Powertools logger writes (its handler keeps the stream it was created with)."""
    from webhook_core.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@dataclass
class OperatedStack:
    """A local stack as `webhooks dlq …` and `webhooks secrets …` find it: the state file
    a running `webhooks dev` writes, pointing at its AWS emulator (here in this process)."""

    endpoint: str
    resources: Resources
    dev_secrets_file: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def webhooks(self, *arguments: str, stdin: str | None = None) -> Result:
        """`webhooks …` through click, its output as a terminal would receive it."""
        return CliRunner().invoke(main, list(arguments), input=stdin)

    def deployed(self, name: str = "deployed") -> list[str]:
        """These resources as a deployed stack's CloudFormation outputs name them: the
        options that aim a command at it (`--stack NAME` through this emulator)."""
        resources = self.resources
        outputs = {
            "EventsQueueUrl": resources.queue_url,
            "EventsQueueArn": resources.queue_arn,
            "DeadLetterQueueUrl": resources.dead_letter_queue_url,
            "DeadLetterQueueArn": resources.dead_letter_queue_arn,
            "LedgerTableName": resources.ledger_table,
            "SourceSecretsArn": resources.secret_id,
            "BodyBucketName": resources.body_bucket,
        }
        self.client("cloudformation").create_stack(
            StackName=name,
            TemplateBody=json.dumps(
                {
                    "Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}},
                    "Outputs": {key: {"Value": value} for key, value in outputs.items()},
                }
            ),
        )
        return ["--stack", name, "--region", REGION, "--endpoint-url", self.endpoint]


@pytest.fixture
def operated_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture_project_dir: Path
) -> Iterator[OperatedStack]:
    # mock_aws starts and leaves moto's backends empty; the emulator serves those same backends.
    with mock_aws():
        emulator = Emulator()
        emulator.start()
        try:
            monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
            resources, _ = create_resources(template_resources.project(), boto3.session.Session())
            monkeypatch.delenv("AWS_ENDPOINT_URL")
            monkeypatch.setenv("WEBHOOKS_PROJECT_DIR", str(fixture_project_dir))
            monkeypatch.setenv("WEBHOOKS_DEV_STATE_FILE", str(tmp_path / "dev-state.json"))
            monkeypatch.setenv("WEBHOOKS_DEV_SECRETS_FILE", str(tmp_path / "dev-secrets.json"))
            monkeypatch.setenv("COLUMNS", "200")  # rich's tables at a width nothing wraps in
            # A console made while COLUMNS was set keeps that width (xdist starts its workers
            # with COLUMNS=80, before the CLI is imported): the CLI's consoles read it again.
            for console in (cli.console, commands_ops.console):
                monkeypatch.setattr(console, "_width", None)
            write_local_state(template_resources.project(), emulator.endpoint, resources, url=None)
            yield OperatedStack(emulator.endpoint, resources, tmp_path / "dev-secrets.json")
        finally:
            emulator.stop()
