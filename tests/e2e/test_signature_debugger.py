"""The signature debugger as an operator meets it on `webhooks dev`: deliveries signed
with a secret the stack does not have yet are answered 401 over real HTTP and kept;
`webhooks rejected list` and `show` say why; after `webhooks secrets set`, `rejected
replay` accepts one once (the local processor runs it), a second replay is a
duplicate, and a request that was already stale when it arrived stays refused."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import assert_nothing_leaked, start_stack, stop
from tests.e2e.test_local_stack import post
from tests.support.leaks import WATCH
from tests.support.signers import sign

pytestmark = pytest.mark.e2e
ROTATED = "whsec_rotated_at_the_provider_e2e_0123456789"


def test_rejected_requests_are_listed_diagnosed_and_replayed_once_after_the_fix(tmp_path: Path) -> None:
    stack = start_stack(tmp_path, "--visibility-timeout", "1")
    webhooks = stack.cli
    WATCH.watch(ROTATED)
    try:
        rotated = sign("stripe", secret=ROTATED, event_type="customer.created")
        status, answer = post(f"{stack.url}/webhooks/stripe", rotated.body, rotated.headers)
        assert (status, answer["error"]["code"]) == (401, "invalid_signature")
        stale = sign("stripe", secret=ROTATED, timestamp=int(time.time()) - 1_000)
        assert post(f"{stack.url}/webhooks/stripe", stale.body, stale.headers)[0] == 401

        listing = webhooks("rejected", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        by_reason = {entry["reason"]: entry["id"] for entry in json.loads(listing.stdout)}
        assert set(by_reason) == {"signature_mismatch", "timestamp_out_of_tolerance"}
        table = webhooks("rejected", "list")
        assert "timestamp_out_of_tolerance" in table.stdout

        shown = webhooks("rejected", "show", by_reason["signature_mismatch"])
        assert shown.returncode == 0, shown.stderr
        assert "no secret of the source matched the signature" in shown.stdout
        assert "customer.created" in shown.stdout

        fixed = webhooks("secrets", "set", "stripe", "-", stdin=ROTATED + "\n")
        assert fixed.returncode == 0, fixed.stderr
        replayed = webhooks("rejected", "replay", by_reason["signature_mismatch"])
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        envelope_id = f"stripe/{rotated.event_id}"
        assert f"accepted as {envelope_id} and queued" in replayed.stdout
        stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b", timeout=30)
        again = webhooks("rejected", "replay", by_reason["signature_mismatch"])
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"duplicate of {envelope_id}" in again.stdout

        refused = webhooks("rejected", "replay", by_reason["timestamp_out_of_tolerance"])
        assert refused.returncode == 1
        assert "the signed timestamp is outside the tolerance" in refused.stdout + refused.stderr
        time.sleep(2)
        assert len(stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b")) == 1  # run once
        for result in (listing, table, shown, replayed, again, refused):
            WATCH.see("webhooks rejected", result.stdout + result.stderr)
    finally:
        stop(stack)
    assert_nothing_leaked(stack)
