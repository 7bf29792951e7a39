"""The emulator's CloudFormation deploys state machines whose definition is in S3
(``DefinitionS3Location``) or has ``DefinitionSubstitutions``, as CloudFormation does (moto in this
process, with the emulator's plug-ins)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from sm_constructs.local.aws import cloudformation

DEFINITION = {
    "StartAt": "Notify",
    "States": {
        "Notify": {
            "Type": "Task",
            "Resource": "arn:${Partition}:states:::sns:publish",
            "Parameters": {"TopicArn": "${TopicArn}", "Message": "done"},
            "End": True,
        }
    },
}


def _machine_template(key: str) -> str:
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": "from-s3",
            "RoleArn": "arn:aws:iam::123456789012:role/states",
            "DefinitionS3Location": {"Bucket": "assets", "Key": key},
            "DefinitionSubstitutions": {"Partition": {"Ref": "AWS::Partition"}, "TopicArn": {"Ref": "Topic"}},
        },
    }
    return json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Machine": machine}})


@pytest.fixture(scope="module")
def aws():
    cloudformation.install()
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="assets")
        yield session


def test_emulator_reads_the_definition_from_s3_with_substitutions(aws):
    s3, cfn, sfn = aws.client("s3"), aws.client("cloudformation"), aws.client("stepfunctions")
    s3.put_object(Bucket="assets", Key="v1.json", Body=json.dumps(DEFINITION).encode())
    cfn.create_stack(StackName="S3Definition", TemplateBody=_machine_template("v1.json"))
    (machine,) = sfn.list_state_machines()["stateMachines"]
    deployed = json.loads(sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"])
    (topic,) = aws.client("sns").list_topics()["Topics"]
    task = deployed["States"]["Notify"]
    assert task["Resource"] == "arn:aws:states:::sns:publish"
    assert task["Parameters"]["TopicArn"] == topic["TopicArn"]

    # an update (a new asset key) deploys the new definition in place
    changed = json.loads(json.dumps(DEFINITION).replace('"done"', '"changed"'))
    s3.put_object(Bucket="assets", Key="v2.json", Body=json.dumps(changed).encode())
    cfn.update_stack(StackName="S3Definition", TemplateBody=_machine_template("v2.json"))
    deployed = json.loads(sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"])
    assert deployed["States"]["Notify"]["Parameters"]["Message"] == "changed"


def test_emulator_fails_the_stack_when_the_definition_object_is_missing(aws):
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName="S3Missing", TemplateBody=_machine_template("missing.json"))
    (stack,) = cfn.describe_stacks(StackName="S3Missing")["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="S3Missing")["StackEvents"]
    ]
    assert any("s3://assets/missing.json" in r and "does not exist" in r for r in reasons), reasons
