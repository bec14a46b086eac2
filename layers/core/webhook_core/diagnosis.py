"""Why a kept rejected request failed verification, for the operator's tools only
(`webhooks rejected show|replay`); never imported by the receiver, whose hot path
only keeps the request and the reason (webhook_core.rejected).

The request is verified again at its original receive time with the source's current
secrets. If it still fails, the cheap alterations a proxy or framework makes in
transit are undone one at a time, and the one whose result verifies is named: the
body was then altered between the provider and this receiver, not forged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from webhook_core.errors import SignatureError
from webhook_core.rejected import RejectedRequest
from webhook_core.sources import Source

# What each reason means, in the operator's words.
EXPLANATIONS = {
    "missing_signature": "no signature header: the request carries none of the headers this source signs with",
    "malformed_signature": "the signature header is there but malformed (not the provider's format)",
    "timestamp_out_of_tolerance": "the signed timestamp is outside the tolerance",
    "signature_mismatch": "no secret of the source matched the signature",
    "missing_timestamp": "the signed timestamp header is missing",
    "malformed_timestamp": "the signed timestamp header is malformed",
}


def _json_variants(body: bytes) -> list[tuple[str, bytes]]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []
    variants = []
    for sort_keys in (False, True):
        order = ", keys sorted" if sort_keys else ""
        for ascii_only in (True, False):
            escaped = "" if ascii_only else ", non-ASCII unescaped"
            for name, options in (
                ("compact", {"separators": (",", ":")}),
                ("with spaces", {}),
                ("indented 2", {"indent": 2}),
            ):
                text = json.dumps(document, sort_keys=sort_keys, ensure_ascii=ascii_only, **options)
                try:
                    encoded = text.encode("utf-8")
                except UnicodeEncodeError:
                    # A lone surrogate ("\ud800" in the sender's JSON) has no UTF-8 form:
                    # no sender signed this variant, and the body is the sender's to choose.
                    continue
                variants.append(
                    (f"JSON re-serialised in transit (the signed body was {name}{order}{escaped})", encoded)
                )
    return variants


def _recoded(body: bytes, read_as: str, written_as: str) -> bytes | None:
    try:
        return body.decode(read_as).encode(written_as)
    except (UnicodeDecodeError, UnicodeEncodeError):
        return None


def _charset_variants(body: bytes) -> list[tuple[str, bytes]]:
    undone = [
        # UTF-8 read as Latin-1 and written again as UTF-8: each non-ASCII character doubled.
        (
            "re-encoded in transit: the UTF-8 body was read as Latin-1 and re-encoded",
            _recoded(body, "utf-8", "latin-1"),
        ),
        ("re-encoded in transit: the UTF-8 body was converted to Latin-1", _recoded(body, "latin-1", "utf-8")),
    ]
    return [(name, candidate) for name, candidate in undone if candidate is not None]


def _newline_variants(body: bytes) -> list[tuple[str, bytes]]:
    variants = [
        ("a trailing newline was stripped in transit", body + b"\n"),
        ("a trailing CRLF was stripped in transit", body + b"\r\n"),
    ]
    if body.endswith(b"\r\n"):
        variants.append(("a trailing CRLF was added in transit", body[:-2]))
    if body.endswith(b"\n"):
        variants.append(("a trailing newline was added in transit", body[:-1]))
    return variants


def _base64_variants(body: bytes) -> list[tuple[str, bytes]]:
    variants = [("a proxy base64-decoded the body in transit", base64.b64encode(body))]
    with contextlib.suppress(binascii.Error, ValueError):
        variants.append(("a proxy base64-encoded the body in transit", base64.b64decode(body.strip(), validate=True)))
    return variants


ALTERATIONS: tuple[Callable[[bytes], list[tuple[str, bytes]]], ...] = (
    # Newlines first: a JSON body with one added re-serialises to the signed body too.
    _newline_variants,
    _json_variants,
    _charset_variants,
    _base64_variants,
)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """`verifies`: the request as kept verifies now, at its receive time, with the
    current secrets (`secret_index` says which). Otherwise `reason` is why it fails
    now, and `alteration` names the alteration in transit whose undoing verifies."""

    verifies: bool
    reason: str | None = None
    secret_index: int | None = None
    skew_seconds: float | None = None
    tolerance_seconds: float | None = None
    alteration: str | None = None
    # The kind cuts its credential out of every kept body (Figma's passcode): the request as
    # kept can never verify again, and only the reason it had when it arrived is known.
    credential_cut: bool = False

    def explanation(self) -> str:
        if self.verifies:
            return f"verifies now with the source's current secret #{self.secret_index} at its receive time"
        text = EXPLANATIONS.get(self.reason or "", self.reason or "unknown")
        if self.reason == "timestamp_out_of_tolerance" and self.skew_seconds is not None:
            direction = "old" if self.skew_seconds >= 0 else "in the future"
            tolerance = f" (tolerance {self.tolerance_seconds:.0f}s)" if self.tolerance_seconds is not None else ""
            text += f": {abs(self.skew_seconds):.0f}s {direction} when received{tolerance}"
        if self.alteration:
            text += f"; the body was altered in transit: {self.alteration} (undoing it verifies)"
        if self.credential_cut:
            text += " (when received; its credential was cut out of what is kept, so it cannot be verified again)"
        return text


def diagnose(source: Source, secrets: Sequence[str], request: RejectedRequest) -> Diagnosis:
    """Verify `request` again at its receive time with `secrets`; if it fails, try the
    alterations in transit. A body kept cut cannot verify: only the kept reason is given."""
    scheme = source.spec.scheme
    tolerance = getattr(scheme, "tolerance_seconds", None)
    keys = scheme.derive_keys(tuple(secrets))
    if source.spec.redact is not None:
        return Diagnosis(False, request.reason, skew_seconds=request.skew_seconds, credential_cut=True)
    if request.body_cut:
        return Diagnosis(False, request.reason, skew_seconds=request.skew_seconds, tolerance_seconds=tolerance)
    try:
        verified = scheme.verify(request.headers, request.body, keys, request.received_at, request.query)
    except SignatureError as error:
        failure = error
    else:
        return Diagnosis(True, secret_index=verified.secret_index)
    skew = failure.skew_seconds if failure.skew_seconds is not None else request.skew_seconds
    for alteration in ALTERATIONS:
        for name, candidate in alteration(request.body):
            if candidate == request.body:
                continue
            try:
                scheme.verify(request.headers, candidate, keys, request.received_at, request.query)
            except SignatureError:
                continue
            return Diagnosis(False, failure.reason, skew_seconds=skew, tolerance_seconds=tolerance, alteration=name)
    return Diagnosis(False, failure.reason, skew_seconds=skew, tolerance_seconds=tolerance)
