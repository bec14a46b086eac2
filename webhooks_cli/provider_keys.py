"""A stand-in for the certificates Amazon SNS and PayPal sign with, so that their
deliveries can be sent to the local stack (`webhooks send` against `webhooks dev`).

Both providers sign with a private key only they hold, and the receiver fetches the
matching certificate from their own hosts. Locally, `webhooks dev` keeps one RSA key
and a self-signed certificate beside the dev secrets (`.dev-provider-key.pem`,
git-ignored, created on first use) and answers, in process, the two certificate URLs
below in place of the providers' hosts; `webhooks send` signs with that key and names
those URLs. Nothing else changes: the receiver still checks every URL against the
provider's allowed hosts, and fetches any other certificate from the provider as
deployed. A deployed stack fetches from the real hosts, which never serve these
URLs, so a delivery signed with this key can never verify there.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from webhook_core.certificates import Fetch, fetch_https
from webhooks_cli.errors import CliError

# Certificate URLs each provider's allow-list accepts, on its own host: what the local
# stack answers in place of that host.
SNS_CERTIFICATE_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-webhooks-dev.pem"
PAYPAL_CERTIFICATE_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-webhooks-dev"
# SNS's confirmation link, as `webhooks send sns --type SubscriptionConfirmation` makes it.
SNS_SUBSCRIBE_PREFIX = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&"
SUBSCRIBE_TOKEN_PREFIX = "webhooks-dev-"  # noqa: S105 - marks a link `webhooks send` made, no secret
# PayPal's SDK accepts a certificate only for a paypal.com name; this one says what it is.
COMMON_NAME = "webhooks-dev.local.paypal.com"
KEY_BITS = 2048
FILE_NAME = ".dev-provider-key.pem"

Digest = Literal["SHA1", "SHA256"]


@dataclass(frozen=True)
class ProviderKey:
    """The local stand-in's RSA key and its self-signed certificate (PEM)."""

    key_pem: bytes
    certificate_pem: bytes

    @staticmethod
    def path_beside(dev_secrets_file: Path) -> Path:
        return dev_secrets_file.with_name(FILE_NAME)

    @classmethod
    def load(cls, path: Path) -> ProviderKey | None:
        """The key kept at `path`; None if there is none yet."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from None
        key, marker, rest = data.partition(b"-----BEGIN CERTIFICATE-----")
        if not marker or b"PRIVATE KEY" not in key:
            raise CliError(f"{path} is not a key and certificate; delete it and it is made anew")
        return cls(key_pem=key.strip() + b"\n", certificate_pem=marker + rest)

    @classmethod
    def load_or_create(cls, path: Path) -> ProviderKey:
        existing = cls.load(path)
        if existing is not None:
            return existing
        made = cls.create()
        # Written whole under a temporary name, then linked in place: a second `webhooks dev`
        # starting at the same moment keeps the first one's key, never half a file. Readable
        # by its owner only, like the dev secrets: it signs what the local stack trusts.
        partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(descriptor, "wb") as file:
            file.write(made.key_pem + made.certificate_pem)
        try:
            os.link(partial, path)
        except FileExistsError:
            made = cls.load(path) or made
        finally:
            partial.unlink(missing_ok=True)
        return made

    @classmethod
    def create(cls) -> ProviderKey:
        from cryptography import x509  # noqa: PLC0415 - only `webhooks dev` and `send` need it
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
        from cryptography.x509.oid import NameOID  # noqa: PLC0415

        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return cls(
            key_pem=key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        )

    def sign(self, content: bytes, digest: Digest = "SHA256") -> bytes:
        """RSA PKCS#1 v1.5 over `content`, as SNS (SHA1 for v1, SHA256 for v2) and PayPal sign."""
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CliError("the local provider key is not an RSA key; delete it and it is made anew")
        algorithm = hashes.SHA1() if digest == "SHA1" else hashes.SHA256()  # noqa: S303 - SNS's SignatureVersion 1
        return key.sign(content, padding.PKCS1v15(), algorithm)


# SNS's answer to a confirmation link (docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html).
_CONFIRMED = (
    '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
    "<ConfirmSubscriptionResult><SubscriptionArn>{arn}:webhooks-dev</SubscriptionArn></ConfirmSubscriptionResult>"
    "<ResponseMetadata><RequestId>webhooks-dev</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>"
)


class LocalProviderHosts:
    """The certificate fetcher's `fetch` in `webhooks dev`: the stand-in's two certificate
    URLs, and the confirmation links `webhooks send` makes, are answered here; every
    other URL is fetched from the provider, as deployed."""

    def __init__(self, key: ProviderKey, fallback: Fetch = fetch_https) -> None:
        self._key = key
        self._fallback = fallback
        self.confirmed: list[str] = []

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        if url in (SNS_CERTIFICATE_URL, PAYPAL_CERTIFICATE_URL):
            return self._key.certificate_pem
        if url.startswith(SNS_SUBSCRIBE_PREFIX):
            query = parse_qs(urlsplit(url).query)
            token, topics = query.get("Token", [""])[0], query.get("TopicArn", [])
            if token.startswith(SUBSCRIBE_TOKEN_PREFIX) and topics:
                self.confirmed.append(topics[0])
                return _CONFIRMED.format(arn=topics[0]).encode()
        return self._fallback(url, timeout=timeout, max_bytes=max_bytes)
