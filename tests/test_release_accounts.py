"""Releases across accounts (examples/multi-account): the build, staging and production stacks.

One synthesized app for the module (the example's ``build``), checked with aws_cdk.assertions, the
four cdk-nag packs and SageMakerChecks.
"""

from __future__ import annotations

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
    """A module of the example, loaded from its file (the repository's own ``app.py`` is also ``app``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"multi_account_{module}", EXAMPLE / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(EXAMPLE))  # for the example's own imports (release_stacks, release_pipeline)
    try:
        spec.loader.exec_module(loaded)
    finally:
        sys.path.remove(str(EXAMPLE))
    return loaded


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
    through_s3 = Match.object_like({"Sid": "ReleaseDecryptArtifactsThroughS3"})
    keys = list(
        build.find_resources(
            "AWS::KMS::Key",
            {"Properties": {"KeyPolicy": Match.object_like({"Statement": Match.array_with([through_s3])})}},
        ).values()
    )
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
    assert (production[0].action_name, production[0].category.value) == ("PromoteToProduction", "APPROVAL")
    pipeline_stack = app.node.find_child("ChurnReleasePipeline")
    for stage, account in (("Registry", BUILD), ("Staging", STAGING), ("Production", PRODUCTION)):
        assert [a.category.value for a in (x.action_properties for x in stages[stage].actions)][-1] == "DEPLOY"
        assert pipeline_stack.node.find_child(stage).account == account  # deployed into its own account


# -- the release's cross-account calls, decided by the emulator's IAM evaluator on the synthesized policies --
REGION = "us-east-1"
ACCOUNT_OF = {"ChurnBuild": BUILD, "ChurnStaging": STAGING, "ChurnProduction": PRODUCTION}
BUCKET = "churn-artifacts-111111111111-us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{BUILD}:key/0000aaaa-1111-2222-3333-444455556666"
VERSION = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/churn-models/3"
ARTIFACT = f"arn:aws:s3:::{BUCKET}/models/churn-train-3/output/model.tar.gz"


class Deployed:
    """A stack's template as CloudFormation would deploy it into its account (physical ids made up)."""

    def __init__(self, name: str, template: dict) -> None:
        self.account = ACCOUNT_OF[name]
        self.resources = template["Resources"]

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": self.account}
            return pseudo[node["Ref"]] if node["Ref"] in pseudo else self.physical(node["Ref"])
        if set(node) == {"Fn::Join"}:
            delimiter, parts = node["Fn::Join"]
            return delimiter.join(str(self.resolve(p)) for p in parts)
        if set(node) == {"Fn::GetAtt"}:
            return self.arn(node["Fn::GetAtt"][0])
        return {k: self.resolve(v) for k, v in node.items()}

    def physical(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        if kind == "AWS::S3::Bucket":
            return self.arn(logical).split(":::", 1)[1]
        return KEY_ARN if kind == "AWS::KMS::Key" else self.arn(logical)

    def arn(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.account}:role/{logical}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{self.account}:policy/{logical}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{BUCKET}" if logical.startswith("DataBucket") else f"arn:aws:s3:::{logical.lower()}"
        if kind == "AWS::KMS::Key":
            return KEY_ARN
        return f"arn:aws:cloudformation:{REGION}:{self.account}:{logical}"

    def of_type(self, kind: str) -> dict:
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    def role(self, prefix: str) -> str:
        (logical,) = [k for k in self.of_type("AWS::IAM::Role") if k.startswith(prefix)]
        return logical

    def identity_policies(self, role: str) -> list[dict]:
        documents = [p["PolicyDocument"] for p in self.resources[role]["Properties"].get("Policies", [])]
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in self.of_type(kind).values():
                if {"Ref": role} in policy["Properties"].get("Roles", []):
                    documents.append(policy["Properties"]["PolicyDocument"])
        for arn in self.resources[role]["Properties"].get("ManagedPolicyArns", []):
            if isinstance(arn, dict) and "Ref" in arn:
                documents.append(self.resources[arn["Ref"]]["Properties"]["PolicyDocument"])
        return [self.resolve(d) for d in documents]

    def tags(self, role: str) -> dict:
        return {t["Key"]: t["Value"] for t in self.resources[role]["Properties"].get("Tags", [])}


@pytest.fixture(scope="module")
def deployed(release):
    _, stacks = release
    return {name: Deployed(name, stacks[name].to_json()) for name in ACCOUNT_OF}


def _sids(properties: dict) -> set[str]:
    """The statement ids of a bucket policy's or a key's policy document."""
    document = properties.get("PolicyDocument") or properties.get("KeyPolicy") or {}
    return {s.get("Sid") for s in document.get("Statement", [])}


def _resource_policies(deployed) -> dict[str, dict]:
    build = deployed["ChurnBuild"]
    (group,) = build.of_type("AWS::SageMaker::ModelPackageGroup").values()
    (bucket_policy,) = [
        p for p in build.of_type("AWS::S3::BucketPolicy").values() if "ReleaseReadArtifacts" in _sids(p["Properties"])
    ]
    (key,) = [
        k
        for k in build.of_type("AWS::KMS::Key").values()
        if "ReleaseDecryptArtifactsThroughS3" in _sids(k["Properties"])
    ]
    buses = {}
    for name in ("ChurnStaging", "ChurnProduction"):
        (bus,) = deployed[name].of_type("AWS::Events::EventBusPolicy").values()
        buses[name] = {"Version": "2012-10-17", "Statement": [deployed[name].resolve(bus["Properties"]["Statement"])]}
    return {
        "registry policy": build.resolve(group["Properties"]["ModelPackageGroupPolicy"]),
        "bucket policy": build.resolve(bucket_policy["Properties"]["PolicyDocument"]),
        "key policy": build.resolve(key["Properties"]["KeyPolicy"]),
        "staging event bus policy": buses["ChurnStaging"],
        "production event bus policy": buses["ChurnProduction"],
    }


def _steps(deployed):
    """(step, caller stack, caller role prefix, action, resource, resource owner, owner's policy, extra context)."""
    bus = "arn:aws:events:us-east-1:{}:event-bus/default"
    event = {"events:source": "aws.sagemaker", "events:detail-type": "SageMaker Model Package State Change"}
    via_s3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    return [
        ("approval event to staging", "ChurnBuild", "ReleaseForwardRole", "events:PutEvents", bus.format(STAGING), STAGING, "staging event bus policy", event),
        ("staging reads the version", "ChurnStaging", "DeploymentStateMachineRole", "sagemaker:DescribeModelPackage", VERSION, BUILD, "registry policy", {}),
        ("staging's model reads the artifact", "ChurnStaging", "ModelRole", "s3:GetObject", ARTIFACT, BUILD, "bucket policy", {}),
        ("staging's model decrypts it through S3", "ChurnStaging", "ModelRole", "kms:Decrypt", KEY_ARN, BUILD, "key policy", via_s3),
        ("staging records the smoke test", "ChurnStaging", "DeploymentStateMachineRole", "sagemaker:UpdateModelPackage", VERSION, BUILD, "registry policy", {}),
        ("promotion event to production", "ChurnBuild", "ReleaseForwardRole", "events:PutEvents", bus.format(PRODUCTION), PRODUCTION, "production event bus policy", event),
        ("production reads the version", "ChurnProduction", "DeploymentStateMachineRole", "sagemaker:DescribeModelPackage", VERSION, BUILD, "registry policy", {}),
        ("production's model reads the artifact", "ChurnProduction", "ModelRole", "s3:GetObject", ARTIFACT, BUILD, "bucket policy", {}),
        ("production's model decrypts it through S3", "ChurnProduction", "ModelRole", "kms:Decrypt", KEY_ARN, BUILD, "key policy", via_s3),
    ]  # fmt: skip


def _decide(deployed, policies, step):
    from sm_constructs.local.iam.policy import Request, authorize

    _, stack, prefix, action, resource, owner, policy_name, extra = step
    caller = deployed[stack]
    role = caller.role(prefix)
    context = {
        "aws:PrincipalArn": caller.arn(role),
        "aws:PrincipalAccount": caller.account,
        **{f"aws:PrincipalTag/{k}": v for k, v in caller.tags(role).items()},
        **extra,
    }
    request = Request(caller.arn(role), action, resource, context, session="release")
    outcome = authorize(
        request,
        caller.identity_policies(role),
        policies[policy_name],
        key_policy=action.startswith("kms:"),
        resource_account=owner,
    )
    return request, outcome


def test_every_cross_account_step_of_a_release_is_allowed(deployed):
    policies = _resource_policies(deployed)
    for step in _steps(deployed):
        request, outcome = _decide(deployed, policies, step)
        assert outcome.allowed, f"{step[0]}: {outcome.message(request)}"


def test_production_cannot_record_a_staging_result(deployed):
    policies = _resource_policies(deployed)
    step = (
        "",
        "ChurnProduction",
        "DeploymentStateMachineRole",
        "sagemaker:UpdateModelPackage",
        VERSION,
        BUILD,
        "registry policy",
        {},
    )
    request, outcome = _decide(deployed, policies, step)
    assert outcome.message(request).endswith(
        "because no resource-based policy allows the sagemaker:UpdateModelPackage action"
    )


@pytest.mark.parametrize(
    ("removed", "sid_or_index"),
    [
        pytest.param("registry policy", "ReleaseRead", id="registry policy"),
        pytest.param("bucket policy", "ReleaseReadArtifacts", id="bucket policy"),
        pytest.param("key policy", "ReleaseDecryptArtifactsThroughS3", id="key policy"),
        pytest.param("staging event bus policy", 0, id="event bus policy"),
    ],
)
def test_without_one_cross_account_grant_aws_denies_that_step(deployed, removed, sid_or_index):
    """Each grant is needed: without it the step that uses it is denied, in AWS's words."""
    policies = _resource_policies(deployed)
    statements = policies[removed]["Statement"]
    policies[removed] = {
        **policies[removed],
        "Statement": [
            s
            for i, s in enumerate(statements)
            if (s.get("Sid") if isinstance(sid_or_index, str) else i) != sid_or_index
        ],
    }
    denied = []
    for step in _steps(deployed):
        request, outcome = _decide(deployed, policies, step)
        if not outcome.allowed:
            denied.append((step[0], outcome.message(request)))
            assert step[6] == removed, step[0]  # the step that uses the removed grant, no other
            assert outcome.reason == f"because no resource-based policy allows the {request.action} action"
            assert outcome.message(request).startswith(f"User: arn:aws:sts::{ACCOUNT_OF[step[1]]}:assumed-role/")
    expected = {
        s[0]
        for s in _steps(deployed)
        if s[6] == removed and not (removed == "registry policy" and s[3] == "sagemaker:UpdateModelPackage")
    }
    assert {name for name, _ in denied} == expected
