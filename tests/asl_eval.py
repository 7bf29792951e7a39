"""Evaluate Step Functions intrinsics and JSONPath with moto's ASL interpreter (independent of our code)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
from moto import mock_aws


def evaluate_parameters(parameters: dict[str, Any], *, runs: int = 1, execution_input: Any = None) -> list[Any]:
    """The output of a one-state machine whose Pass state has these ``Parameters``, once per run."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    asl = {"StartAt": "Eval", "States": {"Eval": {"Type": "Pass", "Parameters": parameters, "End": True}}}
    outputs = []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="eval", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        for i in range(runs):
            execution = client.start_execution(
                stateMachineArn=arn, name=f"run-{i}", input=json.dumps(execution_input or {})
            )["executionArn"]
            for _ in range(500):
                described = client.describe_execution(executionArn=execution)
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.01)
            assert described["status"] == "SUCCEEDED", described
            outputs.append(json.loads(described["output"]))
    return outputs


def run_states(states: dict[str, Any], start: str, execution_input: Any) -> dict[str, Any]:
    """Run ``states`` (taken from a synthesized state machine) in moto's ASL interpreter; the execution's
    description (status, error, cause, output) once it ends."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    asl = {"StartAt": start, "States": states}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="part", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
        for _ in range(500):
            described = client.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.01)
    raise AssertionError(f"the execution did not end: {described}")


def run_each(states: dict[str, Any], start: str, inputs: list[Any]) -> list[dict[str, Any]]:
    """:func:`run_states` for several inputs in one interpreter: each execution's description, in order."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    asl = {"StartAt": start, "States": states}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="part", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        executions = [
            client.start_execution(stateMachineArn=arn, name=f"run-{i}", input=json.dumps(execution_input))[
                "executionArn"
            ]
            for i, execution_input in enumerate(inputs)
        ]
        described: list[dict[str, Any]] = []
        for execution in executions:
            for _ in range(500):
                result = client.describe_execution(executionArn=execution)
                if result["status"] != "RUNNING":
                    described.append(dict(result))
                    break
                time.sleep(0.01)
            else:
                raise AssertionError(f"the execution did not end: {result}")
    return described
