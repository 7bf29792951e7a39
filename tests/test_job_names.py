"""Every generated SageMaker name is valid for every execution name (1 to 80 chars).

The names are produced at run time by Step Functions intrinsics, so they are evaluated by moto's
ASL interpreter (independent of our code), and checked against the length limit and pattern that
botocore's SageMaker model gives for each name field.
"""

import json
import re
import time

import boto3
import pytest
from asl_eval import moto_step_functions
from aws_cdk import aws_stepfunctions as sfn

from sm_constructs._iam_facts import (
    DATA_QUALITY_JOB_DEFINITION,
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    MONITORING_SCHEDULE,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    TUNING,
)
from sm_constructs._service_model import service_model
from sm_constructs.jobs import RUN_SUFFIX_CHARS, run_unique_name

pytestmark = pytest.mark.xdist_group("reference-app")  # conftest's reference_app, built once for the group

_MODEL = service_model("sagemaker")
APIS = [PROCESSING, TRAINING, TUNING, TRANSFORM, MODEL, ENDPOINT_CONFIG]
#: The resource kinds whose names synth checks against ``name_max`` (APIS also name per run).
NAMED = [*APIS, ENDPOINT, DATA_QUALITY_JOB_DEFINITION, MONITORING_SCHEDULE]


def _name_rule(api):
    shape = _MODEL.operation_model(api.operation).input_shape.members[api.name_field]
    return shape.metadata["max"], re.compile(shape.metadata["pattern"])


def _longest_prefix(api):
    # The longest prefix our validation accepts, with inner hyphens to exercise the pattern.
    n = api.name_max - RUN_SUFFIX_CHARS
    return ("a-" * n)[: n - 1] + "z"


@pytest.fixture(scope="module")
def evaluated_names():
    params = {f"{api.name_field}": run_unique_name(_longest_prefix(api)) for api in APIS}
    rendered = sfn.FieldUtils.render_object(params)
    asl = {"StartAt": "Names", "States": {"Names": {"Type": "Pass", "Parameters": rendered, "End": True}}}
    results = {}
    with moto_step_functions():
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="names", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        for length in range(1, 81):
            name = ("run-" * 20)[: length - 1] + "x"
            execution = client.start_execution(stateMachineArn=arn, name=name, input="{}")["executionArn"]
            for _ in range(200):
                described = client.describe_execution(executionArn=execution)
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.01)
            assert described["status"] == "SUCCEEDED", described
            results[name] = json.loads(described["output"])
    return results


@pytest.mark.parametrize("api", NAMED, ids=lambda a: a.operation)
def test_every_name_limit_in_the_facts_is_botocore_s(api):
    """``name_max`` is what synth-time checks read for every resource kind (jobs, models, endpoints,
    monitoring schedules ...): each row agrees with the service model."""
    assert api.name_max == _name_rule(api)[0]


def test_all_execution_name_lengths_were_run(evaluated_names):
    assert sorted(len(n) for n in evaluated_names) == list(range(1, 81))


@pytest.mark.parametrize("api", APIS, ids=lambda a: a.name_field)
def test_names_fit_botocore_limits_and_pattern(evaluated_names, api):
    max_len, pattern = _name_rule(api)
    assert api.name_max == max_len  # our table agrees with the service model
    seen = set()
    for output in evaluated_names.values():
        value = output[api.name_field]
        assert len(value) <= max_len, value
        assert pattern.fullmatch(value), value
        assert value.startswith(_longest_prefix(api) + "-")
        seen.add(value)
    assert len(seen) == len(evaluated_names)  # a new name every run


def _reference_name_fields(stack):
    """Every run-unique SageMaker name expression the reference app's state machines send."""
    from sfn_requests import iter_states, state_machines
    from support import template_of

    fields = {}
    for asl in state_machines(template_of(stack).to_json()).values():
        for state_name, state in iter_states(asl):
            for key, value in state.get("Parameters", {}).items():
                if key.endswith("Name.$") and "States.UUID()" in value:
                    fields[f"{state_name}.{key[:-2]}"] = (key[:-2], value)
    return fields


def test_reference_app_job_names_are_valid_for_every_execution_name(reference_app):
    fields = _reference_name_fields(reference_app)
    # processing x2, training, tuning (+ its template), model, endpoint config, transform
    assert len(fields) >= 7, fields
    asl = {
        "StartAt": "Names",
        "States": {"Names": {"Type": "Pass", "Parameters": {f"{k}.$": v for k, (_, v) in fields.items()}, "End": True}},
    }
    limits = {}
    for label, (field, _) in fields.items():
        for op in _MODEL.operation_names:
            shape = _MODEL.operation_model(op).input_shape
            if shape is not None and field in shape.members and op.startswith("Create"):
                limits[label] = (
                    shape.members[field].metadata["max"],
                    re.compile(shape.members[field].metadata["pattern"]),
                )
                break
    # a cached step's name carries its key index (an MD5, 32 hex digits) from $.cache.<step>.index
    cached = {m: {"index": "f" * 32} for _, v in fields.values() for m in re.findall(r"\$\.cache\.(\w+)\.index", v)}
    run_input = json.dumps({"cache": cached})
    with moto_step_functions():
        client = boto3.client("stepfunctions")
        arn = client.create_state_machine(
            name="refnames", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        for length in (1, 2, 40, 79, 80):
            execution = client.start_execution(stateMachineArn=arn, name="e" * length, input=run_input)["executionArn"]
            for _ in range(200):
                described = client.describe_execution(executionArn=execution)
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.01)
            assert described["status"] == "SUCCEEDED", described
            for label, value in json.loads(described["output"]).items():
                max_len, pattern = limits[label]
                assert len(value) <= max_len and pattern.fullmatch(value), (label, value)
