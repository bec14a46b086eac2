"""What an operator reads and changes on one stack, built once for both faces: the CLI's
commands (`webhooks events|dlq|rejected …`) and the inspector page call the same code."""

from __future__ import annotations

from functools import cached_property

from webhook_core.body_store import S3BodyStore
from webhook_core.errors import ConfigurationError
from webhook_core.sources import load_sources
from webhooks_cli.dlq import DeadLetterQueue
from webhooks_cli.events import Events
from webhooks_cli.project import Project
from webhooks_cli.rejections import Rejections
from webhooks_cli.targets import Target


def events_of(target: Target) -> Events:
    resources = target.resources
    return Events(
        target.client("dynamodb"),
        target.client("sqs"),
        ledger_table=resources.ledger_table,
        queue_url=resources.queue_url,
        # Read only for an event's archived envelope and a claim-checked body.
        bodies=S3BodyStore(resources.body_bucket, client_factory=lambda: target.client("s3")),
        retention_days=target.retention_days,
    )


def dead_letters_of(target: Target) -> DeadLetterQueue:
    resources = target.resources
    return DeadLetterQueue(
        target.client("sqs"),
        target.client("dynamodb"),
        dead_letter_queue_url=resources.dead_letter_queue_url,
        queue_url=resources.queue_url,
        ledger_table=resources.ledger_table,
        # Read only when a claim-checked letter's body is shown or searched.
        bodies=S3BodyStore(resources.body_bucket, client_factory=lambda: target.client("s3")),
    )


class StackOperations:
    """One stack's ledger, dead-letter queue and kept rejected requests."""

    def __init__(self, target: Target, project: Project) -> None:
        self.target = target
        self.project = project

    @cached_property
    def events(self) -> Events:
        return events_of(self.target)

    @cached_property
    def dead_letters(self) -> DeadLetterQueue:
        return dead_letters_of(self.target)

    @cached_property
    def rejections(self) -> Rejections:
        return Rejections(self.target, self.project)

    def accepted_statuses(self) -> dict[str, int]:
        """What the receiver answers a new event of each source whose provider demands a
        status of its own (Figma: 200), as the sources file says now; every other: 202."""
        try:
            sources = load_sources(self.project.sources_file)
        except ConfigurationError:  # a broken file: the running stack keeps its last good one
            return {}
        return {name: source.spec.reply.status for name, source in sources.items() if source.spec.reply is not None}
