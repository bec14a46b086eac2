"""Every conformance vector through the receiver handler, as API Gateway REST proxy
events at the vector's own time: each status and answer as the vector says, exactly
the accepted events queued, and nothing written for anything else."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from functions.receiver import app as receiver_app
from tests.conformance.vectors import body_of, load_all, query_of
from tests.integration.conftest import Stack
from tests.support.apigw import rest_event, signature_headers
from tests.support.leaks import WATCH
from tests.support.ledger import processed
from webhook_core import receiving
from webhook_core.ledger import DynamoDBLedger
from webhook_core.testing import FakeCertificates

pytestmark = pytest.mark.integration
ALL = load_all()


@pytest.mark.parametrize("name", sorted(ALL))
def test_the_receiver_answers_every_case_of_the_vector(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    vector = ALL[name]
    source = vector["name"]
    sources_file = tmp_path / "sources.json"
    sources_file.write_text(json.dumps({"sources": [{"name": source, **vector["source"]}]}))
    monkeypatch.setenv("SOURCES_FILE", str(sources_file))
    monkeypatch.setattr(receiving, "time", SimpleNamespace(time=lambda: float(vector["time"])))
    receiver_app.get_receiver.cache_clear()
    document: dict[str, Any] = {source: vector["secrets"]}
    document.update({f"{source}/{key}": value for key, value in vector.get("tokens", {}).items()})
    stack.set_secrets(document)
    # What the receiver may fetch (SNS's signing certificate, its SubscribeURL), served by a fake.
    documents = FakeCertificates({url: text.encode() for url, text in vector.get("documents", {}).items()})
    documents.install()

    ledger = DynamoDBLedger(stack.resources.ledger_table, retention_seconds=86_400)
    accepted: dict[str, str] = {}  # envelope id -> the provider's event id
    for case in vector["cases"]:
        request, expect = case["request"], case["expect"]
        if expect["verdict"] in {"accepted", "duplicate", "handshake"}:  # genuinely signed: must never leak
            WATCH.watch(*(value for name, value in request["headers"].items() if name.lower() in signature_headers()))
        event = rest_event(
            source, body_of(request), request["headers"], method=request["method"], query=query_of(request)
        )
        response = stack.invoke(event)
        assert response.status == expect["status"], (case["name"], response.body)
        if expect["verdict"] == "accepted":
            envelope_id = _accepted_id(stack, response, expect, set(accepted), case["name"])
            accepted[envelope_id] = expect.get("event_id", "")
            # The processor takes it: from now on a copy of it is a duplicate (a copy arriving
            # while the first may still be sending is answered 409; test_ledger covers that).
            processed(ledger, envelope_id, float(vector["time"]))
        elif expect["verdict"] == "duplicate":
            (envelope_id,) = [key for key, event_id in accepted.items() if event_id == expect["event_id"]]
            if expect.get("empty"):  # the provider's own answer (Xero, Okta, Discord): no body
                assert response.body is None, case["name"]
            else:
                assert response.body == {"status": "duplicate", "id": envelope_id}, case["name"]
        elif expect["verdict"] == "handshake":
            assert response.body == expect.get("body"), case["name"]
            if "content_type" in expect:
                assert response.headers["content-type"].startswith(expect["content_type"])
            for header, value in expect.get("headers", {}).items():
                assert response.headers[header.lower()] == value, (case["name"], header)
        elif expect.get("empty"):  # the provider wants no body in any answer (Xero): its 401 too
            assert response.body is None, case["name"]
        else:
            assert set(response.body) == {"error"}, case["name"]

    for url in documents.fetched:  # only what the vector serves was ever asked for
        assert url in documents.documents, url
    queued = [json.loads(message["Body"]) for message in stack.messages()]
    assert {envelope["id"]: envelope["event_id"] for envelope in queued} == {
        envelope_id: event_id or envelope_id.split("/", 1)[1] for envelope_id, event_id in accepted.items()
    }
    assert len(queued) == len(accepted)  # each accepted event once, its retry not again
    assert len(stack.ledger_records()) == len(accepted)


def _accepted_id(stack: Stack, response: Any, expect: dict[str, Any], known: set[str], case: str) -> str:
    """The envelope id an accepted delivery got: from the answer, or (for a provider that
    wants no body) the one new envelope on the queue."""
    if expect.get("empty"):
        assert response.body is None, case
        (envelope_id,) = {json.loads(message["Body"])["id"] for message in stack.messages()} - known
        return str(envelope_id)
    assert response.body["status"] == "accepted", case
    return str(response.body["id"])
