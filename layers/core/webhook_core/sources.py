"""Sources as configuration: the sources file, its pydantic models and its loader.

A source is one configured sender: the name in the URL, a kind (the signature
scheme) and the kind's options. An unknown kind, an unknown or bad option, or a
duplicate name stops the function with a message naming the source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from webhook_core.errors import ConfigurationError
from webhook_core.providers import github, paddle, shopify, slack, square, standard, stripe, token, zoom
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import SignatureScheme
from webhook_core.providers.spec import ProviderSpec

SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", max_length=128)]
JsonPath = Annotated[str, Field(pattern=r"^[^.]+(\.[^.]+)*$", max_length=256)]
Tolerance = Annotated[int, Field(ge=1, le=86_400)]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SourceName
    description: str = ""

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

    def spec(self) -> ProviderSpec:
        return standard.spec(self.tolerance_seconds)


class SvixSource(_Source):
    """Svix senders (Clerk, Resend, …): the Standard Webhooks scheme under svix-* headers."""

    kind: Literal["svix"]
    tolerance_seconds: Tolerance = 300

    def spec(self) -> ProviderSpec:
        return standard.spec(self.tolerance_seconds, header_prefix="svix", kind="svix")


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
    notification_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2048)]

    def spec(self) -> ProviderSpec:
        return square.spec(self.notification_url)


class _EventLocations(_Source):
    id_header: HeaderName | None = None
    id_path: JsonPath | None = None
    type_header: HeaderName | None = None
    type_path: JsonPath | None = None

    def _fields(self) -> EventFields:
        kept = tuple(
            header.lower() for header in ("content-type", "user-agent", self.id_header, self.type_header) if header
        )
        return EventFields(
            id_header=self.id_header.lower() if self.id_header else None,
            id_path=self.id_path,
            type_header=self.type_header.lower() if self.type_header else None,
            type_path=self.type_path,
            kept_headers=tuple(dict.fromkeys(kept)),
        )


class TokenSource(_EventLocations):
    """A static token in a header (GitLab's X-Gitlab-Token). No body integrity:
    prefer a signing kind where the provider offers one."""

    kind: Literal["token"]
    header: HeaderName

    def spec(self) -> ProviderSpec:
        return token.token_spec(self.header, self._fields())


class BasicSource(_EventLocations):
    """HTTP Basic credentials; each secret is `user:password`."""

    kind: Literal["basic"]

    def spec(self) -> ProviderSpec:
        return token.basic_spec(self._fields())


class HmacSource(_Source):
    """A generic HMAC sender: every part of the scheme is an option."""

    kind: Literal["hmac"]
    header: HeaderName
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field("", max_length=64)
    timestamp_header: HeaderName | None = None
    signed_content: str = Field("{body}", max_length=256)
    tolerance_seconds: Tolerance = 300
    id_header: HeaderName | None = None
    id_path: JsonPath | None = None
    type_header: HeaderName | None = None
    type_path: JsonPath | None = None

    @model_validator(mode="after")
    def _scheme_is_sound(self) -> HmacSource:
        self.spec()  # SignatureScheme raises ValueError listing every problem at once
        return self

    def _scheme_options(self) -> dict[str, object]:
        return {
            "signature_header": self.header.lower(),
            "algorithm": self.algorithm,
            "encoding": self.encoding,
            "prefix": self.prefix,
            "timestamp_header": self.timestamp_header.lower() if self.timestamp_header else None,
            "id_header": self.id_header.lower() if self.id_header and "{id}" in self.signed_content else None,
            "signed_content": self.signed_content,
            "tolerance_seconds": self.tolerance_seconds,
        }

    def spec(self) -> ProviderSpec:
        kept = tuple(
            header.lower() for header in ("content-type", "user-agent", self.id_header, self.type_header) if header
        )
        return ProviderSpec(
            kind="hmac",
            docs="https://datatracker.ietf.org/doc/html/rfc2104",
            scheme=SignatureScheme(**self._scheme_options()),  # type: ignore[arg-type]
            fields=EventFields(
                id_header=self.id_header.lower() if self.id_header else None,
                id_path=self.id_path,
                type_header=self.type_header.lower() if self.type_header else None,
                type_path=self.type_path,
                kept_headers=tuple(dict.fromkeys(kept)),
            ),
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
    | TokenSource
    | BasicSource
    | HmacSource,
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
    "token",
    "basic",
    "hmac",
)


class Source:
    """A configured source, ready to verify: its config and its built spec."""

    __slots__ = ("config", "spec")

    def __init__(self, config: _Source) -> None:
        self.config = config
        self.spec = config.spec()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return self.spec.kind


def parse_sources(document: object) -> dict[str, Source]:
    """Validate a decoded sources file; raise ConfigurationError naming each bad source."""
    if not isinstance(document, dict) or not isinstance(document.get("sources"), list):
        raise ConfigurationError('the sources file must be a JSON object with a "sources" list')
    unknown_keys = set(document) - {"sources", "$schema"}
    if unknown_keys:
        raise ConfigurationError(f"the sources file has unknown keys: {sorted(unknown_keys)}")

    sources: dict[str, Source] = {}
    problems: list[str] = []
    for position, item in enumerate(document["sources"]):
        label = _label(item, position)
        try:
            config = _SOURCE.validate_python(item)
        except ValidationError as exc:
            problems.append(f"{label}: {_describe(exc)}")
            continue
        if config.name in sources:
            problems.append(f"{label}: duplicate source name {config.name!r}")
            continue
        sources[config.name] = Source(config)
    if problems:
        raise ConfigurationError("invalid sources file: " + " | ".join(problems))
    if not sources:
        raise ConfigurationError("the sources file configures no source")
    return sources


def load_sources(path: Path) -> dict[str, Source]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"sources file not found: {path}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"sources file {path} is not valid JSON: {exc}") from exc
    return parse_sources(document)


def _label(item: object, position: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"source {name!r}" if isinstance(name, str) else f"source #{position + 1}"


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        # The first location element is the kind's tag; the option is what the user wrote.
        location = [str(part) for part in error["loc"] if str(part) not in KINDS]
        where = ".".join(location)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown option"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
