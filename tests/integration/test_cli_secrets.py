"""`webhooks secrets set` and `secrets list` on a source secrets document in every form
the receiver accepts: they change only the entry being set, and the receiver still
reads every other source's secrets afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import OperatedStack
from tests.support.project import FIXTURE_SOURCES
from tests.support.signers import ED25519_SEED, GITHUB_SECRET, HMAC_SECRET, SECRETS, STRIPE_SECRET
from webhook_core.errors import SourceUnavailableError
from webhook_core.secrets import SourceSecrets
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets

pytestmark = pytest.mark.integration
NEW_STRIPE_SECRET = "whsec_rotated_stripe_0123456789"
# Every entry but stripe's, in each form the receiver reads (or ignores) one.
OTHER_ENTRIES: dict[str, Any] = {
    "github": GITHUB_SECRET,  # a plain string: one secret
    "hmac": [HMAC_SECRET, "", 7],  # a list: its non-empty strings
    "standard": [],  # configured, empty: 503
    "svix": 42,  # not a secret list: 503
    "slack": None,
    "shopify": {"unexpected": ["object"]},
    "ed25519": SECRETS["ed25519"],
    "ed25519/signing_key": [ED25519_SEED],
    "meta/verify_token": "a-verify-token",
    "legacy/verify_token": ["first", "second"],
    "not-a-source": 1.5,
}
STRIPE_FORMS: dict[str, Any] = {
    "a list": [STRIPE_SECRET],
    "a plain string": STRIPE_SECRET,
    "an empty list": [],
    "absent": None,
}


def put_document(stack: OperatedStack, document: dict[str, Any]) -> None:
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.resources.secret_id, SecretString=json.dumps(document)
    )


def read_document(stack: OperatedStack) -> dict[str, Any]:
    value = stack.client("secretsmanager").get_secret_value(SecretId=stack.resources.secret_id)["SecretString"]
    document = json.loads(value)
    assert isinstance(document, dict)
    return document


def as_the_receiver_reads(stack: OperatedStack, names: list[str]) -> dict[str, tuple[str, ...] | None]:
    """Each name's secrets as the receiver's SourceSecrets yields them (None: it answers 503)."""
    secrets = SourceSecrets(stack.resources.secret_id, max_age_seconds=0, client=stack.client("secretsmanager"))
    read: dict[str, tuple[str, ...] | None] = {}
    for name in names:
        try:
            read[name] = secrets.for_source(name)
        except SourceUnavailableError:
            read[name] = None
    return read


@pytest.mark.parametrize("keep_old", [True, False], ids=["--keep-old", "replace"])
@pytest.mark.parametrize("stripe_form", sorted(STRIPE_FORMS))
def test_setting_a_secret_changes_only_that_entry_and_the_receiver_still_reads_every_other(
    operated_stack: OperatedStack, stripe_form: str, keep_old: bool
) -> None:
    before = dict(OTHER_ENTRIES)
    if STRIPE_FORMS[stripe_form] is not None:
        before["stripe"] = STRIPE_FORMS[stripe_form]
    put_document(operated_stack, before)
    others = sorted(OTHER_ENTRIES)
    read_before = as_the_receiver_reads(operated_stack, others)
    assert read_before["github"] == (GITHUB_SECRET,)

    options = ["--keep-old"] if keep_old else []
    result = operated_stack.webhooks("secrets", "set", "stripe", "-", *options, stdin=NEW_STRIPE_SECRET + "\n")
    assert result.exit_code == 0, result.output
    assert NEW_STRIPE_SECRET not in result.output

    after = read_document(operated_stack)
    had_old = stripe_form in {"a list", "a plain string"}
    assert after["stripe"] == ([NEW_STRIPE_SECRET, STRIPE_SECRET] if keep_old and had_old else [NEW_STRIPE_SECRET])
    assert set(after) == set(before) | {"stripe"}
    for name in others:  # the same JSON value and type, not merely an equal one (1 == 1.0 == True)
        assert json.dumps(after[name]) == json.dumps(before[name]), name
    assert as_the_receiver_reads(operated_stack, others) == read_before
    assert as_the_receiver_reads(operated_stack, ["stripe"])["stripe"] == tuple(after["stripe"])

    # The dev secrets file holds the same document, and the CLI reads it back.
    saved = json.loads(operated_stack.dev_secrets_file.read_text())
    assert saved == after
    assert devsecrets.load(operated_stack.dev_secrets_file) == after
    assert devsecrets.signing_secret(saved, "github") == GITHUB_SECRET
    assert devsecrets.signing_secret(saved, "stripe") == NEW_STRIPE_SECRET
    sources = load_sources(FIXTURE_SOURCES)
    ensured = devsecrets.ensure(operated_stack.dev_secrets_file, sources)
    # The next `webhooks dev` keeps every entry as it is, generating only sources without a secret.
    kept = {name: value for name, value in after.items() if name not in sources or devsecrets.active_secrets(value)}
    assert {name: ensured[name] for name in kept} == kept
    assert all(devsecrets.active_secrets(ensured[name]) for name in sources)


def test_a_rotation_that_keeps_the_old_secret_keeps_a_plain_string_one(operated_stack: OperatedStack) -> None:
    put_document(operated_stack, {"stripe": STRIPE_SECRET, "github": GITHUB_SECRET})
    result = operated_stack.webhooks("secrets", "set", "stripe", NEW_STRIPE_SECRET, "--keep-old")
    assert result.exit_code == 0, result.output
    assert "keeping 1 older; 2 active" in result.output
    assert read_document(operated_stack) == {"stripe": [NEW_STRIPE_SECRET, STRIPE_SECRET], "github": GITHUB_SECRET}


def test_secrets_list_counts_what_the_receiver_verifies_with(operated_stack: OperatedStack) -> None:
    put_document(operated_stack, {"stripe": [STRIPE_SECRET, "old"], **OTHER_ENTRIES})
    result = operated_stack.webhooks("secrets", "list")
    assert result.exit_code == 0, result.output
    rows = {cells[0]: cells[-1] for cells in table_rows(result.output)}
    assert rows["stripe"] == "2"
    assert rows["github"] == "1"  # a plain string is one secret
    assert rows["hmac"] == "1"
    assert rows["meta/verify_token"] == "1"
    assert rows["legacy/verify_token"] == "2"
    for unusable in ("standard", "svix", "slack", "shopify", "not-a-source"):
        assert rows[unusable] == "0: answers 503", unusable


def table_rows(output: str) -> list[list[str]]:
    """The cells of each row of a rich table (its box-drawing border between them)."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.strip().startswith("│")
    ]
