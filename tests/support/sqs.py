"""Drive a processor the way Lambda's SQS event source mapping does, over real
(moto) SQS receives: batch, invoke, delete what succeeded, let failures come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from webhooks_cli.local.poller import lambda_sqs_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str = "us-east-1") -> dict[str, Any]:
    """The event Lambda builds from ReceiveMessage output (the local stack's own builder)."""
    return lambda_sqs_event(messages, queue_arn, region)


class QueuePoller:
    def __init__(self, sqs: Any, queue_url: str, batch_size: int = 10) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.batch_size = batch_size
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]

    def poll_once(self, handler: Handler, context: Any) -> tuple[list[str], list[str]] | None:
        """One receive/invoke/delete round; (succeeded ids, failed ids), or None when nothing came."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        response = handler(lambda_event(messages, self.queue_arn), context)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        succeeded = []
        for message in messages:
            if message["MessageId"] in failed:
                # The visibility timeout, run out at once: the failure is received again next round.
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                succeeded.append(message["MessageId"])
        return succeeded, sorted(failed)

    def drain(self, handler: Handler, context: Any, max_rounds: int = 50) -> list[tuple[list[str], list[str]]]:
        rounds: list[tuple[list[str], list[str]]] = []
        for _ in range(max_rounds):
            result = self.poll_once(handler, context)
            if result is None:
                return rounds
            rounds.append(result)
        raise AssertionError(f"the queue did not drain in {max_rounds} rounds")
