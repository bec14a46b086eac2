"""Least privilege, proven both ways: each function's IAM statements (the template's,
SAM's policy templates expanded) name only its own table, queue, DLQ and secret, and
their actions are exactly the AWS calls the function makes while serving every path
(recorded at the SDK), save a fallback with a written reason. With a customer KMS key
every store uses it and each function may use that key alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest

from functions.receiver import app as receiver_app
from tests.integration.conftest import Stack
from tests.integration.test_fault_matrix import handled
from tests.support.apigw import rest_event
from tests.support.faults import Arm, FaultInjector
from tests.support.lambda_context import lambda_context
from tests.support.payloads import github_push
from tests.support.signers import SECRETS, sign
from tests.support.template_resources import project, template
from webhooks_cli.local.resources import Resolver

pytestmark = pytest.mark.integration

# SAM's policy templates and event-source policies, as SAM expands them.
SAM_POLICY_TEMPLATES = {
    "SQSSendMessagePolicy": ("QueueName", ("sqs:SendMessage*",)),
    "AWSSecretsManagerGetSecretValuePolicy": ("SecretArn", ("secretsmanager:GetSecretValue",)),
}
SQS_POLLER_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:ChangeMessageVisibilityBatch",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
# Granted but not seen in the runs below, each for a reason.
FALLBACKS = {
    "ReceiverFunction": {
        "dynamodb:GetItem": "reads a setup secret (Notion, Asana): exercised by the captured-secrets test below",
        "dynamodb:PutItem": "keeps a setup secret (Notion, Asana): exercised by the captured-secrets test below",
    },
    "ProcessorFunction": {
        "dynamodb:PutItem": "an ordering mark, only when a handler asks Event.is_newest (test_pipeline covers it)",
    },
}


def _logical_id(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:  # `${Bucket.Arn}/*`: the bucket's objects
        found = re.fullmatch(r"\$\{(\w+)\.Arn\}/(?:\w+/)?\*", value["Fn::Sub"])
        assert found, value
        return found.group(1)
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"not a reference to one resource: {value!r}")


def grants(function: str, *, kms: bool = False) -> set[tuple[str, str]]:
    """(action, logical id of the resource) for every statement the function's role gets."""
    resolve = Resolver(project(), "least-privilege")
    properties = template()["Resources"][function]["Properties"]
    found: set[tuple[str, str]] = set()
    for policy in properties["Policies"]:
        if "Statement" in policy:
            for statement in policy["Statement"]:
                if isinstance(statement, dict) and "Fn::If" in statement:
                    condition, when_true, _ = statement["Fn::If"]
                    assert condition == "HasKmsKey"
                    if not kms:
                        continue
                    statement = when_true  # noqa: PLW2901
                assert statement["Effect"] == "Allow"
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                found |= {(action, _logical_id(resource)) for action in statement["Action"] for resource in resources}
        else:
            ((name, arguments),) = policy.items()
            argument, actions = SAM_POLICY_TEMPLATES[name]
            found |= {(action, _logical_id(arguments[argument])) for action in actions}
    for event in properties.get("Events", {}).values():
        if event["Type"] == "SQS":
            found |= {(action, _logical_id(event["Properties"]["Queue"])) for action in SQS_POLLER_ACTIONS}
    assert resolve.condition("HasKmsKey") is False  # the default deploys without a customer key
    return found


def test_each_function_may_touch_only_its_own_resources() -> None:
    assert {resource for _, resource in grants("ReceiverFunction")} == {
        "LedgerTable",
        "EventsQueue",
        "SourceSecrets",
        "BodyBucket",
    }
    assert {resource for _, resource in grants("ProcessorFunction")} == {
        "LedgerTable",
        "EventsQueue",
        "BodyBucket",
    }
    assert ("s3:PutObject", "BodyBucket") in grants("ReceiverFunction")
    assert ("s3:GetObject", "BodyBucket") in grants("ProcessorFunction")
    assert not any("*" in action.split(":")[1].rstrip("*") for action, _ in grants("ReceiverFunction"))
    text = json.dumps(
        [template()["Resources"][name]["Properties"]["Policies"] for name in ("ReceiverFunction", "ProcessorFunction")]
    )
    assert '"*"' not in text


def test_with_a_customer_key_every_store_uses_it_and_each_function_may_use_it_alone() -> None:
    resources = template()["Resources"]
    for table in ("LedgerTable",):
        sse = resources[table]["Properties"]["SSESpecification"]
        assert sse["SSEEnabled"] is True
        assert sse["KMSMasterKeyId"] == {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    for queue in ("EventsQueue", "EventsDeadLetterQueue"):
        properties = resources[queue]["Properties"]
        assert properties["KmsMasterKeyId"] == {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
        assert properties["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", {"Ref": "AWS::NoValue"}, True]}
    assert resources["SourceSecrets"]["Properties"]["KmsKeyId"]["Fn::If"][1] == {"Ref": "KmsKeyArn"}
    (bucket_rule,) = resources["BodyBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket_rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::If"][1] == {"Ref": "KmsKeyArn"}
    for function in ("ReceiverFunction", "ProcessorFunction"):
        added = grants(function, kms=True) - grants(function)
        assert added == {("kms:Decrypt", "KmsKeyArn"), ("kms:GenerateDataKey", "KmsKeyArn")}


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> FaultInjector:
    injector = FaultInjector()
    injector.install(monkeypatch)
    return injector


def _granted_actions(function: str) -> set[str]:
    """The actions granted, SAM's `sqs:SendMessage*` spelled out as the calls it covers."""
    actions: set[str] = set()
    for action, _ in grants(function):
        base = action.rstrip("*")
        actions |= {base, base + "Batch"} if action.endswith("*") else {action}
    return actions


def test_the_receiver_is_granted_exactly_the_calls_it_makes(stack: Stack, recorder: FaultInjector) -> None:
    recorder.recording = True
    signed = sign("stripe")
    accepted = stack.deliver("stripe", signed)
    assert accepted.status == 202  # read the secret, claim, enqueue
    assert stack.deliver("stripe", signed).status == 409  # a copy in flight: the claim's old record read back
    recorder.recording = False
    stack.taken(accepted.body["id"])
    recorder.recording = True
    assert stack.deliver("stripe", signed).status == 200  # a duplicate
    large = sign("github", github_push(2_000_000))
    assert stack.deliver("github", large).status == 202  # the claim-check: the body put in the bucket
    recorder.arm(Arm("sqs", "SendMessage", "error"))
    assert stack.deliver("github", sign("github")).status == 503  # the record released
    recorder.disarm()
    # Refused, and kept for `webhooks rejected`: the counter counted, the request written.
    stack.invoke(rest_event("stripe", b"{}", {"Stripe-Signature": "t=1,v1=00"}), lambda_context())
    recorder.recording = False
    objects = stack.body_objects()
    assert any(key.startswith("rejected/stripe/") for key in objects)
    # Every object the receiver wrote falls under a prefix it is granted.
    assert all(key.startswith(("bodies/", "rejected/")) for key in objects), objects
    keys = {
        item["id"]["S"].split("#")[0] for item in stack.dynamodb.scan(TableName=stack.resources.ledger_table)["Items"]
    }
    assert keys == {"event", "rejected"}

    granted = _granted_actions("ReceiverFunction")
    assert recorder.actions <= granted, recorder.actions - granted
    assert granted - recorder.actions - {"sqs:SendMessageBatch"} == set(FALLBACKS["ReceiverFunction"])


def test_the_processor_is_granted_exactly_the_calls_it_makes(stack: Stack, recorder: FaultInjector) -> None:
    assert stack.deliver("stripe", sign("stripe")).status == 202
    assert stack.deliver("github", sign("github", github_push(2_000_000))).status == 202  # claim-checked
    recorder.recording = True
    # A failed attempt (its lock, its failure noted) and the retry that succeeds (its lock, its outcome);
    # each batch archived; the claim-checked body read from the bucket.
    assert sum(handled(stack, failures=1).values()) == 2
    recorder.recording = False
    granted = _granted_actions("ProcessorFunction") - set(SQS_POLLER_ACTIONS)  # the poller's calls are Lambda's
    processor_calls = {action for action in recorder.actions if not action.startswith("sqs:")}
    assert processor_calls <= granted, processor_calls - granted
    assert granted - processor_calls == set(FALLBACKS["ProcessorFunction"])


def _ledger_statements() -> dict[str, set[str]]:
    """The receiver's statements on the ledger table, by the key prefix they are limited to."""
    by_prefix: dict[str, set[str]] = {}
    for policy in template()["Resources"]["ReceiverFunction"]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []):
            if isinstance(statement, dict) and statement.get("Resource") == {"Fn::GetAtt": ["LedgerTable", "Arn"]}:
                (prefix,) = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                by_prefix[prefix] = set(statement["Action"])
    return by_prefix


def test_the_receiver_may_only_read_and_create_captured_secrets_and_only_claim_event_records_else(
    stack: Stack, recorder: FaultInjector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _ledger_statements() == {
        "event#*": {"dynamodb:UpdateItem", "dynamodb:DeleteItem"},
        "setup#*": {"dynamodb:GetItem", "dynamodb:PutItem"},
        "rejected#*": {"dynamodb:UpdateItem"},
    }
    sources_file = tmp_path / "sources.json"
    sources_file.write_text(
        json.dumps({"sources": [{"name": "asana", "preset": "asana"}, {"name": "stripe", "kind": "stripe"}]})
    )
    monkeypatch.setenv("SOURCES_FILE", str(sources_file))
    receiver_app.get_receiver.cache_clear()
    stack.set_secrets({"stripe": SECRETS["stripe"]})
    recorder.recording = True
    handshake = rest_event("asana", b"", {"X-Hook-Secret": "asana-hook-secret"})
    assert stack.invoke(handshake, lambda_context()).status == 200  # kept: a conditional put
    assert stack.invoke(handshake, lambda_context()).status == 401  # the second is refused by the condition
    body = b'{"events": [{"action": "added"}]}'
    signature = hmac.new(b"asana-hook-secret", body, hashlib.sha256).hexdigest()
    assert stack.invoke(rest_event("asana", body, {"X-Hook-Signature": signature}), lambda_context()).status == 202
    recorder.recording = False
    assert recorder.actions <= _granted_actions("ReceiverFunction")
    keys = {
        item["id"]["S"].split("#")[0] for item in stack.dynamodb.scan(TableName=stack.resources.ledger_table)["Items"]
    }
    assert keys == {"event", "setup"}  # every key the receiver wrote falls under one statement's prefix
