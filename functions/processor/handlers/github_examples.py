"""EXAMPLES to replace with your own business code: GitHub pushes and pull requests."""

from __future__ import annotations

from datetime import datetime

from webhook_core.observability import logger
from webhook_core.payloads.github import PullRequestEvent, PushEvent
from webhook_core.registry import Event, on


@on("github", "push", payload=PushEvent)
def record_push(event: Event[PushEvent]) -> None:
    push = event.payload
    # Replace: trigger a build, update a mirror ...
    logger.info("push", extra={"repository": push.repository.full_name, "ref": push.ref, "commits": len(push.commits)})


@on("github", "pull_request", payload=PullRequestEvent)
def track_pull_request(event: Event[PullRequestEvent]) -> None:
    pull = event.payload.pull_request
    updated = datetime.fromisoformat(pull.updated_at.replace("Z", "+00:00")) if pull.updated_at else None
    # A late "opened" must not undo a "closed": apply only the newest state of each pull request.
    if updated is not None and not event.is_newest(resource_id=f"pull/{pull.id}", occurred_at=updated):
        return
    # Replace: sync the PR's state to your tracker ...
    logger.info("pull request", extra={"number": pull.number, "action": event.payload.action, "state": pull.state})
