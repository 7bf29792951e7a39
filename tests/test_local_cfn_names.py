"""Names the emulator's CloudFormation generates fit their type, as AWS's do, and the limits come from
CloudFormation's own resource schemas (those cfn-lint ships), not from this project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from moto import mock_aws

from sm_constructs.local.aws import cloudformation, request_constraints

ROOT = Path(__file__).resolve().parent.parent
STACK = "SmConstructsReferenceWithALongName"  # a long stack name and long logical IDs, as the CDK writes them
LOGICAL = "ChurnDeploymentOnApprovalDeployWhenTheRegistryApprovesA1B2C3D4"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def test_the_committed_limits_are_what_the_schemas_and_moto_give():
    # in a new interpreter: moto's list of CloudFormation models grows with what this one has imported
    script = ROOT / "scripts/refresh_cfn_name_limits.py"
    fresh = subprocess.run([sys.executable, script, "--print"], capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "sm_constructs/data/cfn_name_limits.json").read_text()
    assert committed == fresh, "run scripts/refresh_cfn_name_limits.py"
    limits = cloudformation.generated_name_limits()
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Events::Rule").schema
    assert limits["AWS::Events::Rule"] == schema["properties"]["Name"]["maxLength"]
    # Lambda's schema bounds FunctionName by its pattern only ([a-zA-Z0-9_-]{1,64})
    function = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Lambda::Function").schema
    assert (
        "maxLength" not in function["properties"]["FunctionName"]
        and "{1,64}" in function["properties"]["FunctionName"]["pattern"]
    )
    assert limits["AWS::Lambda::Function"] == 64


def test_a_cut_name_keeps_its_unique_suffix_and_no_doubled_dash():
    assert cloudformation.fit_generated_name("a-b-SUFFIX", 64) == "a-b-SUFFIX"
    assert cloudformation.fit_generated_name("a-b-SUFFIX", None) == "a-b-SUFFIX"
    cut = cloudformation.fit_generated_name(f"{STACK}-{LOGICAL}-ABCDEFGHIJKL", 64)
    assert len(cut) == 64 and cut.endswith("-ABCDEFGHIJKL") and cut.startswith(f"{STACK}-Churn")
    assert "--" not in cloudformation.fit_generated_name("ab-cd-ef-SUFFIX", len("ab-cd--SUFFIX"))


@pytest.fixture
def aws():
    cloudformation.install()
    request_constraints.install()
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def test_generated_names_fit_and_the_apis_accept_them(aws):
    resources = {
        LOGICAL: {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 day)"}},
        f"{LOGICAL}Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
    }
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps({"Resources": resources}))
    names = {
        r["ResourceType"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=STACK)["StackResources"]
    }
    rule, role = names["AWS::Events::Rule"], names["AWS::IAM::Role"]
    assert len(rule) <= 64 and len(role) <= 64 and rule.startswith(f"{STACK}-Churn"), names
    assert len(f"{STACK}-{LOGICAL}") > 64  # so moto's own name would not have fit
    # the APIs that check RuleName and RoleName take them
    assert aws.client("events").list_targets_by_rule(Rule=rule)["Targets"] == []
    assert aws.client("iam").get_role(RoleName=role)["Role"]["RoleName"] == role


def test_a_resource_moto_cannot_create_is_listed_with_its_logical_id_type_and_why(aws):
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "MetricName": "ExecutionsFailed",
            "Namespace": "AWS/States",
            "Period": 300,
            "Statistic": "Sum",
            "Threshold": 0,
        },
    }
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "FailedAlarm": alarm}}
    cfn = aws.client("cloudformation")
    with pytest.warns(UserWarning, match="AWS::CloudWatch::Alarm"):
        cfn.create_stack(StackName="Listed", TemplateBody=json.dumps(template))
    described = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName="Listed")["StackResources"]}
    assert {k: r["ResourceType"] for k, r in described.items()} == {
        "Topic": "AWS::SNS::Topic",
        "FailedAlarm": "AWS::CloudWatch::Alarm",
    }
    assert described["Topic"]["PhysicalResourceId"].startswith("arn:aws:sns:")
    assert "PhysicalResourceId" not in described["FailedAlarm"]
    assert "moto has no AWS::CloudWatch::Alarm" in described["FailedAlarm"]["ResourceStatusReason"]
    (one,) = cfn.describe_stack_resources(StackName="Listed", LogicalResourceId="FailedAlarm")["StackResources"]
    assert one["ResourceType"] == "AWS::CloudWatch::Alarm"
    for logical in ("Topic", "FailedAlarm"):  # one by one, the skipped one before or after
        detail = cfn.describe_stack_resource(StackName="Listed", LogicalResourceId=logical)["StackResourceDetail"]
        assert detail["ResourceType"] == described[logical]["ResourceType"]
    with pytest.raises(ClientError, match="Resource Nothing does not exist for stack Listed"):
        cfn.describe_stack_resource(StackName="Listed", LogicalResourceId="Nothing")
    summaries = cfn.list_stack_resources(StackName="Listed")["StackResourceSummaries"]
    assert {r["LogicalResourceId"]: r["ResourceType"] for r in summaries} == {
        k: r["ResourceType"] for k, r in described.items()
    }
    (skipped,) = [r for r in summaries if "PhysicalResourceId" not in r]
    assert skipped["ResourceStatusReason"] == described["FailedAlarm"]["ResourceStatusReason"]
