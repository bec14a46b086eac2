"""Signed deliveries, made exactly as each provider makes them.

The signature comes from the same scheme spec the receiver verifies with, and
that spec's signer is tested against the providers' own SDKs (stripe,
standardwebhooks, svix) and documented examples.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from webhook_core.bodies import BodyFormat
from webhook_core.errors import SignatureError
from webhook_core.providers.adyen import AdyenScheme
from webhook_core.providers.braintree import PAYLOAD_PARAMETER, BraintreeScheme
from webhook_core.providers.contentful import ContentfulScheme
from webhook_core.providers.figma import PasscodeScheme
from webhook_core.providers.forms import FormScheme
from webhook_core.providers.mailgun import MailgunScheme
from webhook_core.providers.paypal import PayPalScheme
from webhook_core.providers.scheme import format_timestamp
from webhook_core.providers.token import TokenScheme
from webhook_core.providers.twilio import TwilioScheme
from webhook_core.sources import Source
from webhooks_cli.devsecrets import active_secrets
from webhooks_cli.errors import CliError
from webhooks_cli.provider_keys import (
    PAYPAL_CERTIFICATE_URL,
    SNS_CERTIFICATE_URL,
    SNS_SUBSCRIBE_PREFIX,
    SUBSCRIBE_TOKEN_PREFIX,
    ProviderKey,
)

USER_AGENT = "webhooks-cli/0.1"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# The bundled sample that is each POST handshake's endpoint check.
HANDSHAKE_SAMPLES = {
    "slack": "url_verification",
    "zoom": "endpoint.url_validation",
    "discord": "PING",
    "twitch": "webhook_callback_verification",
    "figma": "PING",
}
# Azure Event Grid's subscription validation event, as its documentation shows it.
EVENT_GRID_VALIDATION = {
    "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
    "subject": "",
    "dataVersion": "1",
    "metadataVersion": "1",
}
EVENT_GRID_VALIDATION_HEADERS = {"aeg-event-type": "SubscriptionValidation"}


# Kinds whose provider signs with its own certificate, fetched only from its hosts: the CLI
# signs for them only with the local stack's stand-in key (webhooks_cli.provider_keys),
# which only `webhooks dev` serves a certificate for.
UNSIGNABLE_KINDS = {"sns": "Amazon SNS", "paypal": "PayPal"}
SNS_CONFIRMATION = "SubscriptionConfirmation"


@dataclass(frozen=True)
class Delivery:
    source: str
    event_id: str
    event_type: str
    body: bytes
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    method: str = "POST"


def samples(source: Source) -> dict[str, Any]:
    """The bundled sample payloads of a source, by event type: its preset's, else its kind's."""
    for name in (source.preset.name if source.preset else None, source.kind):
        if name is None:
            continue
        path = resources.files("webhooks_cli") / "samples" / f"{name}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except FileNotFoundError:
            continue
    return {}


def handshake_name(source: Source) -> str | None:
    """Which provider check a source answers on POST: its configured one, or its kind's own."""
    configured = getattr(source.config, "handshake", None)
    if isinstance(configured, str):
        return configured
    return source.kind if source.kind in HANDSHAKE_SAMPLES else None


def new_event_id(kind: str) -> str:
    if kind == "mailgun":  # the signed token: 50 random characters
        return secrets.token_hex(25)
    prefix = {"stripe": "evt_", "standard": "msg_"}.get(kind)
    return f"{prefix}{uuid.uuid4().hex[:24]}" if prefix else str(uuid.uuid4())


def _fill(value: Any, event_id: str, now: int) -> Any:
    # {sha} and {number}: a commit sha and a numeric id of this event, so that no two sent
    # events share a body (sources keyed on their body's digest would take one for a retry).
    digest = hashlib.sha1(event_id.encode(), usedforsecurity=False).hexdigest()
    placeholders: dict[str, Any] = {
        "{event_id}": event_id,
        "{sha}": digest,
        "{sid}": "SM" + digest[:32],
        # Mailchimp's ids (a member's, a campaign's): 10 hex characters.
        "{hex10}": digest[:10],
        "{number}": int(digest[:15], 16),
        # The same, as text: Figma's ids (webhook_id, comment_id, version_id) are numeric strings.
        "{number_text}": str(int(digest[:15], 16)),
        "{now}": now,
        "{now_millis}": now * 1000,
        "{now_iso}": datetime.fromtimestamp(now, tz=UTC).isoformat().replace("+00:00", "Z"),
        # Mailchimp's fired_at: `YYYY-MM-DD HH:MM:SS`, no zone.
        "{now_utc}": datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    if isinstance(value, str) and value in placeholders:
        return placeholders[value]
    if isinstance(value, str) and "{" in value:  # a placeholder inside text: a URL naming the event
        for name, filled in placeholders.items():
            value = value.replace(name, str(filled))
        return value
    if isinstance(value, dict):
        return {key: _fill(item, event_id, now) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, event_id, now) for item in value]
    return value


def sample_body(source: Source, event_type: str | None, event_id: str, now: int) -> tuple[str, bytes, dict[str, str]]:
    """The chosen sample's body and the headers its provider sends with it (`$headers`);
    a sample marked `"$format": "form"` is sent as form parameters (Twilio's SMS webhook,
    Mandrill's `mandrill_events`)."""
    available = samples(source)
    if not available:
        raise CliError(f"no sample payloads for kind {source.kind!r}; send your own with --file")
    chosen = event_type or next(iter(available))
    if chosen not in available:
        raise CliError(f"no sample {chosen!r} for source {source.name!r}; samples: {', '.join(available)}")
    sample = available[chosen]
    headers: dict[str, str] = {}
    form = isinstance(sample, dict) and sample.get("$format") == "form"
    if isinstance(sample, dict) and "$body" in sample:
        headers, sample = dict(sample.get("$headers", {})), sample["$body"]
    filled = _fill(sample, event_id, now)
    if form:
        headers.setdefault("Content-Type", FORM_CONTENT_TYPE)
        # A field that is not text is sent as its JSON (Mandrill's `mandrill_events` array).
        fields = {name: value if isinstance(value, str) else json.dumps(value) for name, value in filled.items()}
        return chosen, urlencode(fields).encode(), headers
    return chosen, json.dumps(filled).encode(), headers


def sign(  # noqa: PLR0911, PLR0912 - one branch per place a provider puts its signature
    source: Source,
    secret: str,
    *,
    event_type: str | None = None,
    body_file: Path | None = None,
    body: bytes | None = None,
    event_id: str | None = None,
    now: int | None = None,
    provider_key: ProviderKey | None = None,
) -> Delivery:
    """A delivery for `source`, signed with `secret` at `now` (default: the current time);
    SNS and PayPal deliveries with `provider_key`, the local stack's stand-in."""
    key = _stand_in_key(source, provider_key)
    now = int(time.time()) if now is None else now
    event_id = event_id or new_event_id(source.kind)
    if source.kind == "sns" and key is not None:  # the body is the signed message itself
        message = None if body_file is None and body is None else (body or _read(body_file)).decode()
        return _sign_sns(source, key, secret, event_type, message, event_id, now)
    sample_headers: dict[str, str] = {}
    # A given body (a provider's retry, or --file) keeps the type the receiver derives from
    # it unless one is named; a header-typed kind then sends no type header.
    chosen: str | None = event_type
    if body is not None:  # a provider's retry: the same bytes, signed anew
        pass
    elif body_file is not None:
        body = _read(body_file)
    else:
        chosen, body, sample_headers = sample_body(source, event_type, event_id, now)

    scheme, fields = source.spec.scheme, source.spec.fields
    form_post = _form_post(source, body, sample_headers)
    if form_post:
        sample_headers.setdefault("Content-Type", FORM_CONTENT_TYPE)
    if isinstance(scheme, MailgunScheme):  # the signature goes into the body, keeping a retry's token
        derived = chosen or derived_type(source, sample_headers, body, form_post)
        return _sign_mailgun(source, scheme, body, secret, event_id, derived, now, sample_headers)
    if isinstance(scheme, AdyenScheme):  # each notification item's signature goes into the body
        return _sign_adyen(source, scheme, body, secret, event_id, sample_headers)
    if isinstance(scheme, BraintreeScheme):  # the notification's XML becomes bt_payload, signed
        return _sign_braintree(source, scheme, body, secret, event_id)
    if isinstance(scheme, PayPalScheme) and key is not None:
        return _sign_paypal(source, key, body, secret, event_id, now)
    if isinstance(scheme, PasscodeScheme):  # Figma: the passcode itself goes into the body
        return _sign_figma(source, scheme, body, secret, event_id, sample_headers)
    try:
        if form_post and isinstance(scheme, TwilioScheme | FormScheme):  # a form's parameters, not its bytes
            signature, query = scheme.sign_form(body, secret), {}
        else:
            timestamp = now if scheme.has_timestamp else None
            signature = scheme.sign(body, secret, timestamp=timestamp, event_id=event_id)
            query = scheme.signed_query(body)
    except ValueError as exc:
        raise CliError(f"the secret of source {source.name!r} is not in its kind's format: {exc}") from exc
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if isinstance(scheme, TokenScheme) and scheme.parameter is not None:
        # Mailchimp: the key is in the URL it was given, not in a header.
        query = {**query, scheme.parameter: signature}
    else:
        headers[scheme.signature_header] = signature
    if scheme.timestamp_header:
        headers[scheme.timestamp_header] = format_timestamp(now, getattr(scheme, "timestamp_format", "seconds"))
    if isinstance(scheme, ContentfulScheme):  # the list of signed headers is itself sent (and signed)
        headers.update(scheme.signed_headers(now * 1000))
    for header, value in ((scheme.id_header, event_id), (fields.id_header, event_id), (fields.type_header, chosen)):
        if header and value:
            headers[header] = value
    headers.update(sample_headers)
    return Delivery(
        source=source.name,
        event_id=event_id,
        event_type=derived_type(source, headers, body, form_post),
        body=body,
        headers=headers,
        query=query,
    )


def derived_type(source: Source, headers: dict[str, str], body: bytes, form_post: bool) -> str:
    """The type the receiver takes from this delivery, by the same code and the same source."""
    fields = source.spec.fields
    # Twilio's JSON bodies are JSON (their signed bodySHA256 says so), its form posts forms.
    body_format: BodyFormat | None = "form" if form_post else ("json" if fields.body_format == "form" else None)
    return fields.extract({name.lower(): value for name, value in headers.items()}, body, body_format).type


def _read(body_file: Path | None) -> bytes:
    assert body_file is not None
    try:
        return body_file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {body_file}: {exc.strerror}") from exc


def _stand_in_key(source: Source, provider_key: ProviderKey | None) -> ProviderKey | None:
    if source.kind in UNSIGNABLE_KINDS and provider_key is None:
        raise CliError(
            f"{UNSIGNABLE_KINDS[source.kind]} signs with its own certificate, which only its hosts serve: "
            f"webhooks send signs for source {source.name!r} only to the local stack (`webhooks dev`), "
            "which serves a stand-in certificate in their place"
        )
    return provider_key


def _sns_time(now: int) -> str:
    return datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _sign_sns(  # noqa: PLR0917 - what `sign` has at hand, passed on as is
    source: Source,
    key: ProviderKey,
    topic_arn: str,
    event_type: str | None,
    message: str | None,
    event_id: str,
    now: int,
) -> Delivery:
    """An SNS HTTPS delivery (docs.aws.amazon.com/sns/latest/dg/http-notification-json.html):
    the message is the sample named `event_type` (its Subject), or `message` as given;
    `SubscriptionConfirmation` sends the confirmation request, whose link the local stack
    answers. Signed as SignatureVersion 2 (SHA256withRSA over SNS's canonical string)."""
    if message is None:
        available = samples(source)
        chosen = event_type or next(iter(available))
        if chosen not in available:
            raise CliError(f"no sample {chosen!r} for source {source.name!r}; samples: {', '.join(available)}")
        filled = _fill(available[chosen], event_id, now)
        message = (filled if isinstance(filled, str) else json.dumps(filled)).replace("{topic}", topic_arn)
        event_type = chosen
    region = "us-east-1"
    document: dict[str, str] = {"Type": "Notification", "MessageId": event_id}
    if event_type == SNS_CONFIRMATION:
        token = SUBSCRIBE_TOKEN_PREFIX + secrets.token_hex(32)
        document.update(Type=SNS_CONFIRMATION, Token=token, TopicArn=topic_arn, Message=message)
        document["SubscribeURL"] = SNS_SUBSCRIBE_PREFIX + urlencode({"TopicArn": topic_arn, "Token": token})
    else:
        document["TopicArn"] = topic_arn
        if event_type:
            document["Subject"] = event_type
        document["Message"] = message
    document.update(Timestamp=_sns_time(now), SignatureVersion="2")
    # Imported here: the SNS kind's module brings the functions' logger and metrics, which
    # importing the CLI must not make before a function's environment is set.
    from webhook_core.providers.sns import canonical_string  # noqa: PLC0415

    document["Signature"] = base64.b64encode(key.sign(canonical_string(document), "SHA256")).decode()
    document["SigningCertURL"] = SNS_CERTIFICATE_URL
    subscription = f"{topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, topic_arn)}"
    if document["Type"] == "Notification":
        document["UnsubscribeURL"] = f"https://sns.{region}.amazonaws.com/?" + urlencode(
            {"Action": "Unsubscribe", "SubscriptionArn": subscription}
        )
    body = json.dumps(document, indent=2).encode()
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": USER_AGENT,
        "x-amz-sns-message-type": document["Type"],
        "x-amz-sns-message-id": event_id,
        "x-amz-sns-topic-arn": topic_arn,
    }
    if document["Type"] == "Notification":
        headers["x-amz-sns-subscription-arn"] = subscription
    return Delivery(source.name, event_id, derived_type(source, headers, body, False), body, headers)


def _sign_paypal(  # noqa: PLR0917 - what `sign` has at hand, passed on as is
    source: Source, key: ProviderKey, body: bytes, webhook_id: str, event_id: str, now: int
) -> Delivery:
    """PayPal's headers (developer.paypal.com/api/rest/webhooks/rest/): SHA256withRSA over
    `transmission id|transmission time|webhook id|CRC32 of the body`."""
    sent = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    content = f"{event_id}|{sent}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "PAYPAL-TRANSMISSION-ID": event_id,
        "PAYPAL-TRANSMISSION-TIME": sent,
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(key.sign(content, "SHA256")).decode(),
        "PAYPAL-CERT-URL": PAYPAL_CERTIFICATE_URL,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
    return Delivery(source.name, event_id, derived_type(source, headers, body, False), body, headers)


def _sign_mailgun(  # noqa: PLR0917 - what `sign` has at hand, passed on as is
    source: Source,
    scheme: MailgunScheme,
    body: bytes,
    secret: str,
    event_id: str,
    event_type: str,
    now: int,
    sample_headers: dict[str, str],
) -> Delivery:
    try:
        document = json.loads(body)
    except ValueError:
        raise CliError("a Mailgun body is a JSON object (the signature object goes into it)") from None
    if not isinstance(document, dict):
        raise CliError("a Mailgun body is a JSON object (the signature object goes into it)")
    signed = document.get("signature")
    token = signed.get("token") if isinstance(signed, dict) else None
    token = token if isinstance(token, str) and token else event_id
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **sample_headers}
    return Delivery(
        source=source.name,
        event_id=token,
        event_type=event_type,
        body=scheme.sign_body(body, secret, timestamp=now, token=token),
        headers=headers,
    )


def _sign_adyen(  # noqa: PLR0917 - what `sign` has at hand, passed on as is
    source: Source, scheme: AdyenScheme, body: bytes, secret: str, event_id: str, sample_headers: dict[str, str]
) -> Delivery:
    try:
        signed = scheme.sign_body(body, secret)
    except SignatureError:
        raise CliError("an Adyen body is a notification: a JSON object with notificationItems") from None
    except ValueError as exc:
        raise CliError(f"the secret of source {source.name!r} is not in its kind's format: {exc}") from exc
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **sample_headers}
    return Delivery(
        source=source.name,
        event_id=event_id,
        event_type=derived_type(source, headers, signed, False),
        body=signed,
        headers=headers,
    )


def _sign_figma(  # noqa: PLR0917 - what `sign` has at hand, passed on as is
    source: Source, scheme: PasscodeScheme, body: bytes, secret: str, event_id: str, sample_headers: dict[str, str]
) -> Delivery:
    try:
        signed = scheme.sign_body(body, secret)
    except ValueError:
        raise CliError("a Figma body is a JSON object (the passcode goes into it)") from None
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **sample_headers}
    return Delivery(
        source=source.name,
        event_id=event_id,
        event_type=derived_type(source, headers, signed, False),
        body=signed,
        headers=headers,
    )


def braintree_notification(body: bytes) -> bytes:
    """The notification XML in what `webhooks send` is given for a Braintree source: a
    bundled sample (`{"$xml": …}`), a form post Braintree made (a retry), or the XML itself."""
    posted = parse_qs(body.decode("utf-8", "replace")).get(PAYLOAD_PARAMETER)
    if posted:
        try:
            return base64.b64decode(posted[0])
        except (binascii.Error, ValueError):
            raise CliError("bt_payload is not base64") from None
    try:
        document = json.loads(body)
    except ValueError:
        return body
    notification = document.get("$xml") if isinstance(document, dict) else None
    if isinstance(notification, str):
        return notification.encode()
    raise CliError("a Braintree notification is XML (or a form post of bt_signature and bt_payload)")


def _sign_braintree(source: Source, scheme: BraintreeScheme, body: bytes, secret: str, event_id: str) -> Delivery:
    signed = scheme.sign_body(braintree_notification(body), secret)
    headers = {"Content-Type": FORM_CONTENT_TYPE, "User-Agent": USER_AGENT}
    return Delivery(
        source=source.name,
        event_id=event_id,
        event_type=derived_type(source, headers, signed, True),
        body=signed,
        headers=headers,
    )


def _form_post(source: Source, body: bytes, sample_headers: dict[str, str]) -> bool:
    """Whether to post `body` as a form: a form sample, or a given body that is not JSON
    for a source whose provider posts forms (Twilio's SMS and voice webhooks)."""
    if "Content-Type" in sample_headers:
        return sample_headers["Content-Type"] == FORM_CONTENT_TYPE
    if source.spec.fields.body_format != "form":
        return False
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


def handshake(source: Source, secret: str, tokens: dict[str, Any] | None = None) -> Delivery:  # noqa: PLR0911 - one per check
    """The request the provider sends to check an endpoint or set a subscription up,
    whichever SOURCE answers: Notion's verification_token, Asana's X-Hook-Secret,
    WooCommerce's ping, CloudEvents' OPTIONS, Trello's HEAD, a GET check (Meta, Dropbox,
    Okta, X) or a signed POST handshake (Slack, Zoom, Discord, Twitch, Event Grid)."""
    spec = source.spec
    nonce = uuid.uuid4().hex
    headers = {"User-Agent": USER_AGENT}
    capture = getattr(source.config, "setup_capture", None)
    if capture == "notion":
        body = json.dumps({"verification_token": f"secret_{nonce}"}).encode()
        return Delivery(source.name, "", "verification_token", body, {**headers, "Content-Type": "application/json"})
    if capture == "asana":
        return Delivery(source.name, "", "X-Hook-Secret handshake", b"", {**headers, "X-Hook-Secret": nonce})
    if spec.unsigned_check is not None:
        form = {**headers, "Content-Type": FORM_CONTENT_TYPE}
        return Delivery(source.name, "", "creation ping", f"webhook_id={int(nonce[:6], 16)}".encode(), form)
    if spec.options_check is not None:
        origin = {"WebHook-Request-Origin": source.config.webhook_origins[0]}  # type: ignore[attr-defined]
        return Delivery(source.name, "", "OPTIONS validation", b"", {**headers, **origin}, method="OPTIONS")
    if spec.head_check is not None:
        return Delivery(source.name, "", "HEAD check", b"", headers, method="HEAD")
    if spec.get_check is not None:
        return endpoint_check(source, tokens or {}, secret)
    if getattr(source.config, "handshake", None) == "eventgrid":
        event = {**EVENT_GRID_VALIDATION, "id": str(uuid.uuid4()), "data": {"validationCode": str(uuid.uuid4())}}
        signed = sign(source, secret, event_type="SubscriptionValidation", body=json.dumps([event]).encode())
        # Event Grid marks its validation with this header, and the receiver requires it.
        headers = {**signed.headers, **EVENT_GRID_VALIDATION_HEADERS}
        return replace(signed, headers=headers, event_type=EVENT_GRID_VALIDATION["eventType"])
    name = handshake_name(source)
    if name is None:
        raise CliError(f"source {source.name!r} answers no provider endpoint check")
    # Named after the check (what `send` prints), not the type the receiver would read: it queues none.
    return replace(sign(source, secret, event_type=HANDSHAKE_SAMPLES[name]), event_type=HANDSHAKE_SAMPLES[name])


def _url_key(source: Source, secret: str) -> dict[str, str]:
    scheme = source.spec.scheme
    return {scheme.parameter: secret} if isinstance(scheme, TokenScheme) and scheme.parameter else {}


def endpoint_check(source: Source, tokens: dict[str, Any], secret: str = "") -> Delivery:
    """The GET a provider sends to check an endpoint (Meta's subscription, Dropbox's challenge)."""
    check = source.spec.get_check
    if check is None:
        raise CliError(f"source {source.name!r} has no GET endpoint check")
    challenge = uuid.uuid4().hex
    headers = {"User-Agent": USER_AGENT}
    name = getattr(source.config, "get_check", None)
    if check.token:
        known = active_secrets(tokens.get(f"{source.name}/{check.token}"))
        token = known[0] if known else None
        if token is None:
            raise CliError(f"no {check.token} for source {source.name!r}: start `webhooks dev` once to generate it")
        query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
    elif name == "okta":  # the challenge in a header, with the hook's Authorization header
        query = {}
        headers.update({"X-Okta-Verification-Challenge": challenge, source.spec.scheme.signature_header: secret})
    elif name == "crc":
        query = {"crc_token": challenge}
    elif name == "mailchimp":  # the URL as configured at Mailchimp, key included, and nothing else
        query = _url_key(source, secret)
    else:
        query = {"challenge": challenge}
    return Delivery(
        source=source.name,
        event_id="",
        event_type="endpoint check",
        body=b"",
        headers=headers,
        query=query,
        method="GET",
    )
