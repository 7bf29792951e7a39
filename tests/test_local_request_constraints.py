"""The emulator refuses, as AWS does, a JSON-protocol request that breaks its model's max, enum or pattern.

botocore's client checks only required members, types and ``min``; each request here leaves the client
and moto alone would answer it. The bounds are read from botocore's model, not written here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from asl_eval import moto_step_functions
from botocore.exceptions import ClientError

from sm_constructs._service_model import service_model
from sm_constructs.local.aws import request_constraints, stepfunctions_history

ROLE = "arn:aws:iam::123456789012:role/sfn"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    request_constraints.install()
    stepfunctions_history.install()
    with moto_step_functions():
        yield


def _shape_max(service: str, operation: str, member: str) -> int:
    shape = service_model(service).operation_model(operation).input_shape.members[member]
    return int(shape.metadata["max"])


def _refused(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    assert raised.value.response["Error"]["Code"] == "ValidationException", raised.value.response
    return str(raised.value.response["Error"]["Message"])


def test_get_execution_history_past_the_model_s_page_size_is_refused(aws):
    client = boto3.client("stepfunctions")
    machine = client.create_state_machine(
        name="m", definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}), roleArn=ROLE
    )["stateMachineArn"]
    arn = client.start_execution(stateMachineArn=machine)["executionArn"]
    top = _shape_max("stepfunctions", "GetExecutionHistory", "maxResults")
    assert client.get_execution_history(executionArn=arn, maxResults=top)["events"]
    message = _refused(client.get_execution_history, executionArn=arn, maxResults=top + 1)
    assert message.startswith("1 validation error detected: ")
    assert f"maxResults={top + 1}" in message and f"and {top}" in message, message
    listed = _refused(client.list_executions, stateMachineArn=machine, maxResults=top + 1)
    assert f"maxResults={top + 1}" in listed


def test_sagemaker_max_enum_and_pattern_are_refused_together(aws):
    client = boto3.client("sagemaker", region_name="us-east-1")
    top = _shape_max("sagemaker", "ListTrainingJobs", "MaxResults")
    assert client.list_training_jobs(MaxResults=top)["TrainingJobSummaries"] == []
    message = _refused(
        client.list_training_jobs, MaxResults=top + 1, StatusEquals="Done", NameContains="no spaces allowed"
    )
    assert message.startswith("3 validation errors detected: "), message
    assert f"MaxResults={top + 1}" in message
    assert "StatusEquals='Done'" in message and "'InProgress'" in message  # the model's enum
    pattern = service_model("sagemaker").operation_model("ListTrainingJobs").input_shape.members["NameContains"]
    assert pattern.metadata["pattern"] in message


def test_a_refused_request_changes_nothing(aws):
    client = boto3.client("stepfunctions")
    top = int(service_model("stepfunctions").shape_for("TagKey").metadata["max"])
    message = _refused(
        client.create_state_machine,
        name="m",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
        roleArn=ROLE,
        tags=[{"key": "k" * (top + 1), "value": "v"}],
    )
    assert "tags[0].key='kkk" in message and f"is {top + 1} characters" in message and f"at most {top}" in message, (
        message
    )
    assert client.list_state_machines()["stateMachines"] == []


def test_valid_requests_and_other_protocols_pass(aws):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data-bucket")
    s3.put_object(Bucket="data-bucket", Key="raw/x.csv", Body=b"x")  # S3 (rest-xml) is left to moto
    assert s3.get_object(Bucket="data-bucket", Key="raw/x.csv")["Body"].read() == b"x"
    assert request_constraints.refusal("s3", "PutObject", b"{}") is None
    assert request_constraints.refusal("sagemaker", "ListTrainingJobs", '{"MaxResults": 5}') is None
    # members the model does not name are the service's own handler's business; a body that is not JSON
    # gets the protocol's own error from moto
    assert request_constraints.refusal("sagemaker", "ListTrainingJobs", '{"Unknown": 1}') is None
    assert request_constraints.refusal("sagemaker", "ListTrainingJobs", b"not json") is None
    # strings are data: a JSONPath-looking value is not a state machine field here
    assert request_constraints.refusal("stepfunctions", "StartExecution", _start("$.x")) is None


def _start(execution_input: str) -> str:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
    return json.dumps({"stateMachineArn": arn, "input": execution_input})


def test_checking_a_request_does_not_load_aws_cdk():
    """The emulator checks every request: importing aws-cdk-lib there would start a jsii kernel in each emulator."""
    code = (
        "import sys\n"
        "from sm_constructs.local.aws import request_constraints\n"
        "assert request_constraints.refusal('sagemaker', 'ListTrainingJobs', '{\"MaxResults\": 500}')\n"
        "assert request_constraints.refusal('sagemaker', 'ListTrainingJobs', '{\"CreationTimeAfter\": 1.7e9}') is None\n"
        "print(sorted(m for m in ('aws_cdk', 'constructs', 'jsii') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
