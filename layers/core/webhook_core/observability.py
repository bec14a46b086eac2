"""Logger and Metrics, created once for the whole process.

Tracing comes from Lambda's active tracing (see template.yaml), not from the
Powertools Tracer: importing the X-Ray SDK costs ~270 ms of every cold start.
"""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

DEFAULT_NAMESPACE = "WebhookReceiver"

logger = Logger()
# A namespace is required to flush metrics; without this default a missing
# variable would fail requests after their work was done.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)

__all__ = ["MetricUnit", "logger", "metrics"]
