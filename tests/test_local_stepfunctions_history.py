"""GetExecutionHistory in the emulator pages as botocore's model says Step Functions does, and
``sm-pipeline watch`` reads only the events it has not seen."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from asl_eval import moto_step_functions
from botocore.exceptions import ClientError

from sm_constructs import cli
from sm_constructs._service_model import service_model
from sm_constructs.local.aws import stepfunctions_history

ROLE = "arn:aws:iam::123456789012:role/sfn"
STATES = 60  # a Pass state enters and exits: 2 events each, with the execution's own, over 100


@pytest.fixture
def sfn(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    stepfunctions_history.install()
    with moto_step_functions():
        client = boto3.client("stepfunctions")
        states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(STATES)}
        states[f"S{STATES}"] = {"Type": "Succeed"}
        machine = client.create_state_machine(
            name="long", definition=json.dumps({"StartAt": "S0", "States": states}), roleArn=ROLE
        )["stateMachineArn"]
        arn = client.start_execution(stateMachineArn=machine, input='{"x": 1}')["executionArn"]
        deadline = time.monotonic() + 60
        while client.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
        yield client, arn


def _all(client, arn, **kw):
    return [
        e
        for page in client.get_paginator("get_execution_history").paginate(executionArn=arn, **kw)
        for e in page["events"]
    ]


def test_pages_hold_the_model_s_default_of_events_and_a_token_for_the_rest(sfn):
    client, arn = sfn
    member = service_model("stepfunctions").operation_model("GetExecutionHistory").input_shape.members["maxResults"]
    assert "The default is 100" in member.documentation and stepfunctions_history.DEFAULT_PAGE_SIZE == 100
    everything = _all(client, arn)
    assert len(everything) > 100 and [e["id"] for e in everything] == list(range(1, len(everything) + 1))
    first = client.get_execution_history(executionArn=arn)
    assert len(first["events"]) == 100 and "nextToken" in first
    assert len(client.get_execution_history(executionArn=arn, maxResults=0)["events"]) == 100
    last = client.get_execution_history(executionArn=arn, maxResults=1000)
    assert last["events"] == everything and "nextToken" not in last


def test_reverse_order_is_newest_first_and_execution_data_can_be_left_out(sfn):
    client, arn = sfn
    everything = _all(client, arn)
    assert _all(client, arn, reverseOrder=True, maxResults=7) == everything[::-1]
    lean = client.get_execution_history(executionArn=arn, maxResults=3, includeExecutionData=False)["events"]
    assert lean[0]["type"] == "ExecutionStarted" and "input" not in lean[0]["executionStartedEventDetails"]
    assert "input" in everything[0]["executionStartedEventDetails"]


def test_a_token_the_service_did_not_write_is_refused(sfn):
    client, arn = sfn
    with pytest.raises(ClientError) as refused:
        client.get_execution_history(executionArn=arn, nextToken="not-a-token")
    assert refused.value.response["Error"]["Code"] == "InvalidToken"


def test_watch_reads_only_the_events_after_those_it_has(sfn, monkeypatch):
    client, arn = sfn
    everything = _all(client, arn)
    calls = []
    original = client.get_execution_history
    monkeypatch.setattr(client, "get_execution_history", lambda **kw: calls.append(kw) or original(**kw))
    assert cli._progress(client, arn, everything[:-3])["events"] == everything
    assert len(calls) == 1 and calls[0]["reverseOrder"] is True  # the newest page held the three
    calls.clear()
    assert cli._progress(client, arn)["events"] == everything
    assert len(calls) == -(-len(everything) // 100)
