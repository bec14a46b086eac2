"""Run one function as Lambda would (the template's environment, in-process moto) through
the paths its alarms watch, so Powertools prints the EMF metrics it really emits.

    python -m tests.support.emit_metrics ReceiverFunction|ProcessorFunction
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.apigw import rest_event
from tests.support.faults import Arm, FaultInjector
from tests.support.lambda_context import lambda_context
from tests.support.project import FIXTURE_HANDLERS_MODULE, FIXTURE_SOURCES
from tests.support.signers import SECRETS, sign
from tests.support.sqs import lambda_event
from tests.support.template_resources import project
from webhooks_cli.local.resources import create_resources, function_environment

STACK_NAME = "alarms-test"


def main(function: str) -> int:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with mock_aws():
        resources, resolve = create_resources(project(), boto3.session.Session(), STACK_NAME)
        os.environ.update(function_environment(project(), resolve, function))
        # The tests' sources and handlers, never the shipped examples (which users replace).
        os.environ.update(SOURCES_FILE=str(FIXTURE_SOURCES), HANDLERS_MODULE=FIXTURE_HANDLERS_MODULE)
        boto3.client("secretsmanager").put_secret_value(SecretId=resources.secret_id, SecretString=json.dumps(SECRETS))
        if function == "ReceiverFunction":
            from functions.receiver import app as receiver

            os.environ["SECRETS_CACHE_SECONDS"] = "0"  # every request reads the secret
            forged = sign("stripe", secret="whsec_not_the_secret")
            receiver.lambda_handler(rest_event("stripe", forged.body, forged.headers), lambda_context())
            with pytest.MonkeyPatch.context() as patch:  # Secrets Manager down: the last secrets read serve
                injector = FaultInjector()
                injector.install(patch)
                injector.arm(Arm("secretsmanager", "GetSecretValue", "error"))
                signed = sign("stripe")
                receiver.lambda_handler(rest_event("stripe", signed.body, signed.headers), lambda_context())
        else:
            from functions.processor import app as processor

            sqs: Any = boto3.client("sqs")
            envelope: dict[str, Any] = {
                "version": 1,
                "id": "stripe/evt_unparseable",
                "event_id": "evt_unparseable",
                "source": "stripe",
                "kind": "stripe",
                "type": "checkout.session.completed",
                "received_at": "2026-11-25T09:00:00Z",
                "headers": {},
                "body": "this is not JSON",
                "verification": {"secret_index": 0},
            }
            sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps(envelope))
            messages = sqs.receive_message(QueueUrl=resources.queue_url, AttributeNames=["All"])["Messages"]
            processor.lambda_handler(lambda_event(messages, resources.queue_arn), lambda_context())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
