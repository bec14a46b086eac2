from __future__ import annotations

import json
from pathlib import Path

from functions.receiver.openapi import document

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"


def test_the_committed_openapi_document_matches_the_code() -> None:
    assert json.loads(COMMITTED.read_text()) == json.loads(document()), "run `make openapi` and commit openapi.json"


def test_the_document_describes_every_contract_status() -> None:
    operation = json.loads(document())["paths"]["/webhooks/{source}"]["post"]
    assert {"200", "202", "401", "404", "409", "413", "503"} <= set(operation["responses"])
    assert [parameter["name"] for parameter in operation["parameters"]] == ["source"]
