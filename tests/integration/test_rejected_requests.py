"""The signature debugger end to end in moto: the receiver handler keeps what it refuses
(capped, encrypted by the bucket, never turning a 401 into a 5xx), and `webhooks
rejected list|show|replay` read it, diagnose it against the current secrets and accept
it once when its cause is fixed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.integration.conftest import OperatedStack, Stack
from tests.support.faults import Arm, FaultInjector
from tests.support.leaks import WATCH
from tests.support.ledger import processed
from tests.support.project import FIXTURE_SOURCES
from tests.support.signers import SECRETS, Signed, sign
from webhook_core.body_store import S3BodyStore
from webhook_core.captured import CapturedSecrets
from webhook_core.errors import SignatureError
from webhook_core.ledger import DynamoDBLedger, Outcome
from webhook_core.queue import EnvelopeQueue
from webhook_core.receiving import Delivery, Receiver
from webhook_core.rejected import COUNTER_PREFIX, OBJECT_PREFIX, AwsRejectedRequests, RejectedRequest
from webhook_core.secrets import SourceSecrets
from webhook_core.sources import load_sources

pytestmark = pytest.mark.integration
PUBLIC_REFUSAL = {"error": {"code": "invalid_signature", "message": "The webhook signature could not be verified."}}
ROTATED = "whsec_rotated_at_the_provider_0123456789"


def kept_objects(stack: Stack) -> list[dict[str, Any]]:
    listing = stack.s3.list_objects_v2(Bucket=stack.resources.body_bucket, Prefix=OBJECT_PREFIX)
    return [
        json.loads(stack.s3.get_object(Bucket=stack.resources.body_bucket, Key=item["Key"])["Body"].read())
        for item in listing.get("Contents", [])
    ]


def within_one_minute() -> None:
    """Start with room left in the current minute: the cap is per minute."""
    left = 60 - time.time() % 60
    if left < 10:
        time.sleep(left + 0.5)


def test_a_forged_request_is_the_same_401_and_its_reason_is_kept(stack: Stack) -> None:
    forged = sign("stripe", secret="whsec_forged_by_someone_else")
    refused = stack.deliver("stripe", forged)
    assert (refused.status, refused.body) == (401, PUBLIC_REFUSAL)
    (kept,) = kept_objects(stack)
    request = RejectedRequest.from_json(json.dumps(kept).encode())
    assert (request.source, request.reason) == ("stripe", "signature_mismatch")
    assert request.body == forged.body
    assert request.headers["stripe-signature"] == forged.headers["Stripe-Signature"]
    counters = [
        item
        for item in stack.dynamodb.scan(TableName=stack.resources.ledger_table)["Items"]
        if item["id"]["S"].startswith(COUNTER_PREFIX)
    ]
    assert [(item["id"]["S"].split("#")[1], item["kept"]["N"]) for item in counters] == [("stripe", "1")]
    assert int(counters[0]["expiration"]["N"]) > time.time()  # the table's TTL removes it
    assert stack.ledger_records() == []


def test_a_flood_keeps_exactly_the_cap_in_a_minute(stack: Stack) -> None:
    within_one_minute()
    for _ in range(10 + 5):
        assert stack.deliver("stripe", sign("stripe", secret="whsec_forged_by_someone_else")).status == 401
    assert len(kept_objects(stack)) == 10


@pytest.mark.parametrize("arm", [Arm("dynamodb", "UpdateItem", "error"), Arm("s3", "PutObject", "timeout")])
def test_a_store_failure_still_answers_401(stack: Stack, monkeypatch: pytest.MonkeyPatch, arm: Arm) -> None:
    injector = FaultInjector()
    injector.install(monkeypatch)
    injector.arm(arm)
    refused = stack.deliver("stripe", sign("stripe", secret="whsec_forged_by_someone_else"))
    assert (refused.status, refused.body) == (401, PUBLIC_REFUSAL)
    assert injector.fired
    assert kept_objects(stack) == []


# --- the operator's commands, on a local stack as `webhooks dev` leaves it -------------------


def receiver_of(stack: OperatedStack) -> Receiver:
    """The receiver over the local stack's resources, with the AWS adapters it deploys with."""
    resources, dynamodb, s3 = stack.resources, stack.client("dynamodb"), stack.client("s3")
    return Receiver(
        sources=load_sources(FIXTURE_SOURCES),
        secrets=SourceSecrets(resources.secret_id, max_age_seconds=0, client=stack.client("secretsmanager")),
        ledger=DynamoDBLedger(resources.ledger_table, retention_seconds=86_400 * 21, client=dynamodb),
        queue=EnvelopeQueue(resources.queue_url, stack.client("sqs"), bodies=S3BodyStore(resources.body_bucket, s3)),
        max_body_bytes=1_000_000,
        captured=CapturedSecrets(resources.ledger_table, client=dynamodb),
        rejected=AwsRejectedRequests(resources.ledger_table, resources.body_bucket, dynamodb=dynamodb, s3=s3),
    )


def refused_and_kept(receiver: Receiver, signed: Signed) -> None:
    with pytest.raises(SignatureError):
        receiver.accept(
            Delivery("stripe", {name.lower(): value for name, value in signed.headers.items()}, signed.body)
        )


def cli(stack: OperatedStack, *arguments: str, exit_code: int = 0) -> str:
    result = stack.webhooks(*arguments)
    WATCH.see(f"webhooks {arguments[0]} {arguments[1]}", result.output)
    assert result.exit_code == exit_code, result.output
    return result.output


def test_rejected_list_show_and_replay_once_the_secret_is_fixed(operated_stack: OperatedStack) -> None:
    stack = operated_stack
    WATCH.watch(ROTATED)
    cli(stack, "secrets", "set", "stripe", SECRETS["stripe"][0])
    receiver = receiver_of(stack)
    rotated = sign("stripe", secret=ROTATED)  # the provider rolled its secret; ours is the old one
    refused_and_kept(receiver, rotated)
    stale = sign("stripe", secret=ROTATED, timestamp=int(time.time()) - 1_000)
    refused_and_kept(receiver, stale)

    listed = json.loads(cli(stack, "rejected", "list", "--json"))
    by_reason = {entry["reason"]: entry for entry in listed}
    assert set(by_reason) == {"signature_mismatch", "timestamp_out_of_tolerance"}
    assert 999 <= by_reason["timestamp_out_of_tolerance"]["skew_seconds"] <= 1_010
    assert by_reason["signature_mismatch"]["size"] == len(rotated.body)
    table = cli(stack, "rejected", "list", "--source", "stripe", "--since", "1h")
    assert "2 rejected request(s)" in table
    with pytest.MonkeyPatch.context() as narrow:  # an 80-column terminal: each id still whole, copyable
        narrow.setenv("COLUMNS", "80")
        folded = cli(stack, "rejected", "list")
    assert all(entry["id"] in folded for entry in listed), folded
    assert json.loads(cli(stack, "rejected", "list", "--json", "--source", "github")) == []
    mismatch, skewed = by_reason["signature_mismatch"]["id"], by_reason["timestamp_out_of_tolerance"]["id"]

    shown = cli(stack, "rejected", "show", mismatch)
    assert "no secret of the source matched the signature" in shown
    assert rotated.headers["Stripe-Signature"] not in shown  # shown cut
    assert rotated.headers["Stripe-Signature"][:10] in shown
    assert '"type": "checkout.session.completed"' in shown  # the body, pretty
    assert "still does not verify: no secret of the source matched" in cli(
        stack, "rejected", "replay", mismatch, exit_code=1
    )

    cli(stack, "secrets", "set", "stripe", ROTATED)
    assert "verifies now with the source's current secret #0" in cli(stack, "rejected", "show", mismatch)
    accepted = cli(stack, "rejected", "replay", mismatch)
    assert f"accepted as stripe/{rotated.event_id} and queued" in accepted
    assert '"_aws"' not in accepted  # no metric blob in a tool's output
    messages = stack.client("sqs").receive_message(QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10)
    (message,) = messages["Messages"]
    assert json.loads(message["Body"])["event_id"] == rotated.event_id
    # The processor takes it; replaying it again is then a duplicate, and nothing more is queued.
    processed(
        DynamoDBLedger(stack.resources.ledger_table, retention_seconds=86_400, client=stack.client("dynamodb")),
        f"stripe/{rotated.event_id}",
        time.time(),
    )
    assert "duplicate of stripe/" in cli(stack, "rejected", "replay", mismatch)
    # Once accepted, the lists say so (and as which event); the one still refused is not marked.
    marked = {entry["id"]: entry["accepted_as"] for entry in json.loads(cli(stack, "rejected", "list", "--json"))}
    assert marked == {mismatch: f"stripe/{rotated.event_id}", skewed: None}
    assert f"since accepted as stripe/{rotated.event_id}" in cli(stack, "rejected", "list")
    assert f"since, by a replay, as stripe/{rotated.event_id}" in cli(stack, "rejected", "show", mismatch)

    # Out of tolerance when it arrived: still refused with the right secret, and the skew named.
    refusal = cli(stack, "rejected", "replay", skewed, exit_code=1)
    assert "the signed timestamp is outside the tolerance" in refusal
    assert "s old when received (tolerance 300s)" in refusal
    for output in (shown, accepted, refusal):
        assert ROTATED not in output
        assert SECRETS["stripe"][0] not in output


def test_an_unknown_id_is_a_one_line_error(operated_stack: OperatedStack) -> None:
    output = cli(operated_stack, "rejected", "show", "stripe/20260101T000000Z-00000000", exit_code=1)
    assert "no rejected request" in output


def test_it_works_on_a_deployed_stack_found_through_its_outputs(operated_stack: OperatedStack) -> None:
    stack = operated_stack
    target = stack.deployed()
    WATCH.watch(ROTATED)
    cli(stack, "secrets", "set", "stripe", ROTATED, *target)
    signed = sign("stripe", secret=ROTATED)
    received = signed.body + b"\n"  # a proxy on the way added a newline
    with pytest.raises(SignatureError):
        receiver_of(stack).accept(
            Delivery("stripe", {name.lower(): value for name, value in signed.headers.items()}, received)
        )
    (entry,) = json.loads(cli(stack, "rejected", "list", "--json", *target))
    shown = cli(stack, "rejected", "show", entry["id"], *target)
    assert "the body was altered in transit: a trailing newline was added in transit" in shown
    refused = cli(stack, "rejected", "replay", entry["id"], *target, exit_code=1)
    assert "a trailing newline was added in transit" in refused


def test_webhooks_inspect_serves_a_deployed_stack_on_this_machine_only(operated_stack: OperatedStack) -> None:
    """`webhooks inspect --stack NAME`: the page on 127.0.0.1, reading the deployed stack
    with the operator's credentials (here, the emulator's)."""
    stack = operated_stack
    target = stack.deployed()
    cli(stack, "secrets", "set", "stripe", SECRETS["stripe"][0], *target)
    receiver = receiver_of(stack)
    good = sign("stripe")
    outcome = receiver.accept(Delivery("stripe", {k.lower(): v for k, v in good.headers.items()}, good.body))
    assert isinstance(outcome, Outcome)
    refused_and_kept(receiver, sign("stripe", secret=ROTATED))

    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    command = [sys.executable, "-m", "webhooks_cli", "inspect", *target, "--port", "0", "--for", "60"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.match(r"inspector: (http://127\.0\.0\.1:(\d+)/)\?key=(\S+)\s+\(stack deployed;", banner)
        assert found, banner + process.stdout.read(2000)
        url, port, key = found.groups()
        with pytest.raises(urllib.error.HTTPError) as locked:  # the pages open only with the printed key
            urllib.request.urlopen(url + "events/rows", timeout=30)  # noqa: S310
        assert locked.value.code == 401
        cookie = {"Cookie": f"webhooks-inspector-{port}={key}"}
        opened = urllib.request.Request(url + "events/rows", headers=cookie)  # noqa: S310
        with urllib.request.urlopen(opened, timeout=30) as response:  # noqa: S310
            rows = response.read().decode()
        assert f'data-id="{outcome.envelope_id}"' in rows
        assert "signature_mismatch" in rows
    finally:
        process.terminate()
        process.wait(timeout=30)
