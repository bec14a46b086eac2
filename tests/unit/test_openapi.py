from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from functions.receiver.openapi import document
from tests.conformance.vectors import body_of, load_all, query_of
from tests.support.clock import Clock
from tests.support.envelopes import envelope
from webhook_core.envelope import BodyRef, Envelope
from webhook_core.receiving import Delivery, Receiver
from webhook_core.sources import parse_sources
from webhook_core.testing import FakeCertificates, InMemoryLedger, InMemoryQueue, StaticSecrets

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"
MAX_MESSAGE_BYTES = 256 * 1024


def test_the_committed_openapi_document_matches_the_code() -> None:
    assert json.loads(COMMITTED.read_text()) == json.loads(document()), "run `make openapi` and commit openapi.json"


def test_the_document_describes_every_contract_status() -> None:
    operation = json.loads(document())["paths"]["/webhooks/{source}"]["post"]
    assert {"200", "202", "401", "404", "409", "413", "503"} <= set(operation["responses"])
    assert [parameter["name"] for parameter in operation["parameters"]] == ["source"]


def committed_envelope_validator() -> Draft202012Validator:
    """The committed document's Envelope schema, its references resolved within the document."""
    committed = json.loads(COMMITTED.read_text())
    schema = {"$ref": "#/components/schemas/Envelope", "components": committed["components"]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def queued_by_the_receiver() -> list[dict[str, Any]]:
    """The SQS message bodies the receiver's own code queues for one accepted delivery of
    every conformance vector (every kind and preset), over the in-memory stores."""
    messages = []
    for vector in load_all().values():
        name = vector["name"]
        # What the receiver may fetch (SNS's signing certificate) is served by a fake, never the network.
        FakeCertificates({url: text.encode() for url, text in vector.get("documents", {}).items()}).install()
        queue = InMemoryQueue()
        secrets = {name: vector["secrets"], **{f"{name}/{k}": v for k, v in vector.get("tokens", {}).items()}}
        receiver = Receiver(
            sources=parse_sources({"sources": [{"name": name, **vector["source"]}]}),
            secrets=StaticSecrets(secrets),
            ledger=InMemoryLedger(),
            queue=queue,
            max_body_bytes=1_000_000,
            clock=Clock(float(vector["time"])),
        )
        request = next(case["request"] for case in vector["cases"] if case["expect"]["verdict"] == "accepted")
        receiver.accept(
            Delivery(
                source=name,
                headers={key.lower(): value for key, value in request["headers"].items()},
                body=body_of(request),
                query=query_of(request),
            )
        )
        messages += [json.loads(queued.to_message(MAX_MESSAGE_BYTES)) for queued in queue.envelopes]
    return messages


def test_every_envelope_the_receiver_queues_is_valid_against_the_documented_schema() -> None:
    validator = committed_envelope_validator()
    messages = queued_by_the_receiver()
    assert len(messages) >= 20, "the conformance vectors queued fewer envelopes than they cover kinds"
    assert {message["body_encoding"] for message in messages} >= {"text"}
    for message in messages:
        errors = [error.message for error in validator.iter_errors(message)]
        assert not errors, f"{message['id']}: {errors}"


def test_a_claim_checked_envelope_is_valid_and_a_malformed_one_is_not() -> None:
    validator = committed_envelope_validator()
    claimed = envelope(body=b"\xff binary", source="acme").by_reference(BodyRef.of(b"\xff binary"))
    message = json.loads(claimed.to_message(MAX_MESSAGE_BYTES))
    assert message["body_ref"]["sha256"]
    assert list(validator.iter_errors(message)) == []

    assert list(validator.iter_errors({**message, "unknown": 1})), "an unknown field passed the schema"
    assert list(validator.iter_errors({**message, "version": 2})), "an unknown envelope version passed"
    without_id = {key: value for key, value in message.items() if key != "id"}
    assert list(validator.iter_errors(without_id)), "an envelope without its id passed"


def test_the_documented_envelope_lists_every_field_of_the_model() -> None:
    committed = json.loads(COMMITTED.read_text())
    documented = committed["components"]["schemas"]["Envelope"]
    assert set(documented["properties"]) == set(Envelope.model_fields)
    required = {name for name, field in Envelope.model_fields.items() if field.is_required()}
    assert set(documented["required"]) == required
    assert {"BodyRef", "Verification"} <= set(committed["components"]["schemas"])


def test_the_envelope_webhook_hands_the_envelope_to_handlers() -> None:
    webhook = json.loads(COMMITTED.read_text())["webhooks"]["envelope"]["post"]
    schema = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Envelope"}
    assert "handlers" in webhook["description"]
    assert "one envelope per SQS record" in webhook["description"]
