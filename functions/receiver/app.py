"""API Gateway entry point: `POST /webhooks/{source}`, and `GET`, `HEAD` and `OPTIONS`
for the providers that check an endpoint that way. Routes and handler only; the work
is in webhook_core.receiving."""

from __future__ import annotations

import base64
import binascii
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_core.errors import (
    ConfigurationError,
    DeliveryInProgressError,
    ServiceUnavailableError,
    SignatureError,
    WebhookError,
)
from webhook_core.ledger import Outcome
from webhook_core.observability import MetricUnit, count_once, logger, metrics
from webhook_core.providers.spec import HandshakeReply, Reply
from webhook_core.receiving import Delivery, Receiver, create_receiver
from webhook_core.settings import ReceiverSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

SOURCES_FILE = Path(__file__).with_name("sources.json")
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
STRING: dict[str, Any] = {"type": "string"}
OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "id"],
    "properties": {"status": {"type": "string", "enum": ["accepted", "duplicate"]}, "id": {"type": "string"}},
}


def _documented(description: str, schema: dict[str, Any]) -> OpenAPIResponse:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"schema": schema}}}


app = APIGatewayRestResolver()


@functools.cache
def get_receiver() -> Receiver:
    """Settings validated and sources loaded once per cold start; a bad source
    file raises ConfigurationError here and the function does not serve."""
    try:
        return create_receiver(ReceiverSettings.from_environment(os.environ, SOURCES_FILE))
    except ConfigurationError as error:
        logger.critical("the receiver is misconfigured and will not serve", extra={"reason": str(error)})
        raise


@app.post(
    "/webhooks/<source>",
    summary="Receive a webhook from a configured source",
    description="Verifies the provider's signature on the raw body, accepts each event once and queues it.",
    responses={
        200: {
            "description": "Already accepted (a provider's retry), or a provider handshake answered as it requires "
            "(Slack url_verification, Zoom endpoint.url_validation, Event Grid's validation, Twitch's challenge as "
            "text): nothing is queued. With no body: a delivery of a source whose provider demands it (`reply`: Xero), "
            "WooCommerce's creation ping, Notion's verification_token or Asana's X-Hook-Secret (echoed in that "
            "header) kept for the operator",
            "headers": {"X-Hook-Secret": {"description": "Asana's handshake: its secret, echoed", "schema": STRING}},
            "content": {
                content_types.APPLICATION_JSON: {"schema": {"type": "object"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
        202: _documented("Verified, new, and queued", OUTCOME_SCHEMA),
        204: {
            "description": "Discord's webhook-events PING, or a delivery of a source whose provider demands a 204 "
            "(`reply`: Okta, Discord), with no body"
        },
        400: _documented("The body cannot be read as the provider sends it", ERROR_SCHEMA),
        401: _documented(
            "Missing or bad signature, a timestamp outside the tolerance, or a setup secret handed over for a "
            "source that has one already (with no body for a source whose provider demands it: Xero)",
            ERROR_SCHEMA,
        ),
        403: _documented("The source only accepts its provider's published addresses", ERROR_SCHEMA),
        404: _documented("No source is configured under this name", ERROR_SCHEMA),
        409: _documented("The same event is still being accepted; retry after Retry-After seconds", ERROR_SCHEMA),
        413: _documented(
            "The body is over MaxBodyBytes (at most 4,669,440 bytes, what API Gateway can hand the function); "
            "nothing is written",
            ERROR_SCHEMA,
        ),
        503: _documented(
            "Temporarily unable to accept (secret missing, DynamoDB, SQS or S3 failure): retry later", ERROR_SCHEMA
        ),
    },
)
def receive_webhook(source: str) -> Response[dict[str, Any]]:
    receiver = get_receiver()
    configured = receiver.source(source, _source_ip())
    # Metrics keep only the `service` dimension, so alarms see every source at once;
    # the source travels as EMF metadata (queryable in Logs Insights).
    metrics.add_metadata(key="source", value=source)
    delivery = Delivery(
        source=source, headers=_headers(), body=_raw_body(receiver), query=_query(), source_ip=_source_ip()
    )
    outcome = receiver.accept(delivery)
    if isinstance(outcome, HandshakeReply):
        return _handshake(outcome)
    return _accepted(outcome, configured.spec.reply)


def _accepted(outcome: Outcome, reply: Reply | None) -> Response[Any]:
    if outcome.duplicate:
        metrics.add_metric(name="Duplicate", unit=MetricUnit.Count, value=1)
        logger.info("duplicate delivery", extra={"envelope_id": outcome.envelope_id})
        status, answer = 200, {"status": "duplicate", "id": outcome.envelope_id}
    else:
        metrics.add_metric(name="Accepted", unit=MetricUnit.Count, value=1)
        logger.info("accepted", extra={"envelope_id": outcome.envelope_id})
        status, answer = 202, {"status": "accepted", "id": outcome.envelope_id}
    if reply is None:
        return _json(status, answer)
    # The provider's own demand (Xero: 200 and nothing else; Okta, Discord: 204), for a
    # first delivery and its retries alike.
    if reply.empty:
        return Response(status_code=reply.status, content_type=None, body="")
    return _json(reply.status, answer)


CHECK_REFUSALS: dict[int, OpenAPIResponse] = {
    403: _documented(
        "The source only accepts its provider's published addresses (or, on OPTIONS, not this origin)", ERROR_SCHEMA
    ),
    404: _documented("No source is configured under this name", ERROR_SCHEMA),
    503: _documented("The source's secret or verify token cannot be read: retry later", ERROR_SCHEMA),
}


@app.get(
    "/webhooks/<source>",
    summary="Answer a provider's GET endpoint check",
    description="Meta's subscription check (hub.mode, hub.verify_token, hub.challenge), Dropbox's challenge echo, "
    "Okta's one-time verification (X-Okta-Verification-Challenge, with the hook's Authorization header), X's "
    "challenge-response check (crc_token) and Mailchimp's creation GET (the URL's key, in the query string), "
    "for sources that have one; every other source answers 405.",
    responses={
        200: {
            "description": "The challenge as plain text (Meta, Dropbox), JSON: Okta's `verification`, "
            "X's `response_token`, or no body (Mailchimp)",
            "content": {
                "text/plain": {"schema": STRING},
                content_types.APPLICATION_JSON: {"schema": {"type": "object"}},
            },
        },
        400: _documented("Not the provider's check: a parameter or header is missing or malformed", ERROR_SCHEMA),
        401: _documented(
            "The verify token or the source's credential (Okta's header, Mailchimp's key) is missing or does not match",
            ERROR_SCHEMA,
        ),
        405: _documented("This source has no GET endpoint check", ERROR_SCHEMA),
        **CHECK_REFUSALS,
    },
)
def check_endpoint(source: str) -> Response[Any]:
    return _check(source, "GET")


@app.route(
    "/webhooks/<source>",
    method="HEAD",
    summary="Answer a provider's HEAD endpoint check",
    description="Trello's HEAD on the callback URL when a webhook is made; every other source answers 405.",
    responses={
        200: {"description": "The source answers HEAD (Trello): no body"},
        405: {"description": "This source has no HEAD endpoint check"},
        403: {"description": "The source only accepts its provider's published addresses"},
        404: {"description": "No source is configured under this name"},
    },
)
def check_head(source: str) -> Response[Any]:
    return _check(source, "HEAD")


@app.route(
    "/webhooks/<source>",
    method="OPTIONS",
    summary="Answer CloudEvents' webhook validation (abuse protection)",
    description="OPTIONS with WebHook-Request-Origin (and optionally WebHook-Request-Rate), granted with "
    "WebHook-Allowed-Origin and WebHook-Allowed-Rate to the origins a source names (Event Grid's CloudEvents "
    "schema); every other source answers 405.",
    responses={
        200: {
            "description": "Delivery granted: no body",
            "headers": {
                "WebHook-Allowed-Origin": {"description": "The origin granted", "schema": STRING},
                "WebHook-Allowed-Rate": {"description": "Requests per minute granted, or *", "schema": STRING},
                "Allow": {"description": "POST, OPTIONS", "schema": STRING},
            },
        },
        400: _documented("WebHook-Request-Origin is missing or not a DNS name", ERROR_SCHEMA),
        405: _documented("This source has no OPTIONS endpoint check", ERROR_SCHEMA),
        **CHECK_REFUSALS,
    },
)
def check_options(source: str) -> Response[Any]:
    return _check(source, "OPTIONS")


def _check(source: str, method: str) -> Response[Any]:
    metrics.add_metadata(key="source", value=source)
    return _handshake(get_receiver().check(source, method, _query(), _headers(), _source_ip()))


def _handshake(reply: HandshakeReply) -> Response[Any]:
    metrics.add_metric(name="Handshake", unit=MetricUnit.Count, value=1)
    logger.info("handshake answered")
    if reply.content_type == content_types.APPLICATION_JSON and reply.body is not None:
        return _json(reply.status, reply.body, dict(reply.headers))  # type: ignore[arg-type]
    if reply.body is None:
        return Response(status_code=reply.status, content_type=None, body="", headers=dict(reply.headers))
    # nosniff: an echoed challenge must never be taken for a page.
    return Response(
        status_code=reply.status,
        content_type=reply.content_type,
        body=reply.body,
        headers={"X-Content-Type-Options": "nosniff", **reply.headers},
    )


@app.exception_handler(WebhookError)
def refuse(error: WebhookError) -> Response[Any]:
    return _refusal(error)


@app.exception_handler(Exception)
def fail_safe(error: Exception) -> Response[Any]:
    # Whatever broke, the provider is told to retry: a verified delivery is never dropped.
    logger.exception("unexpected error")
    return _refusal(ServiceUnavailableError(f"unexpected {type(error).__name__}"))


def _refusal(error: WebhookError) -> Response[Any]:
    if isinstance(error, SignatureError):
        count_once("SignatureRejectedByReason", reason=error.reason)
    metrics.add_metric(name=error.metric, unit=MetricUnit.Count, value=1)
    log = logger.error if isinstance(error, ServiceUnavailableError) else logger.warning
    log("refused", extra={"status": error.status, "code": error.code, "detail": error.detail})
    headers = {}
    if isinstance(error, DeliveryInProgressError):
        headers["Retry-After"] = str(get_receiver().retry_after_seconds)
    if _refusals_empty():
        # The provider's own demand (Xero: no body in any answer, its Intent to receive's 401 too).
        return Response(status_code=error.status, content_type=None, body="", headers=headers)
    return _json(error.status, {"error": {"code": error.code, "message": error.message}}, headers)


def _refusals_empty() -> bool:
    """Whether the source this request names answers its refusals with no body."""
    name = (app.current_event.path_parameters or {}).get("source")
    if not name:
        return False
    try:
        reply = get_receiver().source(name, _source_ip()).spec.reply
    except (WebhookError, ConfigurationError):  # unknown, forbidden or unloadable: the error body stays
        return False
    return reply is not None and reply.empty_refusals


@app.not_found
def no_route(_: Exception) -> Response[dict[str, Any]]:
    metrics.add_metric(name="NotFound", unit=MetricUnit.Count, value=1)
    return _json(404, {"error": {"code": "not_found", "message": "No such route."}})


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _headers() -> dict[str, str]:
    return {name.lower(): value for name, value in (app.current_event.get("headers") or {}).items()}


def _source_ip() -> str | None:
    # API Gateway's own view of the TCP peer: a client cannot set it with a header.
    return app.current_event.request_context.identity.source_ip or None


def _query() -> dict[str, str]:
    return dict(app.current_event.get("queryStringParameters") or {})


def _raw_body(receiver: Receiver) -> bytes:
    """The exact bytes the provider sent: API Gateway base64-encodes binary bodies."""
    body: str = app.current_event.get("body") or ""
    if not app.current_event.is_base64_encoded:
        raw = body.encode("utf-8")
        receiver.check_size(len(raw))
        return raw
    # Refuse before decoding what is clearly too large: 4 base64 characters carry 3 bytes.
    receiver.check_size(len(body) * 3 // 4 - 2)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("undecodable_body") from None
    receiver.check_size(len(raw))
    return raw


# log_event=False, explicitly: POWERTOOLS_LOGGER_LOG_EVENT must never log requests, whose
# headers carry tokens and signatures.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    get_receiver().bind(context)
    return app.resolve(event, context)


__all__ = ["app", "get_receiver", "lambda_handler"]
