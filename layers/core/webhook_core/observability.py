"""Logger and Metrics, created once for the whole process.

Tracing comes from Lambda's active tracing (see template.yaml), not from the
Powertools Tracer: importing the X-Ray SDK costs ~270 ms of every cold start.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

__all__ = ["MetricUnit", "logger", "metrics"]
