"""Contentful webhook request verification: an HMAC-SHA256 over a canonical request, as
https://www.contentful.com/developers/docs/webhooks/request-verification/ describes and
`verifyRequest` of @contentful/node-apps-toolkit (src/requests) computes it:

    <method>\\n<path>\\n<name>:<value>;<name>:<value>…\\n<body>

keyed with the space's 64-character signing secret as text, hex. The headers are the ones
`x-contentful-signed-headers` lists that the request carries (values trimmed), with
`x-contentful-signed-headers` (the sorted list of those names, rebuilt) and
`x-contentful-timestamp` (Unix milliseconds) always among them, sorted by name. The path
is the webhook's URL as configured at Contentful, encoded as the toolkit encodes it
(its query string escaped twice); behind API Gateway the request's own path is not it.

The timestamp is signed, so a captured request is refused once it is older than the
tolerance (the toolkit's default: 30 s); deliveries are deduplicated on the body's digest
(a retry is signed anew, at another time).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import NO_QUERY, SignsBodyWithTimestamp, Verified, matching_secret
from webhook_core.providers.spec import ProviderSpec
from webhook_core.text import sent_bytes

DOCS = "https://www.contentful.com/developers/docs/webhooks/request-verification/"
SIGNATURE = "x-contentful-signature"
SIGNED_HEADERS = "x-contentful-signed-headers"
TIMESTAMP = "x-contentful-timestamp"
TOPIC = "x-contentful-topic"
# Contentful's constraint on a signing secret (webhooks/secrets): 64 of these characters.
_SECRET = re.compile(r"[0-9a-zA-Z+/=_-]{64}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_MILLIS = re.compile(r"[0-9]{1,16}")
# A request lists a few signed headers; more than this is not a real delivery.
MAX_SIGNED_HEADERS = 32
# What JavaScript's encodeURI and Node's querystring.escape leave as they are.
_ENCODE_URI_SAFE = ";,/?:@&=+$-_.!~*'()#"
_QUERYSTRING_SAFE = "-_.!~*'()"


@dataclass(frozen=True, slots=True)
class ContentfulScheme(SignsBodyWithTimestamp):
    # The webhook's URL exactly as configured at Contentful: its path is what was signed.
    url: str
    tolerance_seconds: int = 30
    signature_header: str = SIGNATURE
    timestamp_header: str | None = TIMESTAMP
    id_header: str | None = None
    encoding: str = "hex"
    timestamp_format: str = "millis"
    algorithm: str = "sha256"
    signed_content: str = "POST\\n{path}\\n{signed headers}\\n{body}"

    def derive_keys(self, secrets: Sequence[str]) -> tuple[bytes | None, ...]:
        """Each secret as text; one that Contentful could not have made is no key."""
        return tuple(secret.encode() if _SECRET.fullmatch(secret) else None for secret in secrets)

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        signature = headers.get(SIGNATURE, "").strip()
        if not signature:
            raise SignatureError("missing_signature")
        if not _SIGNATURE.fullmatch(signature):
            raise SignatureError("malformed_signature")
        listed = headers.get(SIGNED_HEADERS, "")
        # The toolkit needs the list to name two headers at least (the timestamp and the list).
        if len(listed.split(",")) < 2:
            raise SignatureError("malformed_signature")
        sent_timestamp = headers.get(TIMESTAMP, "").strip()
        if not sent_timestamp:
            raise SignatureError("missing_timestamp")
        if not _MILLIS.fullmatch(sent_timestamp):
            raise SignatureError("malformed_timestamp")
        sent_at = int(sent_timestamp) / 1000
        if abs(now - sent_at) > self.tolerance_seconds:
            raise SignatureError("timestamp_out_of_tolerance", skew_seconds=now - sent_at)
        content = canonical_request(self.url, headers, listed, int(sent_timestamp), body)
        presented = signature.encode("ascii")
        expected = (
            None if key is None else hmac.new(key, content, hashlib.sha256).hexdigest().encode("ascii") for key in keys
        )
        matched_index = matching_secret(presented, expected)
        return Verified(secret_index=matched_index, timestamp=int(sent_at))

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        """The signature of a delivery whose signed headers are the two Contentful always signs."""
        headers = self.signed_headers(int(timestamp or 0) * 1000)
        return self.signature(body, secret, headers)

    def signed_headers(self, millis: int) -> dict[str, str]:
        return {SIGNED_HEADERS: f"{SIGNED_HEADERS},{TIMESTAMP}", TIMESTAMP: str(millis)}

    def signature(self, body: bytes, secret: str, headers: Mapping[str, str]) -> str:
        millis = int(headers[TIMESTAMP])
        content = canonical_request(self.url, headers, headers[SIGNED_HEADERS], millis, body)
        return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def canonical_path(url: str) -> str:
    """The toolkit's getNormalizedEncodedURI of the URL's path and query: the query through
    querystring.escape, then the whole through encodeURI (so the query's % is escaped twice)."""
    parts = urlsplit(url)
    pathname, search = parts.path or "/", parts.query.split("?")[0]
    joined = f"{pathname}?{quote(search, safe=_QUERYSTRING_SAFE)}" if search else pathname
    return quote(joined, safe=_ENCODE_URI_SAFE)


def canonical_request(url: str, headers: Mapping[str, str], listed: str, millis: int, body: bytes) -> bytes:
    # Names as listed: the toolkit picks only headers whose lower-cased name is listed exactly.
    names = listed.split(",")[:MAX_SIGNED_HEADERS]
    picked = {name: headers[name].strip() for name in names if name in headers}
    # As the toolkit signs again: the list rebuilt from the headers present, and the timestamp as parsed.
    present = sorted({*picked, SIGNED_HEADERS, TIMESTAMP})
    picked[SIGNED_HEADERS] = ",".join(present)
    picked[TIMESTAMP] = str(millis)
    signed = ";".join(f"{name}:{picked[name]}" for name in present)
    return b"\n".join((b"POST", canonical_path(url).encode("ascii"), sent_bytes(signed), body))


def spec(url: str, fields: EventFields, tolerance_seconds: int) -> ProviderSpec:
    return ProviderSpec(
        kind="contentful",
        docs=DOCS,
        scheme=ContentfulScheme(url=url, tolerance_seconds=tolerance_seconds),
        fields=fields,
    )
