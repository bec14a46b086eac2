"""A processor wired to a stack's resources (in moto or the emulator) as the deployed
one is: its ledger, ordering marks, body store and archive on the template's table and
bucket, and the template's MaxReceiveCount."""

from __future__ import annotations

from typing import Any

from tests.support import template_resources
from webhook_core.archive import Archive
from webhook_core.body_store import S3BodyStore
from webhook_core.ledger import DynamoDBLedger
from webhook_core.ordering import OrderingMarks
from webhook_core.processing import Processor
from webhook_core.registry import HandlerRegistry
from webhooks_cli.targets import Resources

RETENTION_SECONDS = 21 * 86_400


def processor_on(resources: Resources, *, registry: HandlerRegistry, **options: Any) -> Processor:
    bodies = S3BodyStore(resources.body_bucket)
    wiring: dict[str, Any] = {
        "ledger": DynamoDBLedger(resources.ledger_table, retention_seconds=RETENTION_SECONDS),
        "ordering": OrderingMarks(resources.ledger_table, ttl_seconds=RETENTION_SECONDS),
        "bodies": bodies,
        "archive": Archive(bodies),
        "max_receive_count": int(template_resources.parameter_default("MaxReceiveCount")),
    }
    return Processor(registry=registry, **{**wiring, **options})
