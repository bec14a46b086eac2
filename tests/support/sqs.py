"""Drive a processor the way Lambda's SQS event source mapping does, over real
(moto) SQS receives, one round at a time: the local stack's own poller invokes and
deletes what succeeded; failures are made visible again at once, so the next round
receives them without waiting out the visibility timeout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webhooks_cli.local.poller import Poller, lambda_sqs_event
from webhooks_cli.local.runtime import Invocation

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# Receives in a round are never kept invisible longer than this (the template's processor timeout).
VISIBILITY_SECONDS = 30


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    """The event Lambda builds from ReceiveMessage output (the local stack's own builder)."""
    return lambda_sqs_event(messages, queue_arn, region)


@dataclass(frozen=True)
class _HandlerUnderContext:
    """A bare handler invoked with the test's own context."""

    handler: Handler
    context: Any

    def call(self, event: dict[str, Any]) -> tuple[Any, Invocation | None]:
        return self.handler(event, self.context), None


def _raise(message: str) -> None:
    # A test's handler that raises is a failure of the test, not a batch to retry.
    raise AssertionError(message)


class QueuePoller:
    def __init__(self, sqs: Any, queue_url: str, batch_size: int = 10) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.batch_size = batch_size
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.region = sqs.meta.region_name

    def poll_once(self, handler: Handler, context: Any) -> tuple[list[str], list[str]] | None:
        """One receive/invoke/delete round; (succeeded ids, failed ids), or None when nothing came."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            VisibilityTimeout=VISIBILITY_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        poller = Poller(
            self.sqs,
            _HandlerUnderContext(handler, context),
            queue_url=self.queue_url,
            queue_arn=self.queue_arn,
            region=self.region,
            batch_size=self.batch_size,
            batching_window=0,
            visibility_timeout=VISIBILITY_SECONDS,
            on_error=_raise,
        )
        outcomes = poller.process(messages)
        receipts = {message["MessageId"]: message["ReceiptHandle"] for message in messages}
        for outcome in outcomes:
            if not outcome.succeeded:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipts[outcome.message_id], VisibilityTimeout=0
                )
        return (
            [outcome.message_id for outcome in outcomes if outcome.succeeded],
            sorted(outcome.message_id for outcome in outcomes if not outcome.succeeded),
        )

    def drain(self, handler: Handler, context: Any, max_rounds: int = 50) -> list[tuple[list[str], list[str]]]:
        rounds: list[tuple[list[str], list[str]]] = []
        for _ in range(max_rounds):
            result = self.poll_once(handler, context)
            if result is None:
                return rounds
            rounds.append(result)
        raise AssertionError(f"the queue did not drain in {max_rounds} rounds")
