"""Shared-secret kinds that sign nothing: a static token in a header (GitLab's
`X-Gitlab-Token`), HTTP Basic credentials, and a key in the URL's query string
(Mailchimp Marketing, which signs nothing and whose own guidance is a secret in the
webhook URL). Compared in constant time with every active secret; weaker than a
signature (no body integrity, no replay window), so prefer a signing kind where the
provider offers one. A key in the URL is weaker still: whatever records URLs between
the sender and API Gateway (the sender's own logs, proxies) may record it, so it is
never kept or logged here (receiving.py, rejected requests)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from webhook_core.errors import SignatureError
from webhook_core.providers.fields import EventFields
from webhook_core.providers.scheme import NO_QUERY, TextSecretsUntimed, Verified, matching_secret
from webhook_core.providers.spec import ProviderSpec
from webhook_core.text import sent_bytes

# A credential longer than this is not a real one; bounding it bounds the work.
MAX_CREDENTIAL = 4096


@dataclass(frozen=True, slots=True)
class TokenScheme(TextSecretsUntimed):
    """`basic=True`: the header is `Authorization: Basic base64(user:password)` and
    each secret is `user:password`; `parameter` set: the secret is that query-string
    parameter's value (and no header is read); otherwise the header's value is the secret."""

    signature_header: str
    basic: bool = False
    parameter: str | None = None
    # What the rest of the code asks any scheme: tokens carry no timestamp or signed id.
    tolerance_seconds: int = 0
    timestamp_header: str | None = None
    id_header: str | None = None
    encoding: str = "token"

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        keys: Sequence[bytes | None],
        now: float,
        query: Mapping[str, str] = NO_QUERY,
    ) -> Verified:
        value = query.get(self.parameter) if self.parameter is not None else headers.get(self.signature_header)
        if not value:
            raise SignatureError("missing_signature")
        presented = self._credential(value.strip()[:MAX_CREDENTIAL])
        matched_index = matching_secret(presented, keys)
        return Verified(secret_index=matched_index)

    def sign(self, body: bytes, secret: str, *, timestamp: int | None = None, event_id: str = "") -> str:
        if self.basic:
            return "Basic " + base64.b64encode(secret.encode()).decode("ascii")
        return secret

    def _credential(self, value: str) -> bytes:
        if not self.basic:
            return sent_bytes(value)
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise SignatureError("malformed_signature")
        try:
            return base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            raise SignatureError("malformed_signature") from None


def token_spec(header: str, fields: EventFields) -> ProviderSpec:
    return ProviderSpec(
        kind="token",
        docs="https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token",
        scheme=TokenScheme(signature_header=header.lower()),
        fields=fields,
    )


def basic_spec(fields: EventFields) -> ProviderSpec:
    return ProviderSpec(
        kind="basic",
        docs="https://datatracker.ietf.org/doc/html/rfc7617",
        scheme=TokenScheme(signature_header="authorization", basic=True),
        fields=fields,
    )


# Mailchimp's guidance names no parameter; `key` is what the query_token kind uses
# unless a source names another.
DEFAULT_PARAMETER = "key"
QUERY_TOKEN_DOCS = "https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/"  # noqa: S105 - a URL


def query_token_spec(parameter: str, fields: EventFields) -> ProviderSpec:
    """The secret in the URL's query string: `https://…/webhooks/<source>?<parameter>=<secret>`."""
    return ProviderSpec(
        kind="query_token",
        docs=QUERY_TOKEN_DOCS,
        scheme=TokenScheme(signature_header="", parameter=parameter),
        fields=fields,
        secret_query_parameters=(parameter,),
    )
