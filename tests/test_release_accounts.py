"""Releases across accounts (examples/multi-account): the build, staging and production stacks.

One synthesized app for the module (the example's ``build``), checked with aws_cdk.assertions, the
four cdk-nag packs and SageMakerChecks.
"""

from __future__ import annotations

import importlib
import json
import sys

import pytest
from aws_cdk.assertions import Match, Template
from support import ROOT, add_nag_packs, new_app, sagemaker_findings

from sm_constructs import ReleaseAccounts, StageEnvironment
from sm_constructs._validation import ConstructValidationError

EXAMPLE = ROOT / "examples" / "multi-account"
CONTEXT = json.loads((EXAMPLE / "cdk.json").read_text())["context"]
BUILD, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"
TAG = "aws:PrincipalTag/sm-constructs:release-reader"


def _example(module: str):
    sys.path.insert(0, str(EXAMPLE))
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture(scope="module")
def release():
    app = new_app(**CONTEXT)
    _example("app").build(app)
    add_nag_packs(app)
    assembly = app.synth()  # raises on any unacknowledged cdk-nag finding (four packs)
    stacks = {name: Template.from_json(assembly.get_stack_by_name(name).template) for name in
              ("ChurnBuild", "ChurnStaging", "ChurnProduction")}  # fmt: skip
    return app, stacks


def test_sagemaker_checks_are_clean(release):
    app, _ = release
    assert sagemaker_findings(app) == {}


def test_group_policy_shares_reading_with_both_targets_and_recording_with_staging(release):
    _, stacks = release
    (group,) = stacks["ChurnBuild"].find_resources("AWS::SageMaker::ModelPackageGroup").values()
    policy = group["Properties"]["ModelPackageGroupPolicy"]
    read, record = policy["Statement"]
    assert read["Action"] == [
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
    ]
    assert read["Condition"]["StringEquals"] == {"aws:PrincipalAccount": [STAGING, PRODUCTION], TAG: "true"}
    assert record["Action"] == "sagemaker:UpdateModelPackage"
    assert record["Condition"]["StringEquals"] == {"aws:PrincipalAccount": [STAGING], TAG: "true"}
    for statement in (read, record):
        assert "*" not in json.dumps(statement["Principal"])


def test_bucket_and_key_policies_let_target_readers_read_released_artifacts_only(release):
    _, stacks = release
    build = stacks["ChurnBuild"]
    build.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "ReleaseReadArtifacts",
                                "Action": "s3:GetObject",
                                "Condition": {
                                    "StringEquals": {"aws:PrincipalAccount": [STAGING, PRODUCTION], TAG: "true"}
                                },
                                "Resource": {"Fn::Join": ["", [Match.any_value(), "/models/*"]]},
                            }
                        )
                    ]
                )
            }
        },
    )
    keys = [
        k for k in build.find_resources("AWS::KMS::Key").values() if "ReleaseDecryptArtifactsThroughS3" in json.dumps(k)
    ]
    (key,) = keys
    (shared,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "ReleaseDecryptArtifactsThroughS3"
    ]
    assert shared["Action"] == "kms:Decrypt"  # no kms:CreateGrant: grants stay for AWS resources (CT.KMS.PR.3)
    assert shared["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }


def test_approval_events_are_forwarded_to_both_target_buses(release):
    _, stacks = release
    build = stacks["ChurnBuild"]
    (rule,) = build.find_resources("AWS::Events::Rule").values()
    arns = json.dumps([t["Arn"] for t in rule["Properties"]["Targets"]])
    assert f":events:us-east-1:{STAGING}:event-bus/default" in arns
    assert f":events:us-east-1:{PRODUCTION}:event-bus/default" in arns
    assert rule["Properties"]["EventPattern"]["detail"] == {"ModelPackageGroupName": ["churn-models"]}
    for name in ("ChurnStaging", "ChurnProduction"):
        stacks[name].has_resource_properties(
            "AWS::Events::EventBusPolicy",
            {
                "EventBusName": "default",
                "Statement": Match.object_like(
                    {
                        "Action": ["events:PutEvents"],
                        "Condition": {
                            "StringEquals": {
                                "aws:PrincipalAccount": BUILD,
                                "events:source": "aws.sagemaker",
                                "events:detail-type": "SageMaker Model Package State Change",
                            }
                        },
                    }
                ),
            },
        )


def _definition(template: Template) -> dict:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    text = (
        "".join(p if isinstance(p, str) else "<ref>" for p in body["Fn::Join"][1]) if isinstance(body, dict) else body
    )
    return json.loads(text)


def test_staging_smoke_tests_and_records_and_production_is_gated(release):
    _, stacks = release
    staging, production = _definition(stacks["ChurnStaging"]), _definition(stacks["ChurnProduction"])
    smoke = staging["States"]["SmokeTest"]
    assert smoke["Resource"].endswith(":states:::aws-sdk:sagemakerruntime:invokeEndpoint")
    assert smoke["Parameters"]["EndpointName"] == "churn-staging"
    assert staging["States"]["RecordSmokeTestPassed"]["Parameters"]["CustomerMetadataProperties"] == {
        "SmokeTest": "Passed"
    }
    assert "Promoted" not in staging["States"]
    gate = production["States"]["Promoted"]
    assert json.dumps(gate).count("StringEquals") == 2
    assert "SmokeTest" not in production["States"]
    assert production["StartAt"] == "ReadApproval" and production["States"]["ReadApproval"]["Next"] == "ReadPromotion"


def test_target_roles_read_the_build_accounts_versions_and_artifacts(release):
    _, stacks = release
    text = json.dumps(stacks["ChurnStaging"].to_json())
    assert f"arn:aws:sagemaker:us-east-1:{BUILD}:model-package/churn-models/*" in text.replace(
        '{"Ref": "AWS::Partition"}', "aws"
    ).replace('", "', "")
    roles = stacks["ChurnStaging"].find_resources("AWS::IAM::Role")
    tagged = [
        r
        for r in roles.values()
        if {"Key": "sm-constructs:release-reader", "Value": "true"} in r["Properties"].get("Tags", [])
    ]
    assert len(tagged) == 2  # the model's execution role and the deployment's state machine role


def test_accounts_from_context_are_checked():
    app = new_app(
        **{
            "sm-constructs:release": {
                "build": {"account": "1", "region": "us-east-1"},
                "staging": {"account": "1", "region": "x"},
            }
        }
    )
    with pytest.raises(ConstructValidationError) as error:
        ReleaseAccounts.from_context(app)
    assert "staging" in str(error.value) or "production" in str(error.value)
    same = ReleaseAccounts(
        StageEnvironment(BUILD, "us-east-1"),
        StageEnvironment(BUILD, "us-east-1"),
        StageEnvironment(PRODUCTION, "us-east-1"),
    )
    from support import new_stack

    from sm_constructs import MlDataBucket, ModelPackageGroup, ReleaseSource

    stack = new_stack()
    with pytest.raises(ConstructValidationError, match="is the build account"):
        ReleaseSource(
            stack,
            "Release",
            accounts=same,
            group=ModelPackageGroup(stack, "G", group_name="g"),
            artifacts=MlDataBucket(stack, "A"),
        )


def test_pipeline_deploys_the_stages_with_a_manual_promotion():
    """The CDK Pipelines app (``-c pipeline=true``), built but not synthesized (synth is the slow part)."""
    app = new_app(**CONTEXT, pipeline=True)
    _example("app").build(app)
    codepipeline = app.node.find_child("ChurnReleasePipeline").pipeline
    codepipeline.build_pipeline()
    stages = {stage.stage_name: stage for stage in codepipeline.pipeline.stages}
    assert list(stages) == ["Source", "Build", "UpdatePipeline", "Registry", "Staging", "Production"]
    production = [action.action_properties for action in stages["Production"].actions]
    assert [(a.action_name, a.category.value) for a in production][0] == ("PromoteToProduction", "APPROVAL")
    pipeline_stack = app.node.find_child("ChurnReleasePipeline")
    for stage, account in (("Registry", BUILD), ("Staging", STAGING), ("Production", PRODUCTION)):
        assert [a.category.value for a in (x.action_properties for x in stages[stage].actions)][-1] == "DEPLOY"
        assert pipeline_stack.node.find_child(stage).account == account  # deployed into its own account
