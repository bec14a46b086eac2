"""Figma webhooks: the passcode inside the JSON body is the credential. A delivery with
one of the source's passcodes is accepted (after a rotation, either one), anything else is
refused as every kind refuses; and the passcode is never stored: not in the queued body,
the claim-checked body, the ledger, nor a kept rejected request, whatever shape an
attacker gives it (a number, a list, twice, its name escaped)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conformance.generate import figma_update
from tests.support.clock import Clock
from tests.support.ledger import processed
from tests.unit.test_claim_check import RecordingSqs
from webhook_core.envelope import Envelope
from webhook_core.errors import SignatureError
from webhook_core.ledger import Outcome
from webhook_core.providers.figma import without_passcode
from webhook_core.providers.spec import HandshakeReply
from webhook_core.queue import EnvelopeQueue
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import parse_sources
from webhook_core.testing import (
    InMemoryBodyStore,
    InMemoryLedger,
    InMemoryQueue,
    InMemoryRejectedRequests,
    StaticSecrets,
)
from webhooks_cli import signing
from webhooks_cli.cli import main

NOW = 1_795_600_000.0
PASSCODE = "figma-passcode-7f3c9a1e2b"
NEXT_PASSCODE = "figma-passcode-rotated-44d1"
OLD_PASSCODE = "figma-passcode-retired-90ab"
JSON_TYPE = {"content-type": "application/json", "user-agent": "Figma"}


def file_update(passcode: Any = PASSCODE, **changes: Any) -> dict[str, Any]:
    """Figma's documented FILE_UPDATE example (developers.figma.com/docs/rest-api/webhooks-events),
    as the conformance vectors write it."""
    return dict(figma_update(passcode, **changes))


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()


class Stores:
    """A receiver for one Figma source over in-memory stores, with what it kept to search."""

    def __init__(self, secrets: list[str], *, bodies: InMemoryBodyStore | None = None) -> None:
        self.sources = parse_sources({"sources": [{"name": "figma", "preset": "figma"}]})
        self.ledger = InMemoryLedger()
        self.rejected = InMemoryRejectedRequests()
        self.sqs = RecordingSqs()
        self.bodies = bodies
        self.queue: InMemoryQueue | EnvelopeQueue = (
            EnvelopeQueue("https://sqs.example/q", self.sqs, bodies=bodies)  # type: ignore[arg-type]
            if bodies is not None
            else InMemoryQueue()
        )
        self.clock = Clock(NOW)
        self.receiver = Receiver(
            sources=self.sources,
            secrets=StaticSecrets({"figma": secrets}),
            ledger=self.ledger,
            queue=self.queue,
            max_body_bytes=6_000_000,
            clock=self.clock,
            rejected=self.rejected,
            rejected_max_body_bytes=1_000_000,
        )

    def accept(self, body: bytes, headers: dict[str, str] = JSON_TYPE) -> Outcome | HandshakeReply:
        return self.receiver.accept(Delivery(source="figma", headers=headers, body=body))

    def refuse(self, body: bytes, headers: dict[str, str] = JSON_TYPE) -> str:
        with pytest.raises(SignatureError) as refused:
            self.accept(body, headers)
        assert refused.value.status == 401
        return refused.value.reason

    def queued(self) -> list[Envelope]:
        if isinstance(self.queue, InMemoryQueue):
            return self.queue.envelopes
        return [Envelope.model_validate_json(request["MessageBody"]) for request in self.sqs.sent]

    def everything_kept(self) -> bytes:
        """Every byte the receiver stored: messages, claim-checked bodies, ledger records,
        kept rejected requests."""
        parts = [envelope.model_dump_json().encode() for envelope in self.queued()]
        parts += [json.dumps(request["MessageBody"]).encode() for request in self.sqs.sent]
        parts += list(self.bodies.objects.values() if self.bodies else ())
        parts += [repr(record).encode() for record in self.ledger.records.values()]
        parts += [request.to_json() for request in self.rejected.requests.values()]
        parts += [request.body for request in self.rejected.requests.values()]
        return b"\n".join(parts)


def assert_never_kept(stores: Stores, *secrets: str) -> None:
    kept = stores.everything_kept()
    for secret in secrets:
        assert secret.encode() not in kept
        # Nor as JSON would escape it, nor base64'd in a kept request (to_json encodes the body).
        assert json.dumps(secret).encode() not in kept


def test_the_webhooks_passcode_is_accepted_and_the_handler_gets_figmas_bytes_without_it() -> None:
    stores = Stores([PASSCODE])
    body = encoded(file_update())
    outcome = stores.accept(body)
    assert isinstance(outcome, Outcome)
    assert not outcome.duplicate
    (envelope,) = stores.queued()
    without = {key: value for key, value in file_update().items() if key != "passcode"}
    # Byte for byte what Figma sent, the passcode member (and its separator) cut out.
    assert envelope.raw_body() == json.dumps(without, indent=2).encode()
    assert (envelope.type, envelope.resource_id, envelope.kind) == ("FILE_UPDATE", "CL06nJNn5eZLQKDoARMND5", "figma")
    assert envelope.occurred_at is not None
    assert envelope.occurred_at.isoformat() == "2020-02-23T20:27:16+00:00"
    # Figma sends no delivery id: the event is keyed on the kept body, never on the secret.
    assert envelope.id == "figma/sha256-" + hashlib.sha256(envelope.raw_body()).hexdigest()
    assert_never_kept(stores, PASSCODE)
    # Figma treats anything but 200 as a failure.
    reply = stores.sources["figma"].spec.reply
    assert reply is not None
    assert (reply.status, reply.empty) == (200, False)


def test_during_a_rotation_either_passcode_is_accepted_and_a_retry_under_the_new_one_is_the_same_event() -> None:
    stores = Stores([NEXT_PASSCODE, PASSCODE])
    first = stores.accept(encoded(file_update(PASSCODE)))
    assert isinstance(first, Outcome)
    processed(stores.ledger, first.envelope_id, NOW)
    retry = stores.accept(encoded(file_update(NEXT_PASSCODE)))
    assert isinstance(retry, Outcome)
    assert retry.duplicate
    assert retry.envelope_id == first.envelope_id
    assert [envelope.verification.secret_index for envelope in stores.queued()] == [1]
    assert_never_kept(stores, PASSCODE, NEXT_PASSCODE)


@pytest.mark.parametrize(
    ("passcode", "reason"),
    [
        (OLD_PASSCODE, "signature_mismatch"),
        (PASSCODE[:-1], "signature_mismatch"),
        (PASSCODE + " ", "signature_mismatch"),
        ("", "missing_signature"),
        (22, "malformed_signature"),
        ([PASSCODE], "malformed_signature"),
        ({"passcode": PASSCODE}, "malformed_signature"),
        (None, "malformed_signature"),
        (True, "malformed_signature"),
    ],
    ids=["retired", "short", "padded", "empty", "number", "list", "nested", "null", "boolean"],
)
def test_a_wrong_or_odd_passcode_is_refused_and_the_kept_request_holds_no_passcode(passcode: Any, reason: str) -> None:
    stores = Stores([PASSCODE])
    assert stores.refuse(encoded(file_update(passcode))) == reason
    assert stores.queued() == []
    assert stores.ledger.records == {}
    (kept,) = stores.rejected.requests.values()
    assert kept.reason == reason
    # The operator still sees what was sent, without the passcode member.
    assert json.loads(kept.body)["file_key"] == "CL06nJNn5eZLQKDoARMND5"
    assert "passcode" not in json.loads(kept.body)
    assert_never_kept(stores, PASSCODE, OLD_PASSCODE)


def test_a_missing_passcode_is_refused_as_a_missing_signature() -> None:
    stores = Stores([PASSCODE])
    document = file_update()
    del document["passcode"]
    assert stores.refuse(encoded(document)) == "missing_signature"


@pytest.mark.parametrize("order", ["right last", "right first"])
def test_two_passcode_members_are_refused_and_neither_value_is_kept(order: str) -> None:
    """json.loads takes the last of two members, other parsers the first: no passcode is
    checked that another reader would not see, and every one is cut."""
    right, wrong = f'"passcode": "{PASSCODE}"', f'"passcode": "{OLD_PASSCODE}"'
    first, last = (wrong, right) if order == "right last" else (right, wrong)
    body = f'{{{first}, "event_type": "FILE_UPDATE", "file_key": "CL06nJNn5eZLQKDoARMND5", {last}}}'.encode()
    stores = Stores([PASSCODE])
    assert stores.refuse(body) == "malformed_signature"
    (kept,) = stores.rejected.requests.values()
    assert kept.body == b'{"event_type": "FILE_UPDATE", "file_key": "CL06nJNn5eZLQKDoARMND5"}'
    assert_never_kept(stores, PASSCODE, OLD_PASSCODE)


def test_the_passcodes_name_written_with_an_escape_is_still_the_passcode_and_is_cut() -> None:
    body = f'{{"event_type": "FILE_UPDATE", "pass\\u0063ode": "{PASSCODE}", "file_key": "k1"}}'.encode()
    stores = Stores([PASSCODE])
    assert json.loads(body)["passcode"] == PASSCODE  # what any JSON reader sees
    outcome = stores.accept(body)
    assert isinstance(outcome, Outcome)
    (envelope,) = stores.queued()
    assert envelope.raw_body() == b'{"event_type": "FILE_UPDATE", "file_key": "k1"}'
    assert_never_kept(stores, PASSCODE)
    # With a wrong one, as with an escaped name and another member named plainly: cut too.
    twice = f'{{"pass\\u0063ode": "{OLD_PASSCODE}", "passcode": "{PASSCODE}", "file_key": "k2"}}'.encode()
    assert stores.refuse(twice) == "malformed_signature"
    assert_never_kept(stores, PASSCODE, OLD_PASSCODE)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (f"event_type=FILE_UPDATE&passcode={OLD_PASSCODE}".encode(), "application/x-www-form-urlencoded"),
        (f'{{"passcode": "{OLD_PASSCODE}", "file_key": '.encode(), "application/json"),
        (json.dumps([{"passcode": OLD_PASSCODE}]).encode(), "application/json"),
        (json.dumps({"passcode": OLD_PASSCODE}).encode() + b"{}", "application/json"),
        (f'{{"passcode": "{OLD_PASSCODE}"}}'.encode("utf-16"), "application/json; charset=utf-16"),
        (f"<passcode>{OLD_PASSCODE}</passcode>".encode(), "text/xml"),
        (b"", "application/json"),
    ],
    ids=["form", "cut-off JSON", "array", "trailing data", "UTF-16", "XML", "empty"],
)
def test_a_body_that_is_not_one_json_object_is_refused_and_kept_without_its_bytes(
    body: bytes, content_type: str
) -> None:
    """Where no JSON object can be read, no passcode can be told apart from the rest:
    the request is kept for the operator (reason, headers, size) with no byte of its body."""
    stores = Stores([PASSCODE])
    assert stores.refuse(body, {"content-type": content_type}) == "missing_signature"
    (kept,) = stores.rejected.requests.values()
    assert kept.body == b""
    assert kept.body_size == len(body)
    assert kept.body_cut == bool(body)
    assert_never_kept(stores, OLD_PASSCODE)


def test_a_body_of_more_members_than_any_figma_event_is_refused_unread() -> None:
    """An outside attack's finding: an unsigned body of a million top-level members cost
    seconds of scanning. Past 1,000 members it is no Figma event, even with the passcode."""
    padding = ',"":0' * 1_000
    body = ('{"passcode": "' + PASSCODE + '", "event_type": "FILE_UPDATE"' + padding + "}").encode()
    stores = Stores([PASSCODE])
    assert stores.refuse(body, JSON_TYPE) == "missing_signature"
    (kept,) = stores.rejected.requests.values()
    assert (kept.body, kept.body_size) == (b"", len(body))
    assert_never_kept(stores, PASSCODE)


def test_a_json_body_posted_under_another_content_type_is_still_figmas() -> None:
    stores = Stores([PASSCODE])
    outcome = stores.accept(encoded(file_update()), {"content-type": "text/plain"})
    assert isinstance(outcome, Outcome)
    assert stores.queued()[0].body_format == "json"
    assert_never_kept(stores, PASSCODE)


def test_a_3_mb_body_waits_in_the_body_store_without_the_passcode() -> None:
    stores = Stores([PASSCODE], bodies=InMemoryBodyStore())
    components = [{"key": f"{n:040x}", "name": f"Icon/{n}", "description": "é" * 20} for n in range(25_000)]
    document = {**file_update(), "event_type": "LIBRARY_PUBLISH", "created_components": components}
    # The passcode last, after megabytes: where a reader that stops early would miss it.
    document["passcode"] = document.pop("passcode")
    body = json.dumps(document, ensure_ascii=False).encode()
    assert len(body) > 3_000_000
    outcome = stores.accept(body)
    assert isinstance(outcome, Outcome)
    (envelope,) = stores.queued()
    assert envelope.body_ref is not None
    assert stores.bodies is not None
    (stored,) = stores.bodies.objects.values()
    assert json.loads(stored)["created_components"] == components
    assert len(stored) == len(body) - len(f', "passcode": "{PASSCODE}"')
    assert_never_kept(stores, PASSCODE)


def test_a_wrong_passcode_in_a_large_body_is_kept_cut_to_the_cap_without_it() -> None:
    stores = Stores([PASSCODE])
    document = {**file_update(OLD_PASSCODE), "file_name": "x" * 2_000_000}
    body = json.dumps(document).encode()
    assert stores.refuse(body) == "signature_mismatch"
    (kept,) = stores.rejected.requests.values()
    assert len(kept.body) == 1_000_000
    assert kept.body_cut
    assert_never_kept(stores, OLD_PASSCODE)


def test_the_ping_sent_when_a_webhook_is_made_is_checked_answered_200_and_never_queued() -> None:
    stores = Stores([PASSCODE])
    ping = {"event_type": "PING", "passcode": PASSCODE, "timestamp": "2020-02-23T20:27:16Z", "webhook_id": "22"}
    reply = stores.accept(encoded(ping))
    assert reply == HandshakeReply(None, status=200)
    assert stores.queued() == []
    assert stores.ledger.records == {}
    # A PING with another webhook's passcode says so at once (401), as Figma's request log shows it.
    assert stores.refuse(encoded({**ping, "passcode": OLD_PASSCODE})) == "signature_mismatch"
    assert_never_kept(stores, PASSCODE, OLD_PASSCODE)


@settings(max_examples=200, deadline=None)
@given(
    members=st.dictionaries(
        st.text(max_size=8).filter(lambda name: name != "passcode"),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
            max_leaves=8,
        ),
        max_size=6,
    ),
    position=st.integers(min_value=0, max_value=6),
    indent=st.sampled_from([None, 2]),
    ascii_only=st.booleans(),
)
def test_cutting_the_passcode_keeps_every_other_member_exactly(
    members: dict[str, Any], position: int, indent: int | None, ascii_only: bool
) -> None:
    items = list(members.items())
    items.insert(min(position, len(items)), ("passcode", PASSCODE))
    body = json.dumps(dict(items), indent=indent, ensure_ascii=ascii_only).encode()
    kept = without_passcode(body)
    assert json.loads(kept) == members
    assert list(json.loads(kept)) == list(members)  # the order too
    assert json.dumps(PASSCODE).encode() not in kept
    if members:  # the rest byte for byte: the same serialisation without the member
        assert kept == json.dumps(members, indent=indent, ensure_ascii=ascii_only).encode()


def test_webhooks_send_puts_the_passcode_where_figma_does_and_the_receiver_accepts_each_sample() -> None:
    stores = Stores([PASSCODE])
    source = stores.sources["figma"]
    samples = signing.samples(source)
    assert {"FILE_UPDATE", "FILE_COMMENT", "FILE_VERSION_UPDATE", "FILE_DELETE", "LIBRARY_PUBLISH", "PING"} <= set(
        samples
    )
    for event_type in samples:
        delivery = signing.sign(source, PASSCODE, event_type=event_type, now=int(NOW))
        assert json.loads(delivery.body)["passcode"] == PASSCODE
        outcome = stores.accept(delivery.body, {key.lower(): value for key, value in delivery.headers.items()})
        if event_type == "PING":
            assert isinstance(outcome, HandshakeReply)
        else:
            assert isinstance(outcome, Outcome)
            assert not outcome.duplicate
    assert [envelope.type for envelope in stores.queued()] == [name for name in samples if name != "PING"]
    assert_never_kept(stores, PASSCODE)
    # The endpoint check `webhooks send --handshake` sends is Figma's PING.
    assert json.loads(signing.handshake(source, PASSCODE).body)["event_type"] == "PING"


def test_webhooks_providers_lists_the_figma_kind_and_preset() -> None:
    result = CliRunner().invoke(main, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    (kind,) = [row for row in listed["kinds"] if row["kind"] == "figma"]
    (preset,) = [row for row in listed["presets"] if row["name"] == "figma"]
    for row in (kind, preset):
        assert row["docs"] == "https://developers.figma.com/docs/rest-api/webhooks-security"
        assert row["header"].startswith("body passcode")
        assert row["handshake"] == "PING (passcode checked; 200, nothing queued)"
        assert row["dedupe"] == "digest of the signed content (no id)"
        assert row["reply"] == "200"
    assert "webhooks-events" in preset["notes"]
