"""Logger and Metrics, created once for the whole process.

Tracing comes from Lambda's active tracing (see template.yaml), not from the
Powertools Tracer: importing the X-Ray SDK costs ~270 ms of every cold start.
"""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

DEFAULT_NAMESPACE = "WebhookReceiver"

logger = Logger()
# A namespace is required to flush metrics; without this default a missing
# variable would fail requests after their work was done.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)


def count_once(name: str, **dimensions: str) -> None:
    """A count of 1 with dimensions of its own (the shared `metrics` keep only `service`).
    single_metric prints its blob even when POWERTOOLS_METRICS_DISABLED says not to, as
    `metrics` does not: the check is made here."""
    if is_metrics_disabled():
        return
    # The shared metrics' service (POWERTOOLS_SERVICE_NAME), which `webhooks dev` sets per function.
    service = {"service": metrics.service} if metrics.service else None
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace, default_dimensions=service
    ) as metric:
        for dimension, value in dimensions.items():
            metric.add_dimension(name=dimension, value=value)


__all__ = ["MetricUnit", "count_once", "logger", "metrics"]
