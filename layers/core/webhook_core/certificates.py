"""Signing certificates fetched from the provider (AWS SNS, PayPal): one small fetcher
that every public-key kind with a certificate URL shares.

A URL is fetched only if it is HTTPS on the default port, without credentials, to a
host the kind allows (`HostRule`); the answer is bounded in size and time, must be a
PEM certificate (parsed by `cryptography`), and is kept in process by URL for a while,
so a warm function fetches each certificate once. No redirect is followed: it could
lead anywhere.

The HTTP machinery (urllib's opener) and `cryptography` are loaded on the first fetch,
never at cold start. Tests install a fake (`webhook_core.testing.FakeCertificates`);
nothing here reaches the network in tests.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from webhook_core.errors import ServiceUnavailableError, SignatureError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

MAX_CERTIFICATE_BYTES = 16 * 1024
TIMEOUT_SECONDS = 3.0
MAX_AGE_SECONDS = 6 * 60 * 60
MAX_CACHED = 32
MAX_URL_CHARS = 1024


class CertificateUnavailableError(ServiceUnavailableError):
    """The provider's certificate could not be fetched now; the provider should retry."""

    metric = "CertificateUnavailable"
    code = "certificate_unavailable"


@dataclass(frozen=True, slots=True)
class HostRule:
    """Which URLs a kind may fetch: hosts matching `host` (the whole name), and paths
    matching `path` (the whole path)."""

    host: re.Pattern[str]
    path: re.Pattern[str] = re.compile(r"/.*")

    def check(self, url: str) -> None:
        """Raise SignatureError unless `url` is one this rule allows."""
        if len(url) > MAX_URL_CHARS or not url.isascii():
            raise SignatureError("untrusted_certificate_url")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise SignatureError("untrusted_certificate_url") from None
        allowed = (
            parts.scheme == "https"
            and port in {None, 443}
            and parts.username is None
            and parts.password is None
            and not parts.fragment
            and parts.hostname is not None
            and parts.netloc.lower() in {parts.hostname, f"{parts.hostname}:443"}
            and self.host.fullmatch(parts.hostname) is not None
            and self.path.fullmatch(parts.path) is not None
        )
        if not allowed:
            raise SignatureError("untrusted_certificate_url")


class Fetch(Protocol):
    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes: ...


class CertificateFetcher:
    """Certificates by URL, fetched once and kept for `max_age_seconds`."""

    def __init__(
        self,
        fetch: Fetch | None = None,
        *,
        max_age_seconds: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch or fetch_https
        self._max_age = max_age_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Certificate]] = {}
        self._lock = threading.Lock()

    def certificate(self, url: str, rule: HostRule) -> Certificate:
        """The certificate at `url`: SignatureError if the URL is not allowed or what it
        serves is not a certificate; CertificateUnavailableError if it cannot be read now."""
        rule.check(url)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and now - cached[0] < self._max_age:
            return cached[1]
        certificate = parse_pem(self.get(url, rule))
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.pop(next(iter(self._cache)))
            self._cache[url] = (now, certificate)
        return certificate

    def get(self, url: str, rule: HostRule) -> bytes:
        """GET an allowed URL, uncached (SNS's SubscribeURL): at most MAX_CERTIFICATE_BYTES."""
        rule.check(url)
        data = self._fetch(url, timeout=TIMEOUT_SECONDS, max_bytes=MAX_CERTIFICATE_BYTES)
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise SignatureError("malformed_certificate")
        return data


def parse_pem(data: bytes) -> Certificate:
    from cryptography.x509 import load_pem_x509_certificate  # noqa: PLC0415 - see the module docstring

    try:
        return load_pem_x509_certificate(data)
    except ValueError:
        raise SignatureError("malformed_certificate") from None


def fetch_https(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """GET `url` (already checked by a HostRule) with urllib: no redirects, at most
    `max_bytes`, within `timeout` seconds per operation."""
    import urllib.error  # noqa: PLC0415 - the HTTP machinery is loaded on the first fetch
    import urllib.request  # noqa: PLC0415

    opener = urllib.request.build_opener(_no_redirects())
    request = urllib.request.Request(url, headers={"User-Agent": "webhook-receiver"})  # noqa: S310 - https only
    try:
        with opener.open(request, timeout=timeout) as response:
            data: bytes = response.read(max_bytes + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CertificateUnavailableError(f"could not fetch {urlsplit(url).hostname}: {type(exc).__name__}") from None
    return data


def _no_redirects() -> type:
    import urllib.request  # noqa: PLC0415

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None  # a 3xx is then an HTTPError: nothing is fetched from elsewhere

    return NoRedirects


_default: CertificateFetcher | None = None


def fetcher() -> CertificateFetcher:
    """The process's fetcher, made on first use."""
    global _default  # noqa: PLW0603 - one cache per process, made lazily
    if _default is None:
        _default = CertificateFetcher()
    return _default


def install(replacement: CertificateFetcher | None) -> CertificateFetcher | None:
    """Use `replacement` from now on (None: a fresh default on next use); returns the previous one."""
    global _default
    previous, _default = _default, replacement
    return previous
