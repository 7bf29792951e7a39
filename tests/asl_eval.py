"""Evaluate Step Functions intrinsics and JSONPath with moto's ASL interpreter (independent of our code)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws


def evaluate_parameters(parameters: dict[str, Any], *, runs: int = 1, execution_input: Any = None) -> list[Any]:
    """The output of a one-state machine whose Pass state has these ``Parameters``, once per run."""
    states = {"Eval": {"Type": "Pass", "Parameters": parameters, "End": True}}
    outputs = []
    for described in run_each(states, "Eval", [execution_input or {}] * runs):
        assert described["status"] == "SUCCEEDED", described
        outputs.append(json.loads(described["output"]))
    return outputs


@contextlib.contextmanager
def moto_step_functions() -> Iterator[None]:
    """moto, its Step Functions running the executions it starts (its ASL interpreter), in us-east-1: clients
    made in the block need no region, and the environment is as it was once the block ends.

    ``boto3.client`` in the block uses one session kept for the process (:func:`_moto_session`)."""
    with (
        mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "us-east-1"}),
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        mock.patch("boto3.DEFAULT_SESSION", _moto_session()),
    ):
        yield


@functools.cache
def _moto_session() -> boto3.Session:
    """The default session of every :func:`moto_step_functions` block. moto gives each mock a new default
    session, and a new session reads botocore's endpoint rules and each client's service model again (about
    0.1 s of CPU per client); this one reads them once. Made after moto put its stubber among botocore's
    handlers (this module imports moto first), so its clients reach moto; they get moto's fake credentials,
    which the mock sets in the environment."""
    return boto3.Session()


def run_states(states: dict[str, Any], start: str, execution_input: Any) -> dict[str, Any]:
    """Run ``states`` (taken from a synthesized state machine) in moto's ASL interpreter; the execution's
    description (status, error, cause, output) once it ends."""
    return run_each(states, start, [execution_input])[0]


def run_each(states: dict[str, Any], start: str, inputs: list[Any]) -> list[dict[str, Any]]:
    """:func:`run_states` for several inputs in one interpreter: each execution's description, in order."""
    asl = {"StartAt": start, "States": states}
    with moto_step_functions():
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
        return [ended(client, execution) for execution in executions]


def ended(client: Any, execution: str, *, tries: int = 500) -> dict[str, Any]:
    """``execution``'s description once it is no longer running (polled every 10 ms, ``tries`` times)."""
    for _ in range(tries):
        described = client.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.01)
    raise AssertionError(f"the execution did not end: {described}")


def lineage_plan(asl: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """The lineage plan ``asl``'s ``LineagePlan`` JSONata state computes for a run whose state is ``state``
    (evaluated as Step Functions binds ``$states``: jsonata-python, the emulator's evaluator)."""
    from sm_constructs.local.aws.stepfunctions_jsonata import evaluate

    output = asl["States"]["LineagePlan"]["Output"].removeprefix("{%").removesuffix("%}")
    context = {"Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:run-1", "Name": "run-1"}}
    bound = json.dumps({"input": state, "context": context})
    return dict(evaluate(f"($states := {bound}; {output})")["lineage"]["plan"])
