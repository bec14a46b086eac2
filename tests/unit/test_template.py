"""Deploy-time facts no local run shows, checked on template.yaml itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.template_resources import parameter_default, resource, template
from webhook_core.archive import PREFIX as ARCHIVE_PREFIX
from webhook_core.ledger import TIME_INDEX
from webhook_core.rejected import DEFAULT_PER_MINUTE, OBJECT_PREFIX


def properties(logical_id: str) -> dict[str, Any]:
    return resource(logical_id)["Properties"]  # type: ignore[no-any-return]


def test_the_functions_run_python313_on_arm64_with_the_shared_layer() -> None:
    function = template()["Globals"]["Function"]
    assert (function["Runtime"], function["Architectures"]) == ("python3.13", ["arm64"])
    assert function["Layers"] == [{"Ref": "CoreLayer"}]
    assert resource("CoreLayer")["Metadata"]["BuildMethod"] == "python3.13"


def test_the_dead_letter_queue_outlives_the_main_queue() -> None:
    assert properties("EventsDeadLetterQueue")["MessageRetentionPeriod"] == 14 * 86_400
    assert (
        properties("EventsDeadLetterQueue")["MessageRetentionPeriod"]
        > properties("EventsQueue")["MessageRetentionPeriod"]
    )


def test_the_main_queue_redrives_to_the_dlq_after_the_parameterised_receive_count() -> None:
    redrive = properties("EventsQueue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert parameter_default("MaxReceiveCount") >= 1


def test_the_ledger_table_has_its_time_index_written_once_per_event_and_is_protected() -> None:
    table = properties("LedgerTable")
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == TIME_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "day", "KeyType": "HASH"},
        {"AttributeName": "received_at", "KeyType": "RANGE"},
    ]
    # Keys only: the processor's updates change no projected attribute, so never write the index.
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_every_log_group_has_a_retention_and_every_function_its_own_group() -> None:
    groups = [name for name, r in template()["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"]
    assert groups
    for name in groups:
        assert properties(name)["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    functions = [name for name, r in template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    for name in functions:
        assert "LogGroup" in properties(name)["LoggingConfig"]


def test_the_receiver_may_touch_only_its_own_resources() -> None:
    policies = properties("ReceiverFunction")["Policies"]
    text = json.dumps(policies)
    assert '"Resource": "*"' not in text
    statement, captured, counters, bodies, rejected, with_key = policies[0]["Statement"]
    assert with_key["Fn::If"][0] == "HasKmsKey"
    # The ledger: the claim and its release, on event records only; no reads, scans or queries.
    assert sorted(statement["Action"]) == ["dynamodb:DeleteItem", "dynamodb:UpdateItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["LedgerTable", "Arn"]}
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["event#*"]}}
    # Secrets handed over at setup: read and created, never changed or deleted.
    assert sorted(captured["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert captured["Resource"] == {"Fn::GetAtt": ["LedgerTable", "Arn"]}
    assert captured["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["setup#*"]}}
    # Claim-checked bodies: written to the bucket's objects, never read, listed or deleted.
    assert (bodies["Action"], bodies["Resource"]) == (["s3:PutObject"], {"Fn::Sub": "${BodyBucket.Arn}/bodies/*"})
    # The cap on kept rejected requests: counted, never read; the requests written, never read or listed.
    assert counters["Action"] == ["dynamodb:UpdateItem"]
    assert counters["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["rejected#*"]}}
    assert (rejected["Action"], rejected["Resource"]) == (
        ["s3:PutObject"],
        {"Fn::Sub": "${BodyBucket.Arn}/rejected/*"},
    )
    assert {next(iter(p)) for p in policies[1:]} == {"SQSSendMessagePolicy", "AWSSecretsManagerGetSecretValuePolicy"}


def test_the_receiver_settings_come_from_the_template_resources() -> None:
    variables = properties("ReceiverFunction")["Environment"]["Variables"]
    assert variables["LEDGER_TABLE_NAME"] == {"Ref": "LedgerTable"}
    assert variables["RETENTION_DAYS"] == {"Ref": "RetentionDays"}
    assert variables["EVENTS_QUEUE_URL"] == {"Ref": "EventsQueue"}
    assert variables["SOURCE_SECRETS_ID"] == {"Ref": "SourceSecrets"}


def test_the_api_takes_every_body_as_binary_and_routes_post_webhooks_source() -> None:
    api = properties("WebhookApi")
    assert api["BinaryMediaTypes"] == ["*~1*"]
    assert api["TracingEnabled"] is True
    events = properties("ReceiverFunction")["Events"]
    event = events["Webhook"]["Properties"]
    assert (event["Path"], event["Method"]) == ("/webhooks/{source}", "post")
    # The methods providers check an endpoint with (Trello's HEAD, CloudEvents' OPTIONS): without
    # them API Gateway itself answers 403 and the provider never reaches the receiver.
    checks = {
        events[name]["Properties"]["Method"] for name in ("EndpointCheck", "EndpointHeadCheck", "EndpointOptionsCheck")
    }
    assert checks == {"get", "head", "options"}


def test_the_secret_starts_as_an_empty_json_object() -> None:
    assert json.loads(properties("SourceSecrets")["SecretString"]) == {}


def test_every_skipped_checkov_check_has_a_written_reason() -> None:
    for name, definition in template()["Resources"].items():
        for skip in definition.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip["comment"]) > 40, f"{name}: {skip['id']} needs a reason"


def test_the_outputs_name_every_resource_a_tool_needs() -> None:
    outputs = template()["Outputs"]
    for name in (
        "WebhookBaseUrl",
        "LedgerTableName",
        "EventsQueueUrl",
        "EventsQueueArn",
        "DeadLetterQueueUrl",
        "DeadLetterQueueArn",
        "SourceSecretsArn",
        "BodyBucketName",
        "ReceiverFunctionName",
    ):
        assert name in outputs


def test_the_queue_visibility_timeout_is_at_least_six_times_the_processor_timeout() -> None:
    assert properties("EventsQueue")["VisibilityTimeout"] >= 6 * properties("ProcessorFunction")["Timeout"]


def test_the_processor_reports_partial_failures_with_parameterised_batching_and_concurrency() -> None:
    source = properties("ProcessorFunction")["Events"]["Queue"]
    assert source["Type"] == "SQS"
    settings = source["Properties"]
    assert settings["Queue"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    assert settings["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert settings["BatchSize"] == {"Ref": "ProcessorBatchSize"}
    assert settings["MaximumBatchingWindowInSeconds"] == {"Ref": "ProcessorBatchingWindowSeconds"}
    assert settings["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ProcessorMaximumConcurrency"}}


def test_the_processor_may_touch_only_its_ledger_records_the_bodies_the_archive_and_a_customer_key() -> None:
    (policy,) = properties("ProcessorFunction")["Policies"]
    events, marks, bodies, archive, with_key = policy["Statement"]
    assert with_key["Fn::If"][0] == "HasKmsKey"
    for statement, action, keys in ((events, "dynamodb:UpdateItem", "event#*"), (marks, "dynamodb:PutItem", "order#*")):
        assert statement["Resource"] == {"Fn::GetAtt": ["LedgerTable", "Arn"]}
        assert statement["Action"] == [action]
        assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [keys]}}
    assert (bodies["Action"], bodies["Resource"]) == (["s3:GetObject"], {"Fn::Sub": "${BodyBucket.Arn}/bodies/*"})
    assert (archive["Action"], archive["Resource"]) == (["s3:PutObject"], {"Fn::Sub": "${BodyBucket.Arn}/archive/*"})


def test_every_alarm_notifies_the_topic_and_the_email_subscription_is_optional() -> None:
    alarms = {name: r for name, r in template()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {
        "DeadLetterQueueNotEmptyAlarm",
        "OldestMessageAgeAlarm",
        "ReceiverServerErrorsAlarm",
        "SignatureFailuresAlarm",
        "ProcessorFailuresAlarm",
        "ProcessorFunctionErrorsAlarm",
    } <= set(alarms)
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert resource("AlarmEmailSubscription")["Condition"] == "HasAlarmEmail"
    dlq = alarms["DeadLetterQueueNotEmptyAlarm"]["Properties"]
    assert (dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )


def test_metric_alarms_watch_the_names_the_code_emits() -> None:
    from webhook_core.errors import SignatureError

    signature = properties("SignatureFailuresAlarm")
    assert signature["MetricName"] == SignatureError.metric
    assert properties("ProcessorFailuresAlarm")["MetricName"] == "Failed"
    namespace = template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    assert signature["Namespace"] == namespace


def test_the_local_template_reader_agrees_with_cfn_lint() -> None:
    from cfnlint.decode import cfn_yaml

    from tests.support.template_resources import ROOT

    assert json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml")))) == json.loads(json.dumps(template()))


def test_the_readme_fault_table_is_the_matrix_the_tests_inject() -> None:
    from tests.support.faults import readme_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme


def test_the_body_bucket_is_private_encrypted_tls_only_and_outlives_the_dead_letter_queue() -> None:
    bucket = properties("BodyBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": {"Fn::If": ["HasKmsKey", "aws:kms", "AES256"]},
        "KMSMasterKeyID": {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
    }
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    bodies, archive, rejected = bucket["LifecycleConfiguration"]["Rules"]
    for rule, prefix in ((bodies, "bodies/"), (archive, ARCHIVE_PREFIX)):
        assert (rule["Status"], rule["Prefix"], rule["ExpirationInDays"]) == (
            "Enabled",
            prefix,
            {"Ref": "RetentionDays"},
        )
    # Kept rejected requests are short-lived: 1 to 3 days, whatever RetentionDays is.
    assert (rejected["Status"], rejected["Prefix"], rejected["ExpirationInDays"]) == (
        "Enabled",
        OBJECT_PREFIX,
        {"Ref": "RejectedRetentionDays"},
    )
    kept_days = template()["Parameters"]["RejectedRetentionDays"]
    assert (kept_days["MinValue"], kept_days["MaxValue"], kept_days["Default"]) == (1, 3, 2)
    assert parameter_default("RejectedRequestsPerMinute") == DEFAULT_PER_MINUTE
    assert properties("ReceiverFunction")["Environment"]["Variables"]["REJECTED_PER_MINUTE"] == {
        "Ref": "RejectedRequestsPerMinute"
    }
    retention = template()["Parameters"]["RetentionDays"]
    dead_letter_days = properties("EventsDeadLetterQueue")["MessageRetentionPeriod"] // 86_400
    assert retention["MinValue"] > dead_letter_days
    assert parameter_default("RetentionDays") == 21
    (deny,) = properties("BodyBucketTlsOnlyPolicy")["PolicyDocument"]["Statement"]
    assert properties("BodyBucketTlsOnlyPolicy")["Bucket"] == {"Ref": "BodyBucket"}
    assert (deny["Effect"], deny["Action"], deny["Condition"]) == (
        "Deny",
        "s3:*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    assert deny["Resource"] == [{"Fn::GetAtt": ["BodyBucket", "Arn"]}, {"Fn::Sub": "${BodyBucket.Arn}/*"}]


def test_both_queues_take_sqs_largest_message_and_the_body_limit_is_the_lambda_payloads() -> None:
    from webhook_core.queue import MAX_MESSAGE_BYTES
    from webhook_core.settings import MAX_BODY_LIMIT

    for queue in ("EventsQueue", "EventsDeadLetterQueue"):
        assert properties(queue)["MaximumMessageSize"] == MAX_MESSAGE_BYTES == 1_048_576
    limit = template()["Parameters"]["MaxBodyBytes"]
    assert limit["Default"] == limit["MaxValue"] == MAX_BODY_LIMIT
    for function in ("ReceiverFunction", "ProcessorFunction"):
        assert properties(function)["Environment"]["Variables"]["BODY_BUCKET_NAME"] == {"Ref": "BodyBucket"}
