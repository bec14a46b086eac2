"""The stack's stateful resources, created in an AWS emulator from template.yaml's
own definitions (key schema, TTL, queue attributes, redrive), so local never
drifts from what is deployed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from webhooks_cli.errors import CliError
from webhooks_cli.project import Project
from webhooks_cli.targets import Resources

LOCAL_STACK_NAME = "webhooks-local"
QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "MaximumMessageSize",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
)


# `!Ref AWS::NoValue`: the property is left out.
NO_VALUE = object()


class Resolver:
    """Resolves the intrinsics the template uses, with parameters at their defaults."""

    def __init__(self, project: Project, stack_name: str) -> None:
        self.project = project
        self.stack_name = stack_name
        self.refs: dict[str, str] = {}
        self.attributes: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            intrinsic: dict[str, Callable[[Any], Any]] = {
                "Fn::If": self._if,
                "Ref": self._ref,
                "Fn::GetAtt": self._get_att,
                "Fn::Sub": self._sub,
            }
            if function in intrinsic:
                return intrinsic[function](argument)
        if isinstance(value, dict):
            resolved = {key: self(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self(element) for element in value) if item is not NO_VALUE]
        return value

    def _if(self, argument: list[Any]) -> Any:
        condition, when_true, when_false = argument
        return self(when_true if self.condition(condition) else when_false)

    def _get_att(self, argument: list[str]) -> str:
        key = ".".join(argument)
        if key not in self.attributes:
            raise CliError(f"cannot resolve !GetAtt {key} locally")
        return self.attributes[key]

    def condition(self, name: str) -> bool:
        """A template condition, with parameters at their defaults."""
        return bool(self._evaluate(self.project.template.get("Conditions", {})[name]))

    def _evaluate(self, expression: Any) -> Any:
        if isinstance(expression, dict) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Fn::Not":
                return not self._evaluate(argument[0])
            if function == "Fn::Equals":
                left, right = (self._evaluate(item) for item in argument)
                return str(left) == str(right)
            if function == "Condition":
                return self.condition(argument)
        return self(expression)

    def _ref(self, name: str) -> Any:
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.refs:
            return self.refs[name]
        parameters = self.project.template.get("Parameters", {})
        if name in parameters:
            return parameters[name].get("Default")
        raise CliError(f"cannot resolve !Ref {name} locally")

    def _sub(self, text: Any) -> str:
        if not isinstance(text, str):
            raise CliError("cannot resolve the list form of !Sub locally")
        return re.sub(r"\$\{([^}]+)\}", lambda match: str(self._substitute(match.group(1))), text)

    def _substitute(self, name: str) -> Any:
        # `${Resource.Attribute}` is a !GetAtt; anything else a !Ref.
        if "." in name and not name.startswith("AWS::"):
            return self._get_att(name.split("."))
        return self._ref(name)


def create_resources(project: Project, session: Any, stack_name: str = LOCAL_STACK_NAME) -> tuple[Resources, Resolver]:
    """Create the tables, queues and secret in the emulator `session` points at."""
    resolve = Resolver(project, stack_name)
    dynamodb, sqs, secrets = session.client("dynamodb"), session.client("sqs"), session.client("secretsmanager")
    s3 = session.client("s3")

    def create_table(logical_id: str) -> str:
        properties = resolve(project.resource(logical_id)["Properties"])
        name = f"{stack_name}-{logical_id}"
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
            BillingMode=properties["BillingMode"],
            **{key: properties[key] for key in ("GlobalSecondaryIndexes",) if key in properties},
        )
        if "TimeToLiveSpecification" in properties:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"])
        resolve.refs[logical_id] = name
        return name

    def create_queue(logical_id: str) -> str:
        properties = resolve(project.resource(logical_id)["Properties"])
        attributes = {
            key: json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for key, value in properties.items()
            if key in QUEUE_ATTRIBUTES
        }
        url: str = sqs.create_queue(QueueName=f"{stack_name}-{logical_id}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolve.refs[logical_id] = url
        resolve.attributes[f"{logical_id}.Arn"] = arn
        resolve.attributes[f"{logical_id}.QueueName"] = url.rsplit("/", 1)[1]
        return url

    def create_bucket(logical_id: str) -> str:
        properties = resolve(project.resource(logical_id)["Properties"])
        name = f"{stack_name}-{logical_id}".lower()
        s3.create_bucket(Bucket=name)
        resolve.refs[logical_id] = name
        resolve.attributes[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": _rules(properties["BucketEncryption"])}
        )
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={
                "Rules": [_lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
            },
        )
        # Not its TLS-only bucket policy (as not the queues' either): the emulator speaks plain
        # HTTP on 127.0.0.1, and moto applies the deny without its aws:SecureTransport condition.
        return name

    ledger_table = create_table("LedgerTable")
    dead_letter_queue_url = create_queue("EventsDeadLetterQueue")
    queue_url = create_queue("EventsQueue")
    body_bucket = create_bucket("BodyBucket")
    secret = resolve(project.resource("SourceSecrets")["Properties"])
    secret_id: str = secrets.create_secret(
        Name=f"{stack_name}/source-secrets", SecretString=secret.get("SecretString", "{}")
    )["ARN"]
    resolve.refs["SourceSecrets"] = secret_id
    resources = Resources(
        queue_url=queue_url,
        queue_arn=resolve.attributes["EventsQueue.Arn"],
        dead_letter_queue_url=dead_letter_queue_url,
        dead_letter_queue_arn=resolve.attributes["EventsDeadLetterQueue.Arn"],
        ledger_table=ledger_table,
        secret_id=secret_id,
        body_bucket=body_bucket,
    )
    return resources, resolve


def _rules(encryption: dict[str, Any]) -> list[dict[str, Any]]:
    """AWS::S3::Bucket BucketEncryption as PutBucketEncryption takes it."""
    return [
        {
            "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
            "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
        }
        for rule in encryption["ServerSideEncryptionConfiguration"]
    ]


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """An AWS::S3::Bucket lifecycle rule as PutBucketLifecycleConfiguration takes it."""
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return converted


def function_environment(project: Project, resolve: Resolver, logical_id: str) -> dict[str, str]:
    """A function's environment as the template sets it (Globals, then the function's own)."""
    variables: dict[str, Any] = {}
    globals_env = project.template.get("Globals", {}).get("Function", {}).get("Environment", {})
    variables.update(globals_env.get("Variables", {}))
    own = project.resource(logical_id)["Properties"].get("Environment", {})
    variables.update(own.get("Variables", {}))
    resolved = {name: resolve(value) for name, value in variables.items()}
    return {name: str(value) for name, value in resolved.items() if value is not NO_VALUE}


def declared_variables(project: Project, logical_id: str) -> list[str]:
    """The names of a function's environment variables in the template, whatever their
    values resolve to: `sam local` passes a container these and no others."""
    globals_env = project.template.get("Globals", {}).get("Function", {}).get("Environment", {})
    own = project.resource(logical_id)["Properties"].get("Environment", {})
    return list(dict.fromkeys([*globals_env.get("Variables", {}), *own.get("Variables", {})]))


def event_source(project: Project, resolve: Resolver) -> dict[str, Any]:
    """The processor's SQS event source settings (batch size, batching window, …)."""
    events = project.resource("ProcessorFunction")["Properties"]["Events"]
    for definition in events.values():
        if definition["Type"] == "SQS":
            properties: dict[str, Any] = resolve(definition["Properties"])
            return properties
    raise CliError("the processor has no SQS event source in template.yaml")
