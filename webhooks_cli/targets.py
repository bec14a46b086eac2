"""Which stack a command works on: the running local stack (the default), a
deployed stack (`--stack NAME`, from its CloudFormation outputs), or any
AWS-compatible endpoint (`--endpoint-url`)."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_core.settings import RETENTION_DEFAULT_DAYS
from webhooks_cli.aws import StackTarget, describe, session
from webhooks_cli.errors import CliError
from webhooks_cli.project import Project

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@dataclass(frozen=True)
class Resources:
    """The stack's stateful resources, whatever the target: the local stack's (created in
    the emulator from the template) or a deployed stack's (from its outputs)."""

    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    # The event ledger, with the secrets providers hand over at setup and the ordering marks.
    ledger_table: str
    secret_id: str
    body_bucket: str

    def physical_ids(self) -> dict[str, str]:
        """What `!Ref <logical id>` resolves to for each resource, as in CloudFormation."""
        return {
            "LedgerTable": self.ledger_table,
            "EventsQueue": self.queue_url,
            "EventsDeadLetterQueue": self.dead_letter_queue_url,
            "SourceSecrets": self.secret_id,
            "BodyBucket": self.body_bucket,
        }


@dataclass
class Target:
    description: str
    resources: Resources
    endpoint_url: str | None
    local: bool
    _session: Any
    # RetentionDays: how long the stack keeps an event's record and archived body.
    retention_days: int = RETENTION_DEFAULT_DAYS
    # A boto3 session is not safe to make clients from in two threads at once (the
    # inspector serves each request on its own thread).
    _making_client: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def client(self, service: str) -> Any:
        with self._making_client:
            if self.local:
                return self._session.client(
                    service, endpoint_url=self.endpoint_url, region_name="us-east-1", **LOCAL_CREDENTIALS
                )
            return self._session.client(service, endpoint_url=self.endpoint_url)


def local_target(
    project: Project, endpoint: str, resources: Resources, *, region: str | None = None, api_url: str | None = None
) -> Target:
    """The local stack whose emulator answers at `endpoint` (it runs with the template's
    defaults), named by its API (`api_url`; None with --aws-only, which serves none)."""
    return Target(
        f"local stack, API at {api_url}" if api_url else f"local stack at {endpoint}",
        resources,
        endpoint,
        True,
        session(region or "us-east-1", None),
        _days(None, project),
    )


def write_local_state(project: Project, endpoint: str, resources: Resources, *, url: str | None) -> Path:
    """Where the running `webhooks dev` is: its emulator, its API (`url`, None with
    --aws-only) and its resources."""
    path = project.local_state_file
    document = {"endpoint": endpoint, "url": url, **asdict(resources)}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def local_api_url(project: Project) -> str | None:
    """The API of the running `webhooks dev`, as its state file says (None: none runs)."""
    try:
        url = json.loads(project.local_state_file.read_text(encoding="utf-8")).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url else None


def resolve(
    project: Project,
    *,
    stack: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> Target:
    if stack:
        deployed = StackTarget.resolve(stack, region=region, profile=profile, endpoint_url=endpoint_url)
        resources = Resources(
            queue_url=deployed.output("EventsQueueUrl"),
            queue_arn=deployed.output("EventsQueueArn"),
            dead_letter_queue_url=deployed.output("DeadLetterQueueUrl"),
            dead_letter_queue_arn=deployed.output("DeadLetterQueueArn"),
            ledger_table=deployed.output("LedgerTableName"),
            secret_id=deployed.output("SourceSecretsArn"),
            body_bucket=deployed.output("BodyBucketName"),
        )
        retention = _days(deployed.parameters.get("RetentionDays"), project)
        return Target(f"stack {stack}", resources, endpoint_url, False, deployed.session, retention)

    state_file = project.local_state_file
    if not state_file.exists():
        raise CliError("no local stack is running (start `webhooks dev`), and no --stack was given")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        recorded = state["endpoint"]
        endpoint = endpoint_url or recorded
        resources = Resources(**{field.name: state[field.name] for field in fields(Resources)})
    except (ValueError, TypeError, KeyError) as exc:
        raise CliError(f"{state_file} is damaged ({exc}); restart `webhooks dev`") from None
    api_url = state.get("url") if isinstance(state.get("url"), str) else None
    target = local_target(project, endpoint, resources, region=region, api_url=api_url)
    try:
        target.client("sqs").get_queue_attributes(QueueUrl=resources.dead_letter_queue_url, AttributeNames=["QueueArn"])
    except (BotoCoreError, ClientError) as exc:
        raise CliError(
            f"the local stack at {endpoint} does not answer ({describe(exc)}); is `webhooks dev` running?"
        ) from None
    return target


def _days(deployed: str | None, project: Project) -> int:
    """RetentionDays as deployed, else the template's default."""
    for value in (deployed, project.parameter_default("RetentionDays")):
        if value is not None and str(value).isdigit():
            return int(value)
    return RETENTION_DEFAULT_DAYS
