"""SQS entry point: batches from the events queue, each record dispatched to its
registered handler (handlers/), failures reported one by one."""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_core.errors import ConfigurationError
from webhook_core.observability import logger, metrics
from webhook_core.processing import Processor
from webhook_core.registry import default_registry
from webhook_core.settings import ProcessorSettings

# The receiver's sources file: this one is a link to functions/receiver/sources.json,
# whose content `sam build` packages with this function.
SOURCES_FILE = Path(__file__).with_name("sources.json")


@functools.cache
def get_processor() -> Processor:
    try:
        settings = ProcessorSettings.from_environment(os.environ, SOURCES_FILE)
    except ConfigurationError as error:
        logger.critical("the processor is misconfigured and will not run", extra={"reason": str(error)})
        raise
    # The business handlers: the `handlers` package beside this file (HANDLERS_MODULE)
    # registers them into the default registry when it is imported.
    importlib.import_module(settings.handlers_module)
    return Processor.from_settings(settings, default_registry)


# log_event=False, explicitly: POWERTOOLS_LOGGER_LOG_EVENT must never log batches, whose
# envelopes carry bodies and kept headers.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return get_processor().process_batch(event, context)
