"""Create the template's table, queues and secret in moto from template.yaml's
own properties, so tests never drift from what is deployed.

moto's CloudFormation cannot deploy SAM's REST API, so the stateful resources
are created one by one from their definitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import cfn_yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@cache
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))  # type: ignore[no-any-return]


def resource(logical_id: str) -> dict[str, Any]:
    return template()["Resources"][logical_id]  # type: ignore[no-any-return]


def parameter_default(name: str) -> Any:
    return template()["Parameters"][name]["Default"]


@dataclass(frozen=True)
class LocalResources:
    table_name: str
    state_table_name: str
    queue_url: str
    dead_letter_queue_url: str
    secret_id: str


def _resolve(value: Any, attributes: dict[str, str]) -> Any:
    """Resolve the intrinsics these resources use: Ref to a parameter, GetAtt of a created resource."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return parameter_default(argument)
        if function == "Fn::GetAtt":
            return attributes[".".join(argument) if isinstance(argument, list) else argument]
    if isinstance(value, dict):
        return {key: _resolve(item, attributes) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, attributes) for item in value]
    return value


def create(prefix: str = "webhooks", session: boto3.session.Session | None = None) -> LocalResources:
    session = session or boto3.session.Session()
    dynamodb, sqs, secrets = session.client("dynamodb"), session.client("sqs"), session.client("secretsmanager")
    attributes: dict[str, str] = {}

    def create_table(logical_id: str, name: str) -> str:
        table = resource(logical_id)["Properties"]
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            BillingMode=table["BillingMode"],
        )
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["TimeToLiveSpecification"])
        return name

    table_name = create_table("DedupeTable", f"{prefix}-dedupe")
    state_table_name = create_table("ProcessorStateTable", f"{prefix}-state")

    def create_queue(logical_id: str, name: str) -> str:
        properties = _resolve(resource(logical_id)["Properties"], attributes)
        queue_attributes = {
            key: json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in properties.items()
            if key in {"VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy", "SqsManagedSseEnabled"}
        }
        url: str = sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes[f"{logical_id}.Arn"] = arn
        return url

    dead_letter_queue_url = create_queue("EventsDeadLetterQueue", f"{prefix}-dlq")
    queue_url = create_queue("EventsQueue", f"{prefix}-events")

    secret = resource("SourceSecrets")["Properties"]
    secret_id: str = secrets.create_secret(Name=f"{prefix}/source-secrets", SecretString=secret["SecretString"])["ARN"]
    return LocalResources(table_name, state_table_name, queue_url, dead_letter_queue_url, secret_id)
