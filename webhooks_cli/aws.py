"""Deployed stacks: resources found from the CloudFormation stack's outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from webhooks_cli.errors import CliError


def session(region: str | None = None, profile: str | None = None) -> boto3.session.Session:
    try:
        return boto3.session.Session(region_name=region, profile_name=profile)
    except ProfileNotFound as exc:
        raise CliError(str(exc)) from None


def describe(exc: BaseException) -> str:
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (set a profile or environment credentials)"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}".strip()
    return str(exc)


@dataclass
class StackTarget:
    name: str
    outputs: dict[str, str]
    session: boto3.session.Session
    endpoint_url: str | None
    # The values the stack was deployed with (RetentionDays: how far back events are kept).
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls, name: str, *, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None
    ) -> StackTarget:
        aws = session(region, profile)
        try:
            stacks = aws.client("cloudformation", endpoint_url=endpoint_url).describe_stacks(StackName=name)["Stacks"]
        except (BotoCoreError, ClientError) as exc:
            raise CliError(f"cannot read stack {name!r}: {describe(exc)}") from None
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stacks[0].get("Parameters", [])}
        return cls(name, outputs, aws, endpoint_url, parameters)

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise CliError(f"stack {self.name!r} has no output {key}")
        return self.outputs[key]

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def source_secrets(self) -> dict[str, Any]:
        """The source secrets document as stored (devsecrets.active_secrets reads an entry)."""
        try:
            value = self.client("secretsmanager").get_secret_value(SecretId=self.output("SourceSecretsArn"))
        except (BotoCoreError, ClientError) as exc:
            raise CliError(f"cannot read the source secrets: {describe(exc)}") from None
        try:
            document = json.loads(value.get("SecretString") or "{}")
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise CliError("the source secrets are not a JSON object; fix them in Secrets Manager")
        return document
