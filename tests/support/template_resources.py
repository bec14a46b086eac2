"""The template, read and created in moto by the same code as the local stack
(webhooks_cli), so tests, `webhooks dev` and the deployed stack never drift."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import boto3

from webhooks_cli.local.resources import create_resources
from webhooks_cli.project import Project
from webhooks_cli.targets import Resources

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["Resources", "create", "parameter_default", "resource", "template"]


@cache
def project() -> Project:
    return Project(ROOT)


def template() -> dict[str, Any]:
    return project().template


def resource(logical_id: str) -> dict[str, Any]:
    return project().resource(logical_id)


def parameter_default(name: str) -> Any:
    return project().parameter_default(name)


def create(session: boto3.session.Session | None = None) -> Resources:
    resources, _ = create_resources(project(), session or boto3.session.Session())
    return resources
