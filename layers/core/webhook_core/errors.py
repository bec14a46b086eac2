"""One exception hierarchy for everything a request can run into.

Each error that reaches a caller carries its HTTP status, a stable machine code
and a message that is safe to show (never a secret, never which secret or
which check failed).
"""

from __future__ import annotations


class WebhookError(Exception):
    """Base of every error the receiver turns into an HTTP answer."""

    status = 500
    code = "internal_error"
    metric = "Errors"
    public_message = "The webhook could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        # `detail` is for logs only; the response always carries public_message.
        super().__init__(detail or self.public_message)
        self.detail = detail or self.public_message

    @property
    def message(self) -> str:
        return self.public_message


class ConfigurationError(Exception):
    """The sources file or the settings are invalid: the function must not start."""


class UnknownSourceError(WebhookError):
    status = 404
    metric = "UnknownSource"
    code = "unknown_source"
    public_message = "No webhook source is configured under this name."


class ForbiddenSourceError(WebhookError):
    """The request comes from outside the source's allowed IP ranges."""

    status = 403
    metric = "ForbiddenSourceIp"
    code = "forbidden"
    public_message = "Requests for this webhook source are not accepted from this address."


class PayloadTooLargeError(WebhookError):
    status = 413
    metric = "PayloadTooLarge"
    code = "payload_too_large"
    public_message = "The request body is larger than this endpoint accepts."


class SignatureError(WebhookError):
    """The request is not proven genuine. `reason` feeds metrics and logs only."""

    status = 401
    metric = "SignatureRejected"
    code = "invalid_signature"
    public_message = "The webhook signature could not be verified."

    def __init__(self, reason: str, *, skew_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # For timestamp_out_of_tolerance: how far the signed time was from the receive
        # time (positive: the request is older), kept for the operator only.
        self.skew_seconds = skew_seconds


class DeliveryInProgressError(WebhookError):
    status = 409
    metric = "InProgress"
    code = "in_progress"
    public_message = "This event is still being accepted; retry later."


class ServiceUnavailableError(WebhookError):
    """Anything after verification failed; the provider should retry."""

    status = 503
    metric = "Errors"
    code = "unavailable"
    public_message = "The webhook could not be accepted right now; retry later."


class SourceUnavailableError(ServiceUnavailableError):
    """The source has no usable secret, so it fails closed until one is set."""

    metric = "SourceUnavailable"
    code = "source_unavailable"
    public_message = "This webhook source is not ready to accept deliveries; retry later."


class DedupeStoreError(ServiceUnavailableError):
    """The event ledger (the receiver's dedupe) could not be read or written."""


class QueueError(ServiceUnavailableError):
    """The envelope could not be sent to the queue."""


class BodyStoreError(ServiceUnavailableError):
    """A claim-checked body could not be written to or read from the body store, or
    what was read is not the body the envelope refers to."""


class BadRequestError(WebhookError):
    """A request this source cannot take: a handshake without its parameters."""

    status = 400
    metric = "BadRequest"
    code = "bad_request"
    public_message = "The request is not one this webhook source accepts."


class MethodNotAllowedError(WebhookError):
    status = 405
    metric = "MethodNotAllowed"
    code = "method_not_allowed"
    public_message = "This webhook source accepts only POST."
