"""Every alarm watches a metric that exists: the custom ones a metric the functions
really emit (name, namespace and dimensions, read from the EMF they print when run
with the template's environment), the AWS ones a documented metric of a resource
of this stack. An alarm can never be silently dead."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from typing import Any

import pytest

from tests.support.emit_metrics import STACK_NAME
from tests.support.template_resources import ROOT, project, template
from webhooks_cli.local.resources import Resolver

pytestmark = pytest.mark.integration
# The metrics AWS documents for the namespaces our alarms use.
AWS_METRICS = {
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent"},
    "AWS/Lambda": {"Errors", "Throttles", "Duration", "Invocations"},
    "AWS/ApiGateway": {"5XXError", "4XXError", "Count", "Latency", "IntegrationLatency"},
}


@cache
def emitted(function: str) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every metric the function printed."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.emit_metrics", function],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'core'}:{ROOT}", "PATH": "", "HOME": str(ROOT)},
        timeout=120,
    )
    found = []
    for line in result.stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = {name: blob[name] for name in dimension_set}
                for metric in directive["Metrics"]:
                    found.append((directive["Namespace"], metric["Name"], dimensions))
    return found


def alarms() -> dict[str, dict[str, Any]]:
    resolve = Resolver(project(), STACK_NAME)
    resolve.refs.update({"ProcessorFunction": f"{STACK_NAME}-ProcessorFunction", "Stage": "dev"})
    resolve.attributes.update(
        {
            "EventsQueue.QueueName": f"{STACK_NAME}-EventsQueue",
            "EventsDeadLetterQueue.QueueName": f"{STACK_NAME}-EventsDeadLetterQueue",
        }
    )
    found = {}
    for name, item in template()["Resources"].items():
        if item["Type"] == "AWS::CloudWatch::Alarm":
            properties = item["Properties"]
            found[name] = {
                "namespace": resolve(properties["Namespace"]),
                "metric": properties["MetricName"],
                "dimensions": {d["Name"]: resolve(d["Value"]) for d in properties.get("Dimensions", [])},
                "raw_dimensions": {d["Name"]: d["Value"] for d in properties.get("Dimensions", [])},
            }
    return found


CUSTOM = {name: alarm for name, alarm in alarms().items() if not alarm["namespace"].startswith("AWS/")}


@pytest.mark.parametrize("name", sorted(CUSTOM))
def test_a_custom_metric_alarm_watches_what_a_function_emits(name: str) -> None:
    alarm = CUSTOM[name]
    service = alarm["dimensions"].get("service")
    function = {"receiver": "ReceiverFunction", "processor": "ProcessorFunction"}[service]
    assert (alarm["namespace"], alarm["metric"], alarm["dimensions"]) in emitted(function)


def test_there_are_custom_alarms_and_each_names_a_function() -> None:
    assert {"SignatureFailuresAlarm", "ProcessorFailuresAlarm"} <= set(CUSTOM)


@pytest.mark.parametrize("name", sorted(set(alarms()) - set(CUSTOM)))
def test_an_aws_metric_alarm_watches_a_documented_metric_of_this_stacks_resource(name: str) -> None:
    alarm = alarms()[name]
    assert alarm["metric"] in AWS_METRICS[alarm["namespace"]]
    dimensions = alarm["raw_dimensions"]
    resources = template()["Resources"]
    if alarm["namespace"] == "AWS/SQS":
        (queue, attribute) = dimensions["QueueName"]["Fn::GetAtt"]
        assert (resources[queue]["Type"], attribute) == ("AWS::SQS::Queue", "QueueName")
    elif alarm["namespace"] == "AWS/Lambda":
        assert resources[dimensions["FunctionName"]["Ref"]]["Type"] == "AWS::Serverless::Function"
    else:
        api = resources["WebhookApi"]["Properties"]
        assert dimensions["ApiName"] == api["Name"]
        assert dimensions["Stage"] == api["StageName"]
