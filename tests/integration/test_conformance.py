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
from webhook_core import receiving
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

    accepted: set[str] = set()
    for case in vector["cases"]:
        request, expect = case["request"], case["expect"]
        if expect["verdict"] in {"accepted", "duplicate", "handshake"}:  # genuinely signed: must never leak
            WATCH.watch(*(value for name, value in request["headers"].items() if name.lower() in signature_headers()))
        event = rest_event(
            source, body_of(request), request["headers"], method=request["method"], query=query_of(request)
        )
        response = stack.invoke(event)
        assert response.status == expect["status"], (case["name"], response.body)
        if expect["verdict"] in {"accepted", "duplicate"} and expect.get("empty"):
            # The provider's own answer (Xero, Okta, Discord): no body; the queue says what was taken.
            assert response.body is None, case["name"]
            accepted.add(f"{source}/{expect['event_id']}")
        elif expect["verdict"] in {"accepted", "duplicate"}:
            status = "accepted" if expect["verdict"] == "accepted" else "duplicate"
            # Without an expected id (Dropbox: every delivery new), the receiver makes one.
            envelope_id = f"{source}/{expect['event_id']}" if "event_id" in expect else response.body["id"]
            assert response.body == {"status": status, "id": envelope_id}, case["name"]
            accepted.add(envelope_id)
        elif expect["verdict"] == "handshake":
            assert response.body == expect.get("body"), case["name"]
            if "content_type" in expect:
                assert response.headers["content-type"].startswith(expect["content_type"])
            for header, value in expect.get("headers", {}).items():
                assert response.headers[header.lower()] == value, (case["name"], header)
        else:
            assert set(response.body) == {"error"}, case["name"]

    for url in documents.fetched:  # only what the vector serves was ever asked for
        assert url in documents.documents, url
    queued = [json.loads(message["Body"]) for message in stack.messages()]
    assert {envelope["id"] for envelope in queued} == accepted
    assert len(queued) == len(accepted)  # each accepted event once, its retry not again
    every_delivery_new = vector["cases"][1]["expect"]["verdict"] == "accepted"
    assert len(stack.dedupe_records()) == (0 if every_delivery_new else len(accepted))
