"""Signatures over a URL and a form's parameters, as Twilio and Mandrill sign their
form posts: the public webhook URL followed by the POST parameters sorted by name,
each name then its value, HMAC'd with the shared key and sent base64.

The URL is configured per source, never taken from the request: behind API Gateway
the Host header and the stage path are not what the provider signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from webhook_core.errors import SignatureError
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, header_signature

# Form posts from these providers carry a few dozen parameters; far more is not theirs.
MAX_PARAMETERS = 1000


def form_parameters(body: bytes) -> bytes:
    """Each distinct name, sorted, followed by each of its distinct values, sorted."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMETERS)
    except (UnicodeDecodeError, ValueError):
        raise SignatureError("malformed_body") from None
    values: dict[str, set[str]] = {}
    for name, value in pairs:
        values.setdefault(name, set()).add(value)
    return "".join(name + value for name in sorted(values) for value in sorted(values[name])).encode()


def url_variants(url: str) -> list[str]:
    """The URL without and with its default port: Twilio's own validators accept both,
    because Twilio has signed both forms."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        return [url, urlunsplit(parts._replace(netloc=_netloc(parts.username, parts.password, host)))]
    default = 443 if parts.scheme == "https" else 80
    return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))]


def _netloc(username: str | None, password: str | None, host: str) -> str:
    if username is None:
        return host
    return f"{username}:{password}@{host}" if password is not None else f"{username}@{host}"


def signed_form(urls: Sequence[str], body: bytes) -> tuple[list[bytes], str]:
    """What a form post's signature may cover (each URL followed by the sorted
    parameters) and the digest of the parameters: the signature binds them, not the
    bytes, so a reordered copy of a delivery is the same delivery."""
    parameters = form_parameters(body)
    return [url.encode() + parameters for url in urls], hashlib.sha256(parameters).hexdigest()


def matching_key(
    contents: Sequence[bytes], signature: bytes, keys: Sequence[bytes | None], algorithm: str
) -> int | None:
    """The index of the first key whose HMAC of any content is `signature`; every
    content is compared with each key in constant time."""
    digest = getattr(hashlib, algorithm)
    for index, key in enumerate(keys):
        if key is None:
            continue
        matched = False
        for content in contents:
            matched |= hmac.compare_digest(hmac.new(key, content, digest).digest(), signature)
        if matched:
            return index
    return None


def sign_form(url: str, body: bytes, secret: str, algorithm: str = "sha1") -> str:
    """The signature of a form post: the URL followed by its sorted parameters."""
    mac = hmac.new(secret.encode(), url.encode() + form_parameters(body), getattr(hashlib, algorithm))
    return base64.b64encode(mac.digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class FormScheme(TextSecretsUntimed):
    """A base64 HMAC of the configured URL followed by the sorted form parameters
    (Mandrill). `port_variants`: also accept the URL with (or without) its default
    port, for providers known to have signed both."""

    url: str
    signature_header: str
    algorithm: str = "sha1"
    port_variants: bool = False
    timestamp_header: str | None = None
    id_header: str | None = None
    tolerance_seconds: int = 0
    encoding: str = "base64"

    @property
    def binds_body(self) -> bool:
        return True

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signature = header_signature(headers, self.signature_header)
        urls = url_variants(self.url) if self.port_variants else [self.url]
        contents, content_digest = signed_form(urls, body)
        index = matching_key(contents, signature, keys, self.algorithm)
        if index is None:
            raise SignatureError("signature_mismatch")
        return Verified(secret_index=index, content_digest=content_digest, body_format="form")

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        return sign_form(self.url, body, secret, self.algorithm)

    def sign_form(self, body: bytes, secret: str) -> str:
        return sign_form(self.url, body, secret, self.algorithm)
