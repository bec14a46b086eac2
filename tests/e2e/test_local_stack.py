"""The local stack as a user meets it: real HTTP, real moto server, real poller."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DevStack, start_stack, stop
from tests.support.apigw import signature_headers
from tests.support.leaks import WATCH
from tests.support.project import FIXTURE_SOURCES
from tests.support.signers import other_secret
from webhook_core.archive import Archive
from webhook_core.body_store import S3BodyStore
from webhook_core.ledger import DynamoDBLedger
from webhook_core.sources import load_sources
from webhooks_cli import devsecrets, signing
from webhooks_cli.provider_keys import ProviderKey

pytestmark = pytest.mark.e2e
SOURCES = load_sources(FIXTURE_SOURCES)
MAX_RECEIVES = 5


def post(
    url: str, body: bytes, headers: dict[str, str], query: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    WATCH.watch(*(value for name, value in headers.items() if name.lower() in signature_headers()))
    if query:
        url = f"{url}?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def secret(stack: DevStack, source: str) -> str:
    """What the source's sender signs with (for a public-key source, its private seed)."""
    signing_key = devsecrets.signing_secret(json.loads(stack.secrets_file.read_text()), source)
    assert signing_key is not None
    return signing_key


def provider_key(stack: DevStack) -> ProviderKey:
    """The stand-in SNS and PayPal deliveries to the local stack are signed with."""
    key = ProviderKey.load(ProviderKey.path_beside(stack.secrets_file))
    assert key is not None
    return key


# SNS and PayPal sign with their own certificates: the local stack serves a stand-in's.
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_kind_signed_is_accepted_then_deduplicated_forged_is_refused_and_each_is_processed_once(
    dev_stack: DevStack, source: str
) -> None:
    delivery = signing.sign(SOURCES[source], secret(dev_stack, source), provider_key=provider_key(dev_stack))
    url = f"{dev_stack.url}/webhooks/{source}"
    status, body = post(url, delivery.body, delivery.headers, delivery.query)
    # 202, or the status the kind's provider demands for every delivery (Figma: 200).
    reply = SOURCES[source].spec.reply
    assert (status, body["status"]) == (reply.status if reply else 202, "accepted")
    envelope_id = body["id"]
    dev_stack.wait_for(rf"processed\s+{envelope_id}\b")
    assert post(url, delivery.body, delivery.headers, delivery.query) == (
        200,
        {"status": "duplicate", "id": envelope_id},
    )

    forged_secret = other_secret(SOURCES[source].kind, "forged")
    forged = signing.sign(SOURCES[source], forged_secret, provider_key=provider_key(dev_stack))
    assert post(url, forged.body, forged.headers, forged.query)[0] == 401

    time.sleep(1.5)  # anything processed twice would have shown by now
    processed = Counter(line.split()[2] for line in dev_stack.lines if line.split()[1:2] == ["processed"])
    assert processed[envelope_id] == 1


def test_the_send_command_is_accepted_and_its_repeat_is_a_duplicate(dev_stack: DevStack) -> None:
    port = dev_stack.url.rsplit(":", 1)[1]
    result = dev_stack.cli("send", "stripe", "--port", port, "--times", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert " 202 " in lines[0]
    assert '"accepted"' in lines[0]
    assert " 200 " in lines[1]
    assert '"duplicate"' in lines[1]
    envelope_id = json.loads(lines[0].split("  ")[-1])["id"]
    # What the receiver recorded, and the type it reads from the sample, on the same line.
    assert f"checkout.session.completed  202 recorded {envelope_id}" in lines[0]
    dev_stack.wait_for(rf"processed\s+{envelope_id}\b")


def test_send_delivers_sns_and_paypal_to_the_local_stack_and_confirms_an_sns_subscription(
    dev_stack: DevStack,
) -> None:
    port = dev_stack.url.rsplit(":", 1)[1]
    for source, event_type in (("paypal", "PAYMENT.CAPTURE.COMPLETED"), ("sns", "Amazon S3 Notification")):
        result = dev_stack.cli("send", source, "--type", event_type, "--port", port)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{event_type}  202 recorded " in result.stdout
        envelope_id = json.loads(result.stdout.split("  ")[-1])["id"]
        dev_stack.wait_for(rf"processed\s+{envelope_id}\b")

    confirmed = dev_stack.cli("send", "sns", "--type", "SubscriptionConfirmation", "--port", port)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert " 200 " in confirmed.stdout
    assert '"confirmed"' in confirmed.stdout


def test_a_signed_but_unparseable_body_ends_in_the_dlq_after_max_receive_count(dev_stack: DevStack) -> None:
    source = SOURCES["stripe"]
    body_file = dev_stack.secrets_file.parent / "garbled.txt"
    body_file.write_bytes(b"{this is not json")
    delivery = signing.sign(source, secret(dev_stack, "stripe"), body_file=body_file)
    status, body = post(f"{dev_stack.url}/webhooks/stripe", delivery.body, delivery.headers)
    assert status == 202
    envelope_id = body["id"]
    dev_stack.wait_for(rf"failed\s+{envelope_id}\b", count=MAX_RECEIVES, timeout=60)

    sqs: Any = dev_stack.aws("sqs")
    dlq_url = next(url for url in sqs.list_queues()["QueueUrls"] if "DeadLetter" in url)
    deadline, dead = time.monotonic() + 30, list[dict[str, Any]]()
    while time.monotonic() < deadline and not dead:
        dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
    assert [json.loads(message["Body"])["id"] for message in dead] == [envelope_id]
    failed_lines = [line for line in dev_stack.lines if " failed " in line and envelope_id in line]
    assert len(failed_lines) == MAX_RECEIVES
    assert "next receive moves it to the DLQ" in failed_lines[-1]


def test_a_request_to_another_route_gets_what_api_gateway_answers(dev_stack: DevStack) -> None:
    request = urllib.request.Request(f"{dev_stack.url}/elsewhere", data=b"{}", method="POST")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert caught.value.code == 403


def test_ctrl_c_stops_the_stack_cleanly_within_seconds(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    try:
        started = time.monotonic()
        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 8
        assert stack.lines[-1] == "stopped" or "stopped" in stack.output()
    finally:
        stop(stack)


def test_send_to_a_stack_reads_its_url_and_secret_from_the_stack(dev_stack: DevStack) -> None:
    """`--stack` against any AWS-compatible endpoint: here the dev stack's own emulator
    holds a CloudFormation stack whose outputs point at the local API and secret."""
    cloudformation: Any = dev_stack.aws("cloudformation")
    secrets: Any = dev_stack.aws("secretsmanager")
    secret_arn = secrets.list_secrets()["SecretList"][0]["ARN"]
    outputs = {"WebhookBaseUrl": f"{dev_stack.url}/webhooks", "SourceSecretsArn": secret_arn}
    template = {
        "Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName="deployed", TemplateBody=json.dumps(template))
    target = ["--region", "us-east-1", "--endpoint-url", dev_stack.aws_endpoint]
    result = dev_stack.cli("send", "github", "--stack", "deployed", *target)
    assert result.returncode == 0, result.stderr
    assert " 202 " in result.stdout

    missing = dev_stack.cli("send", "github", "--stack", "absent", *target)
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("Error: cannot read stack 'absent'")
    assert "Traceback" not in missing.stderr


def test_rotation_keeps_both_secrets_valid_until_the_old_is_removed(dev_stack: DevStack) -> None:
    webhooks = dev_stack.cli

    def status_with(secret_value: str) -> int:
        delivery = signing.sign(SOURCES["github"], secret_value)
        return post(f"{dev_stack.url}/webhooks/github", delivery.body, delivery.headers)[0]

    old = secret(dev_stack, "github")
    new = "rotated-github-secret-0123456789"
    rotated = webhooks("secrets", "set", "github", "-", "--keep-old", stdin=new + "\n")
    assert rotated.returncode == 0, rotated.stderr
    assert new not in rotated.stdout
    time.sleep(1.5)  # the local receiver caches secrets for 1 s
    assert (status_with(new), status_with(old)) == (202, 202)

    listed = webhooks("secrets", "list")
    assert "github" in listed.stdout
    assert new not in listed.stdout
    assert old not in listed.stdout

    assert webhooks("secrets", "set", "github", new).returncode == 0
    time.sleep(1.5)
    assert (status_with(new), status_with(old)) == (202, 401)
    assert json.loads(dev_stack.secrets_file.read_text())["github"] == [new]

    refused = webhooks("secrets", "set", "standard", "not-a-whsec-secret!")
    assert refused.returncode == 1
    assert "not a secret of kind 'standard'" in refused.stderr
    no_token = webhooks("secrets", "set", "github/verify_token", "x")
    assert no_token.returncode == 1
    assert "source 'github' has no 'verify_token'" in no_token.stderr


def test_dlq_commands_work_on_a_stack_found_through_cloudformation(dev_stack: DevStack) -> None:
    """With --stack and --endpoint-url (here the emulator, which has no message-move
    task, so a full replay falls back to receive, send and delete)."""
    state = json.loads(dev_stack.state_file.read_text())
    outputs = {
        "EventsQueueUrl": state["queue_url"],
        "EventsQueueArn": state["queue_arn"],
        "DeadLetterQueueUrl": state["dead_letter_queue_url"],
        "DeadLetterQueueArn": state["dead_letter_queue_arn"],
        "LedgerTableName": state["ledger_table"],
        "SourceSecretsArn": state["secret_id"],
        "BodyBucketName": state["body_bucket"],
    }
    cloudformation: Any = dev_stack.aws("cloudformation")
    cloudformation.create_stack(
        StackName="ops",
        TemplateBody=json.dumps(
            {
                "Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()},
            }
        ),
    )
    target = ["--stack", "ops", "--region", "us-east-1", "--endpoint-url", dev_stack.aws_endpoint]
    listed = dev_stack.cli("dlq", "list", "--json", *target)
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    replayed = dev_stack.cli("dlq", "replay", "--yes", *target)
    assert replayed.returncode == 0, replayed.stderr
    assert "skipped 0, failed 0" in replayed.stdout


@pytest.mark.parametrize("source", ["slack", "zoom", "ed25519"])
def test_send_handshake_gets_the_providers_answer(dev_stack: DevStack, source: str) -> None:
    # That a handshake is never queued is tested in tests/integration/test_handshakes.py.
    result = dev_stack.cli("send", source, "--handshake", "--port", dev_stack.url.rsplit(":", 1)[1])
    assert result.returncode == 0, result.stderr
    if source == "ed25519":  # Discord's webhook-events PING: an empty 204
        assert " 204 " in result.stdout
        return
    assert " 200 " in result.stdout
    answer = json.loads(result.stdout.split("  ")[-1])
    assert set(answer) == ({"challenge"} if source == "slack" else {"plainToken", "encryptedToken"})


def test_the_local_gateway_routes_get_to_the_receiver_which_refuses_it_for_a_post_only_source(
    dev_stack: DevStack,
) -> None:
    request = urllib.request.Request(f"{dev_stack.url}/webhooks/stripe?challenge=abc", method="GET")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)  # noqa: S310 - 127.0.0.1 only
    assert refused.value.code == 405
    assert json.loads(refused.value.read())["error"]["code"] == "method_not_allowed"


def test_a_hundred_identical_deliveries_at_once_over_http_are_processed_exactly_once(dev_stack: DevStack) -> None:
    """Threads as a provider's retries gone wild: each 409 is retried after its Retry-After,
    as providers do, until every copy has an answer; one is accepted, one processed."""
    delivery = signing.sign(SOURCES["github"], secret(dev_stack, "github"))
    url = f"{dev_stack.url}/webhooks/github"
    barrier = threading.Barrier(100)

    accepted_ids: list[str] = []

    def provider() -> list[int]:
        barrier.wait(30)
        answers = []
        for _ in range(50):
            status, answer = post(url, delivery.body, delivery.headers)
            answers.append(status)
            if status == 202:
                accepted_ids.append(answer["id"])
            if status != 409:
                return answers
            time.sleep(0.05)  # Retry-After, shortened: the first copy finishes in milliseconds
        return answers

    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(lambda _: provider(), range(100)))
    finals = [statuses[-1] for statuses in answers]
    assert set(finals) <= {200, 202}, Counter(finals)  # every copy answered in the end
    assert finals.count(202) == 1
    assert all(status in {200, 202, 409} for statuses in answers for status in statuses)
    (envelope_id,) = accepted_ids
    dev_stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b")
    time.sleep(1.5)  # a second processing would show by now
    processed = Counter(line.split()[2] for line in dev_stack.lines if line.split()[1:2] == ["processed"])
    assert processed[envelope_id] == 1


def test_a_refused_send_exits_1_so_scripts_see_it(dev_stack: DevStack) -> None:
    """A delivery the receiver refuses used to exit 0 (found by a new user)."""
    refused = dev_stack.cli("send", "stripe", "--url", f"{dev_stack.url}/not-webhooks")
    assert refused.returncode == 1, refused.stdout
    assert " 403 " in refused.stdout


def test_a_copy_of_a_processed_event_is_shown_absorbed_not_processed_again(dev_stack: DevStack) -> None:
    """A second message of one event (a receiver's take-over, an SQS redelivery): the
    processor's lock absorbs it, and the stack's line says so instead of `processed`."""
    delivery = signing.sign(SOURCES["stripe"], secret(dev_stack, "stripe"))
    status, body = post(f"{dev_stack.url}/webhooks/stripe", delivery.body, delivery.headers)
    assert status == 202
    envelope_id = body["id"]
    dev_stack.wait_for(rf"processed\s+{re.escape(envelope_id)}\b")
    state = json.loads(dev_stack.state_file.read_text())
    dynamodb: Any = dev_stack.aws("dynamodb")
    s3: Any = dev_stack.aws("s3")
    ledger = DynamoDBLedger(state["ledger_table"], retention_seconds=86_400, client=dynamodb)
    record = ledger.get(envelope_id)
    assert record is not None
    assert record.archive is not None
    copy = Archive(S3BodyStore(state["body_bucket"], s3)).read(record.archive)
    sqs: Any = dev_stack.aws("sqs")
    sqs.send_message(QueueUrl=state["queue_url"], MessageBody=copy)
    dev_stack.wait_for(rf"copy\s+{re.escape(envelope_id)}\b")
    processed = Counter(line.split()[2] for line in dev_stack.lines if line.split()[1:2] == ["processed"])
    assert processed[envelope_id] == 1
