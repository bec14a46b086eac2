"""GitHub webhook payloads (https://docs.github.com/en/webhooks/webhook-events-and-payloads)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Repository(_Model):
    id: int
    full_name: str


class Commit(_Model):
    id: str
    message: str = ""


class PushEvent(_Model):
    ref: str
    before: str
    after: str
    repository: Repository
    commits: list[Commit] = []


class PullRequest(_Model):
    id: int
    number: int
    state: str
    title: str = ""
    merged: bool | None = None
    updated_at: str | None = None


class PullRequestEvent(_Model):
    action: str
    number: int
    pull_request: PullRequest
    repository: Repository
