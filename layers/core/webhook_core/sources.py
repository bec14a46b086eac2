"""Sources as configuration: the sources file, its pydantic models and its loader.

A source is one configured sender: the name in the URL, a kind (the signature
scheme) and the kind's options. An unknown kind, an unknown or bad option, or a
duplicate name stops the function with a message naming the source.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import ipaddress
import json
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, TypeAdapter, ValidationError, model_validator

from webhook_core.bodies import BodyFormat
from webhook_core.errors import ConfigurationError
from webhook_core.providers import (
    github,
    mailgun,
    mandrill,
    paddle,
    sendgrid,
    shopify,
    slack,
    square,
    standard,
    stripe,
    token,
    twilio,
    zoom,
)
from webhook_core.providers.fields import EventFields
from webhook_core.providers.handshakes import (
    GET_CHECKS,
    HANDSHAKES,
    HEAD_CHECKS,
    SETUP_CAPTURES,
    UNSIGNED_CHECKS,
    cloudevents_abuse_protection,
)
from webhook_core.providers.scheme import Scheme, SignatureScheme
from webhook_core.providers.spec import DedupePolicy, ProviderSpec, Reply

PRESETS_FILE = Path(__file__).parent / "providers" / "presets.json"
SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", max_length=128)]
# A query-string parameter name as it is written unescaped in a URL.
QueryParameterName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{1,64}$")]
JsonPath = Annotated[str, Field(pattern=r"^[^.]+(\.[^.]+)*$", max_length=256)]
Tolerance = Annotated[int, Field(ge=1, le=86_400)]
PublicUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2048)]
HandshakeName = Literal["slack", "zoom", "discord", "twitch", "eventgrid"]
# Headers that carry a credential on any request: never an event's id or type, never kept.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
GetCheckName = Literal["meta", "challenge", "okta", "crc", "mailchimp"]
OriginName = Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")]


class ReplyOption(BaseModel):
    """`"reply": {"status": 204}`: how every verified delivery of the source is answered,
    where its provider demands it (Xero: 200 and no body; Okta, Discord: 204)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal[200, 202, 204]
    empty: bool = True
    # Refusals answered with their status and no body (Xero's Intent to receive).
    empty_refusals: bool = False

    @model_validator(mode="after")
    def _no_content_is_empty(self) -> ReplyOption:
        if self.status == 204 and not self.empty:
            raise ValueError("a 204 reply has no body; drop empty: false")
        return self


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SourceName
    description: str = ""
    # The provider's published sending ranges (CIDRs); empty: any address. A defence in
    # depth on top of the signature, never instead of it.
    allowed_ips: tuple[IPvAnyNetwork, ...] = Field((), max_length=256)
    # How bodies are parsed (never the request's Content-Type): the kind's own by default;
    # "form" for senders that post form parameters (Slack slash commands, Twilio).
    body_format: BodyFormat | None = None
    # How a retry is told from a new event; by default "id" where the signature covers the
    # event id and "digest" otherwise (see spec.DedupePolicy).
    dedupe: DedupePolicy | None = None
    # The answer to every verified delivery, where the provider demands one (see ReplyOption).
    reply: ReplyOption | None = None

    def spec(self) -> ProviderSpec:
        raise NotImplementedError


class StripeSource(_Source):
    kind: Literal["stripe"]
    tolerance_seconds: Tolerance = 300

    def spec(self) -> ProviderSpec:
        return stripe.spec(self.tolerance_seconds)


class GitHubSource(_Source):
    kind: Literal["github"]

    def spec(self) -> ProviderSpec:
        return github.spec()


class StandardSource(_Source):
    kind: Literal["standard"]
    tolerance_seconds: Tolerance = 300
    # Where the body names what happened: `type` by the spec's convention; Replicate's
    # prediction bodies say it in `status`.
    type_path: JsonPath = "type"

    def spec(self) -> ProviderSpec:
        return standard.spec(self.tolerance_seconds, type_path=self.type_path)


class SvixSource(_Source):
    """Svix senders (Clerk, Resend, …): the Standard Webhooks scheme under svix-* headers."""

    kind: Literal["svix"]
    tolerance_seconds: Tolerance = 300
    type_path: JsonPath = "type"

    def spec(self) -> ProviderSpec:
        return standard.spec(self.tolerance_seconds, header_prefix="svix", kind="svix", type_path=self.type_path)


class SlackSource(_Source):
    kind: Literal["slack"]
    tolerance_seconds: Tolerance = 300

    def spec(self) -> ProviderSpec:
        return slack.spec(self.tolerance_seconds)


class ShopifySource(_Source):
    kind: Literal["shopify"]

    def spec(self) -> ProviderSpec:
        return shopify.spec()


class PaddleSource(_Source):
    kind: Literal["paddle"]
    # Paddle's own SDKs allow 5 seconds; raise it if your clock drifts.
    tolerance_seconds: Tolerance = 5

    def spec(self) -> ProviderSpec:
        return paddle.spec(self.tolerance_seconds)


class ZoomSource(_Source):
    kind: Literal["zoom"]
    tolerance_seconds: Tolerance = 300

    def spec(self) -> ProviderSpec:
        return zoom.spec(self.tolerance_seconds)


class SquareSource(_Source):
    kind: Literal["square"]
    # Exactly the notification URL of the Square webhook subscription: Square signs it,
    # and behind API Gateway the request's own host and stage path are not it.
    notification_url: PublicUrl

    def spec(self) -> ProviderSpec:
        return square.spec(self.notification_url)


class MandrillSource(_Source):
    kind: Literal["mandrill"]
    # Exactly the webhook URL as entered in Mandrill, query string included: Mandrill signs it.
    url: PublicUrl

    def spec(self) -> ProviderSpec:
        return mandrill.spec(self.url)


class MailgunSource(_Source):
    kind: Literal["mailgun"]
    # The replay window: the signature covers only the timestamp and the token. 15 minutes,
    # as Mailgun's own SDK (SecurityGuard.verify_webhook).
    tolerance_seconds: Tolerance = 900

    def spec(self) -> ProviderSpec:
        return mailgun.spec(self.tolerance_seconds)


class SendGridSource(_Source):
    """SendGrid's signed Event Webhook; each secret is the account's verification key (public)."""

    kind: Literal["sendgrid"]
    tolerance_seconds: Tolerance = 300

    def spec(self) -> ProviderSpec:
        return sendgrid.spec(self.tolerance_seconds)


class SnsSource(_Source):
    """Amazon SNS over HTTPS; each secret is a TopicArn the source accepts."""

    kind: Literal["sns"]
    # SNS retries a message with its first Timestamp, as long as the delivery policy says.
    tolerance_seconds: Tolerance = 86_400
    # confirm: fetch a verified SubscriptionConfirmation's SubscribeURL (an SNS host only);
    # log: leave it to the operator (the URL's host is logged).
    subscription: Literal["confirm", "log"] = "confirm"

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import sns  # noqa: PLC0415 - only sources of this kind need it

        return sns.spec(self.tolerance_seconds, self.subscription)


class PayPalSource(_Source):
    """PayPal webhooks; each secret is a webhook ID the source accepts (PayPal signs it)."""

    kind: Literal["paypal"]
    # PayPal retries for up to 3 days; the signed transmission id keeps replays out.
    tolerance_seconds: Tolerance = 86_400

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import paypal  # noqa: PLC0415 - only sources of this kind need it

        return paypal.spec(self.tolerance_seconds)


class AdyenSource(_Source):
    """Adyen standard webhooks; each secret is the webhook's HMAC key (hex), as the Customer Area shows it."""

    kind: Literal["adyen"]

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import adyen  # noqa: PLC0415 - only sources of this kind need it

        return adyen.spec()


class BraintreeSource(_Source):
    """Braintree webhooks (bt_signature / bt_payload form posts); each secret is an API private key."""

    kind: Literal["braintree"]

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import braintree  # noqa: PLC0415 - only sources of this kind need it

        return braintree.spec()


class FigmaSource(_Source):
    """Figma webhooks (V2); each secret is a webhook's passcode, which Figma sends inside the
    JSON body and the receiver cuts out of everything it keeps."""

    kind: Literal["figma"]

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import figma  # noqa: PLC0415 - only sources of this kind need it

        return figma.spec()


class _EventLocations(_Source):
    """Where the provider puts an event's facts: a header or a dotted path into the JSON body."""

    id_header: HeaderName | None = None
    id_path: JsonPath | None = None
    type_header: HeaderName | None = None
    type_path: JsonPath | None = None
    occurred_at_path: JsonPath | None = None
    occurred_at_format: Literal["epoch_seconds", "epoch_millis", "iso8601"] = "epoch_seconds"
    resource_id_path: JsonPath | None = None
    keep_headers: tuple[HeaderName, ...] = Field((), max_length=16)

    def _fields(
        self,
        *,
        default_id_header: str | None = None,
        default_type_path: str | None = None,
        type_fallback_paths: tuple[str, ...] = (),
        default_body_format: BodyFormat = "json",
    ) -> EventFields:
        id_header = (self.id_header or ("" if self.id_path else default_id_header or "")).lower() or None
        type_header = self.type_header.lower() if self.type_header else None
        type_path = self.type_path or (None if type_header else default_type_path)
        kept = ("content-type", "user-agent", id_header, type_header, *(h.lower() for h in self.keep_headers))
        return EventFields(
            id_header=id_header,
            id_path=self.id_path,
            type_header=type_header,
            type_path=type_path,
            type_fallback_paths=() if self.type_path or type_header else type_fallback_paths,
            occurred_at_path=self.occurred_at_path,
            occurred_at_format=self.occurred_at_format,
            resource_id_path=self.resource_id_path,
            kept_headers=tuple(dict.fromkeys(header for header in kept if header)),
            body_format=default_body_format,
        )


class TwilioSource(_EventLocations):
    kind: Literal["twilio"]
    # Exactly the webhook URL configured in Twilio, query string included: Twilio signs
    # it, and behind API Gateway the request's own host and stage path are not it.
    url: PublicUrl

    def spec(self) -> ProviderSpec:
        # Form posts (SMS, voice) name what happened in MessageStatus, SmsStatus or
        # CallStatus; Event Streams and bodySHA256 JSON bodies in `type`.
        fields = self._fields(
            default_id_header="i-twilio-idempotency-token",
            default_type_path="type",
            type_fallback_paths=twilio.TYPE_PARAMETERS,
            default_body_format="form",
        )
        return twilio.spec(self.url, fields)


class ContentfulSource(_EventLocations):
    """Contentful webhooks signed with the space's signing secret (64 characters)."""

    kind: Literal["contentful"]
    # Exactly the webhook URL configured at Contentful: its path (and query) is signed, and
    # behind API Gateway the request's own stage path is not it.
    url: PublicUrl
    # The toolkit's verifyRequest default: a signed request is older than this is stale.
    tolerance_seconds: Tolerance = 30

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import contentful  # noqa: PLC0415 - only sources of this kind need it

        fields = self._fields()
        if not (self.type_header or self.type_path):  # the topic names what happened
            fields = dataclasses.replace(
                fields, type_header=contentful.TOPIC, kept_headers=(*fields.kept_headers, contentful.TOPIC)
            )
        if not self.resource_id_path:
            fields = dataclasses.replace(fields, resource_id_path="sys.id")
        return contentful.spec(self.url, fields, self.tolerance_seconds)


class _Handshakes(_EventLocations):
    # The provider's endpoint checks answered by this source (see providers/handshakes.py).
    handshake: HandshakeName | None = None
    get_check: GetCheckName | None = None
    head_check: Literal["ok"] | None = None
    # CloudEvents' OPTIONS validation, granted to the origins named in webhook_origins.
    options_check: Literal["cloudevents"] | None = None
    webhook_origins: tuple[OriginName, ...] = Field((), max_length=16)
    unsigned_check: Literal["woocommerce", "monday"] | None = None
    setup_capture: Literal["notion", "asana"] | None = None

    @model_validator(mode="after")
    def _origins_for_options(self) -> _Handshakes:
        if self.options_check and not self.webhook_origins:
            raise ValueError("options_check needs webhook_origins: the sender origins that may deliver here")
        return self

    def _spec(self, kind: str, docs: str, scheme: Scheme) -> ProviderSpec:
        spec = ProviderSpec(
            kind=kind,
            docs=docs,
            scheme=scheme,
            fields=self._fields(default_id_header=getattr(scheme, "id_header", None)),
        )
        return self._with_checks(spec)

    def _with_checks(self, spec: ProviderSpec) -> ProviderSpec:
        origins = tuple(origin.lower() for origin in self.webhook_origins)
        return dataclasses.replace(
            spec,
            handshake=HANDSHAKES[self.handshake] if self.handshake else None,
            get_check=GET_CHECKS[self.get_check] if self.get_check else None,
            head_check=HEAD_CHECKS[self.head_check] if self.head_check else None,
            options_check=cloudevents_abuse_protection(origins) if self.options_check else None,
            unsigned_check=UNSIGNED_CHECKS[self.unsigned_check] if self.unsigned_check else None,
            setup_capture=SETUP_CAPTURES[self.setup_capture] if self.setup_capture else None,
        )


class TokenSource(_Handshakes):
    """A static token in a header (GitLab's X-Gitlab-Token). No body integrity:
    prefer a signing kind where the provider offers one."""

    kind: Literal["token"]
    header: HeaderName

    def spec(self) -> ProviderSpec:
        return self._with_checks(token.token_spec(self.header, self._fields()))


class QueryTokenSource(_Handshakes):
    """A static secret in the webhook URL's query string (Mailchimp Marketing): the URL
    given to the provider is `…/webhooks/<source>?<parameter>=<secret>`. No body integrity,
    and the URL may be recorded wherever URLs are: prefer a header or a signature where
    the provider offers one."""

    kind: Literal["query_token"]
    parameter: QueryParameterName = token.DEFAULT_PARAMETER

    def spec(self) -> ProviderSpec:
        return self._with_checks(token.query_token_spec(self.parameter, self._fields()))


class BasicSource(_Handshakes):
    """HTTP Basic credentials; each secret is `user:password`."""

    kind: Literal["basic"]

    def spec(self) -> ProviderSpec:
        return self._with_checks(token.basic_spec(self._fields()))


class JwtSource(_Handshakes):
    """A JSON Web Token in a header, HS256 with a shared secret (monday.com's Authorization
    header). Covers no body: deliveries dedupe on the body's digest, exp bounds a replay."""

    kind: Literal["jwt"]
    header: HeaderName = "Authorization"
    # The `aud` the token must name (monday.com: the endpoint's URL); unset, aud is not checked.
    audience: str | None = Field(None, min_length=1, max_length=2048)
    # Clock skew allowed on exp, nbf and iat.
    tolerance_seconds: Tolerance = 60

    def spec(self) -> ProviderSpec:
        from webhook_core.providers import jwt  # noqa: PLC0415 - only sources of this kind need it

        return self._with_checks(
            jwt.spec(
                self._fields(), header=self.header, audience=self.audience, tolerance_seconds=self.tolerance_seconds
            )
        )


class HmacSource(_Handshakes):
    """A generic HMAC sender: every part of the scheme is an option (presets are made of these)."""

    kind: Literal["hmac"]
    header: HeaderName
    # Further signature headers, read after `header` in order (one per key: DocuSign's
    # X-DocuSign-Signature-2…, Box's secondary); every signature found is tried.
    alternative_headers: tuple[HeaderName, ...] = Field((), max_length=15)
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    # base64url: URL-safe and unpadded (Sanity).
    encoding: Literal["hex", "base64", "base64url"] = "hex"
    prefix: str = Field("", max_length=64)
    # plain: `<prefix><signature>`; list: `<sig>,<sig>` separated by list_separator, one per
    # secret the provider signs with (Cronofy); keyed_list: `t=…,v1=…`; versioned_list: `v1,<sig> v1,<sig>`.
    signature_format: Literal["plain", "list", "keyed_list", "versioned_list"] = "plain"
    signature_keys: tuple[Annotated[str, Field(min_length=1, max_length=32)], ...] = Field((), max_length=8)
    timestamp_key: str | None = Field(None, min_length=1, max_length=32)
    list_separator: Literal[",", ";", " "] = ","
    timestamp_header: HeaderName | None = None
    timestamp_format: Literal["seconds", "millis", "iso8601"] = "seconds"
    signed_content: str = Field("{body}", max_length=256)
    signed_id_header: HeaderName | None = None
    url: PublicUrl | None = None
    key_format: Literal["text", "base64"] = "text"
    tolerance_seconds: Tolerance = 300

    @model_validator(mode="after")
    def _scheme_is_sound(self) -> HmacSource:
        self.spec()  # SignatureScheme raises ValueError listing every problem at once
        return self

    def spec(self) -> ProviderSpec:
        scheme = SignatureScheme(
            signature_header=self.header.lower(),
            alternative_headers=tuple(header.lower() for header in self.alternative_headers),
            algorithm=self.algorithm,
            encoding=self.encoding,
            signature_format=self.signature_format,
            prefix=self.prefix,
            signature_keys=self.signature_keys,
            timestamp_key=self.timestamp_key,
            list_separator=self.list_separator,
            timestamp_header=self.timestamp_header.lower() if self.timestamp_header else None,
            timestamp_format=self.timestamp_format,
            id_header=_signed_id_header(self),
            signed_content=self.signed_content,
            url=self.url or "",
            key_format=self.key_format,
            tolerance_seconds=self.tolerance_seconds,
        )
        return self._spec("hmac", "https://datatracker.ietf.org/doc/html/rfc2104", scheme)


def _signed_id_header(source: HmacSource) -> str | None:
    # The header whose value {id} stands for: the one named for it, else the event id header.
    if "{id}" not in source.signed_content:
        return None
    header = source.signed_id_header or source.id_header
    return header.lower() if header else None


class Ed25519Source(_Handshakes):
    """Public-key signatures (Discord, Telnyx); each secret is the provider's public key."""

    kind: Literal["ed25519"]
    header: HeaderName = "X-Signature-Ed25519"
    timestamp_header: HeaderName | None = "X-Signature-Timestamp"
    encoding: Literal["hex", "base64"] = "hex"
    key_encoding: Literal["hex", "base64"] = "hex"
    signed_content: str = Field("{timestamp}{body}", max_length=256)
    tolerance_seconds: Tolerance = 300

    @model_validator(mode="after")
    def _scheme_is_sound(self) -> Ed25519Source:
        self.spec()
        return self

    def spec(self) -> ProviderSpec:
        from webhook_core.providers.ed25519 import Ed25519Scheme  # noqa: PLC0415 - only sources of this kind need it

        scheme = Ed25519Scheme(
            signature_header=self.header.lower(),
            timestamp_header=self.timestamp_header.lower() if self.timestamp_header else None,
            encoding=self.encoding,
            key_encoding=self.key_encoding,
            signed_content=self.signed_content,
            tolerance_seconds=self.tolerance_seconds,
        )
        return self._spec(
            "ed25519", "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint", scheme
        )


SourceConfig = Annotated[
    StripeSource
    | GitHubSource
    | StandardSource
    | SvixSource
    | SlackSource
    | ShopifySource
    | PaddleSource
    | ZoomSource
    | SquareSource
    | TwilioSource
    | TokenSource
    | QueryTokenSource
    | BasicSource
    | HmacSource
    | Ed25519Source
    | MandrillSource
    | MailgunSource
    | SendGridSource
    | SnsSource
    | PayPalSource
    | AdyenSource
    | BraintreeSource
    | JwtSource
    | ContentfulSource
    | FigmaSource,
    Field(discriminator="kind"),
]
_SOURCE = TypeAdapter(SourceConfig)
KINDS = (
    "stripe",
    "github",
    "standard",
    "svix",
    "slack",
    "shopify",
    "paddle",
    "zoom",
    "square",
    "twilio",
    "token",
    "query_token",
    "basic",
    "hmac",
    "ed25519",
    "mandrill",
    "mailgun",
    "sendgrid",
    "sns",
    "paypal",
    "adyen",
    "braintree",
    "jwt",
    "contentful",
    "figma",
)


@dataclass(frozen=True, slots=True)
class Preset:
    """A named provider: a kind plus the options its documentation prescribes."""

    name: str
    kind: str
    title: str
    docs: str
    options: dict[str, Any]
    # What a user must know to set it up (Gitea's JSON content type), if anything.
    notes: str = ""
    # "primary": checked against the provider's own documentation or SDK; "secondary":
    # the provider's pages could not be read, so it follows a secondary source (named in notes).
    reference: Literal["primary", "secondary"] = "primary"

    @property
    def url_option(self) -> str | None:
        """The option naming the public URL the provider signs, which only the user can give."""
        if self.kind == "square":
            return "notification_url"
        if self.kind in {"twilio", "mandrill", "contentful"} or "{url}" in str(self.options.get("signed_content", "")):
            return "url"
        return None


@functools.cache
def presets() -> dict[str, Preset]:
    """Every shipped preset, read on first use (sources without one never pay for it)."""
    document = json.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    return {
        name: Preset(
            name=name,
            kind=item["kind"],
            title=item["title"],
            docs=item["docs"],
            options=item["options"],
            notes=item.get("notes", ""),
            reference=item.get("source", "primary"),
        )
        for name, item in document["presets"].items()
    }


class Source:
    """A configured source, ready to verify: its config, its built spec and its preset."""

    __slots__ = ("config", "networks", "preset", "spec")

    def __init__(self, config: _Source, preset: Preset | None = None) -> None:
        """Raises ConfigurationError when the options, though each valid, are unsafe together."""
        self.config = config
        self.preset = preset
        self.networks = config.allowed_ips
        spec = config.spec()
        if preset:
            spec = dataclasses.replace(spec, docs=preset.docs)
        if config.body_format:
            spec = dataclasses.replace(spec, fields=dataclasses.replace(spec.fields, body_format=config.body_format))
        if config.reply:
            reply = Reply(
                status=config.reply.status, empty=config.reply.empty, empty_refusals=config.reply.empty_refusals
            )
            spec = dataclasses.replace(spec, reply=reply)
        _refuse_credential_fields(spec)
        self.spec = dataclasses.replace(spec, dedupe=_dedupe_policy(spec, config.dedupe))

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    def admits(self, address: str | None) -> bool:
        """Whether a request from `address` may be this source's (no ranges: any address)."""
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def _refuse_credential_fields(spec: ProviderSpec) -> None:
    """A header that carries the credential must never become an event's id or type or be
    kept: it would travel in the response, the logs and the queue."""
    signature_headers = (spec.scheme.signature_header, *getattr(spec.scheme, "alternative_headers", ()))
    credentials = CREDENTIAL_HEADERS | set(signature_headers)
    fields = spec.fields
    for option, header in (("id_header", fields.id_header), ("type_header", fields.type_header)):
        if header in credentials:
            raise ConfigurationError(f"{option}: {header!r} carries the credential; it cannot be the event's {option}")
    leaked = sorted(credentials & set(fields.kept_headers))
    if leaked:
        raise ConfigurationError(f"keep_headers: {', '.join(leaked)} carries the credential and is never kept")


def _dedupe_policy(spec: ProviderSpec, chosen: DedupePolicy | None) -> DedupePolicy:
    if chosen is None:
        return "id" if spec.signs_event_id else "digest"
    if chosen == "id" and not spec.signs_event_id:
        where = f"the header {spec.fields.id_header!r}" if spec.fields.id_header else "no signed place"
        raise ConfigurationError(
            f"dedupe: 'id' needs an event id the signature covers, and this source's id comes from {where}; "
            "a captured request replayed under a fresh id would be accepted again. Use 'digest' (the default)"
        )
    return chosen


def parse_sources(document: object, where: str = "the sources file") -> dict[str, Source]:
    """Validate a decoded sources file; raise ConfigurationError naming each bad source
    (and `where`, the file, when it is known), each bad option and what was meant."""
    if not isinstance(document, dict) or not isinstance(document.get("sources"), list):
        raise ConfigurationError(f'{where} must be a JSON object with a "sources" list')
    unknown_keys = set(document) - {"sources", "$schema"}
    if unknown_keys:
        raise ConfigurationError(f"{where} has unknown keys: {sorted(unknown_keys)}")

    sources: dict[str, Source] = {}
    problems: list[str] = []
    for position, item in enumerate(document["sources"]):
        label = _label(item, position)
        try:
            expanded, preset = _expand_preset(item)
            config = _SOURCE.validate_python(expanded)
        except ConfigurationError as exc:
            problems.append(f"{label}: {exc}")
            continue
        except ValidationError as exc:
            problems.append(f"{label}: {_describe(exc, expanded)}")
            continue
        if config.name in sources:
            problems.append(f"{label}: duplicate source name {config.name!r}")
            continue
        try:
            sources[config.name] = Source(config, preset)
        except ConfigurationError as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        invalid = "invalid sources file" if where == "the sources file" else where
        raise ConfigurationError(f"{invalid}: " + " | ".join(problems))
    if not sources:
        raise ConfigurationError(f"{where} configures no source")
    return sources


def _expand_preset(item: object) -> tuple[object, Preset | None]:
    """A source written as `preset` plus options becomes the preset's kind and options,
    with the source's own options taking precedence."""
    if not isinstance(item, dict) or "preset" not in item:
        return item, None
    name = item["preset"]
    known = presets()
    if not isinstance(name, str) or name not in known:
        hint = _did_you_mean(str(name), known) or " — `webhooks providers` lists them"
        raise ConfigurationError(f"preset: unknown preset {str(name)[:64]!r}{hint}")
    preset = known[name]
    if "kind" in item and item["kind"] != preset.kind:
        raise ConfigurationError(f"kind: preset {name!r} is of kind {preset.kind!r}, not {item['kind']!r}")
    own = {key: value for key, value in item.items() if key != "preset"}
    return {**preset.options, **own, "kind": preset.kind}, preset


def load_sources(path: Path) -> dict[str, Source]:
    shown = _shown(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"sources file not found: {shown}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{shown} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:  # not UTF-8
        raise ConfigurationError(f"{shown} is not valid JSON: {exc}") from exc
    return parse_sources(document, shown)


def _shown(path: Path) -> str:
    """The file as short as it can be said from the working folder."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _label(item: object, position: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"source {name!r}" if isinstance(name, str) else f"source #{position + 1}"


def _describe(exc: ValidationError, item: object = None) -> str:
    options = _options_of(item)
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        # The first location element is the kind's tag; the option is what the user wrote.
        location = [str(part) for part in error["loc"] if str(part) not in KINDS]
        where = ".".join(location)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            kind = str(item.get("kind") if isinstance(item, dict) else "")[:64]
            where, message = "kind", f"unknown kind {kind!r}{_did_you_mean(kind, KINDS)}"
        elif error["type"] == "extra_forbidden":
            message = f"unknown option{_did_you_mean(location[-1] if location else '', options)}"
        elif error["type"] == "missing" and isinstance(item, dict) and len(location) == 1:
            message = f"{message} (kind {str(item.get('kind'))[:64]!r} needs it)"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _did_you_mean(written: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(written, list(known), n=1)
    return f" — did you mean {close[0]!r}?" if close else ""


def _options_of(item: object) -> list[str]:
    """The options of the source's kind (none when the kind is unknown)."""
    kind = item.get("kind") if isinstance(item, dict) else None
    for model in typing.get_args(typing.get_args(SourceConfig)[0]):
        if typing.get_args(model.model_fields["kind"].annotation) == (kind,):
            return list(model.model_fields)
    return []
