"""Approval-gated releases at synth: MlPipeline(approval=...), ModelDeployment, autoscaling, async inference.

One synthesized app for the module (``tests/apps/release``, with the four cdk-nag packs): its
requests are checked against botocore's models, its event pattern against EventBridge's matcher
(moto's), its IAM statement by statement.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from botocore.validate import validate_parameters
from iam_match import assert_allows, role_ref, sagemaker_arn, service_arn
from sfn_requests import assert_all_requests_valid, iter_states, sdk_requests, state_machines
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs import (
    AsyncInferenceConfig,
    ConstructValidationError,
    EndpointAutoscaling,
    EndpointConfigDefinition,
    EndpointDeployment,
    MlPipeline,
    ModelDefinition,
    ModelDeployment,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    SageMakerExecutionRole,
    ServerlessConfig,
)
from sm_constructs.deployment import APPROVAL_EVENT

APP = Path(__file__).parent / "apps" / "release" / "app.py"


def _release_app():
    spec = importlib.util.spec_from_file_location("release_app", APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules["release_app"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    module = _release_app()
    app = new_app(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stack = module.ReleaseStack(app, module.STACK)
    add_nag_packs(app)
    assembly = app.synth()  # raises on any unacknowledged finding of the four packs
    body = json.loads((Path(assembly.directory) / f"{module.STACK}.template.json").read_text())
    return stack, body


@pytest.fixture(scope="module")
def template(synthesized):
    return synthesized[1]


@pytest.fixture(scope="module")
def machines(template):
    return {next(iter(asl["States"])): asl for asl in state_machines(template).values()} | {
        "build": next(a for a in state_machines(template).values() if "QualityGate" in a["States"]),
        "deploy": next(a for a in state_machines(template).values() if "ReadApproval" in a["States"]),
    }


def test_cfn_lint_clean(template):
    assert cfn_lint(template) == []


def test_every_request_is_botocore_valid(template):
    operations = {r.operation.name for r in assert_all_requests_valid(template, expect_at_least=8)}
    assert {"CreateModel", "UpdateModelPackage", "DescribeModelPackage", "CreateModelPackage"} <= operations
    errors, sdk = [], sdk_requests(template)
    for request in sdk:
        try:
            validate_parameters(request.parameters, request.operation.input_shape)
        except Exception as exc:  # botocore.exceptions.ParamValidationError
            errors.append(f"{request}: {exc}")
    assert not errors, "\n".join(errors)
    assert {"RegisterScalableTarget", "PutScalingPolicy", "DeregisterScalableTarget", "ListExecutions"} <= {
        r.operation.name for r in sdk
    }


def test_auto_approval_approves_after_the_gate_and_deploys_from_the_version(machines):
    build = machines["build"]["States"]
    assert build["QualityGate"]["Default"] == "QualityGateNotMet"
    assert build["Register"]["Next"] == "Approve"
    approve = build["Approve"]
    assert approve["Resource"].endswith(":states:::aws-sdk:sagemaker:updateModelPackage")
    assert approve["Parameters"]["ModelPackageArn.$"] == "$.steps.Register.ModelPackageArn"
    assert approve["Parameters"]["ModelApprovalStatus"] == "Approved"
    assert approve["Next"] == "Model"
    model = build["Model"]["Parameters"]
    assert "PrimaryContainer" not in model
    assert model["Containers"] == [{"ModelPackageName.$": "$.steps.Register.ModelPackageArn"}]


def test_deployment_machine_stands_down_for_stale_approvals(machines):
    states = machines["deploy"]["States"]
    assert states["ReadApproval"]["Parameters"]["package"]["ModelPackageArn.$"] == "$.detail.ModelPackageArn"
    # checked when it starts and again right before the endpoint is touched
    assert states["StillCurrentStart"]["Default"] == "Superseded"
    assert states["StillCurrentBeforeEndpoint"]["Default"] == "Superseded"
    assert states["CurrentBeforeEndpoint"]["Next"] == "DeployEndpoint"
    (branch,) = states["DeployEndpoint"]["Branches"]  # the endpoint step, its failures caught in one place
    assert branch["StartAt"] == "DeployStart" and branch["States"]["DeployStart"]["Next"] == "DeployDescribe"
    assert states["DeployEndpoint"]["OutputPath"] == "$[0]"
    newest = states["NewestDeploymentStart"]
    assert newest["Parameters"] == {"StateMachineArn.$": "$$.StateMachine.Id", "MaxResults": 1}
    rule = json.dumps(states["StillCurrentStart"]["Choices"])
    assert "$.steps.ReadVersionStart.ModelApprovalStatus" in rule and "$.execution" in rule
    assert states["Model"]["Parameters"]["Containers"] == [{"ModelPackageName.$": "$.package.ModelPackageArn"}]
    # every task is caught, on itself or (lineage's Map items) on its Map: before the run's lineage into
    # <step>Error, which names the step, then the lineage (what ran, and the step the run failed at),
    # then the notification; the lineage's own catches keep a failed run's error (LineageError); after
    # the lineage (monitoring) into the notification at once
    in_maps = {
        n
        for _, st in iter_states(machines["deploy"])
        if st.get("Type") == "Map"
        for n, _ in iter_states(st["ItemProcessor"])
    }

    def caught_into(name):
        if name.startswith("Deploy"):  # its Parallel state catches every failure of the endpoint step
            return None
        if name.startswith("Lineage"):
            return "LineageError"
        if name.endswith("BeforeMonitoring") or name.startswith("Monitor"):
            return "NotifyFailure"
        for when in ("Start", "BeforeEndpoint"):
            if name in (f"ReadVersion{when}", f"NewestDeployment{when}"):
                return f"StillCurrent{when}Error"
        return f"{name}Error"

    for name, state in iter_states(machines["deploy"]):
        skipped = ("NotifyFailure", "MonitorScheduleDeleteReplaced", *in_maps)
        if state.get("Type") in ("Task", "Map", "Parallel") and name not in skipped:
            if name.startswith("Deploy"):
                assert name == "DeployEndpoint" or "NotifyFailure" not in json.dumps(state.get("Catch", [])), name
            else:
                assert caught_into(name) in {c["Next"] for c in state.get("Catch", [])}, name
    assert states["DeployEndpoint"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DeployError"}
    ]
    for step in ("StillCurrentStart", "Model", "EndpointConfig", "StillCurrentBeforeEndpoint", "Deploy"):
        assert states[f"{step}Error"] == {
            "Type": "Pass",
            "Parameters": {"Error.$": "$.error.Error", "Cause.$": "$.error.Cause", "Step": step},
            "ResultPath": "$.error",
            "Next": "LineageNames",
        }, step
    assert states["LineageRecorded"]["Choices"] == [{"Variable": "$.error", "IsPresent": True, "Next": "NotifyFailure"}]
    assert states["LineageError"]["Choices"][0]["Next"] == "NotifyFailure"
    assert states["LineageFailed"]["Next"] == "NotifyFailure"
    # deleting the job definition a release replaced is best effort: a failure skips it, the schedule is updated
    (skip,) = states["MonitorScheduleDeleteReplaced"]["Catch"]
    assert skip["ErrorEquals"] == ["States.ALL"] and skip["Next"] == "MonitorScheduleDone"


def test_autoscaling_follows_in_service_and_leaves_before_an_update(machines):
    states = dict(iter_states(machines["deploy"]))  # the endpoint's states are in its Parallel state's branch
    # an endpoint found InService (or OutOfService) is deregistered before its update
    assert states["DeployDescribe"]["Next"] == "DeployRoute"
    (to_update,) = [c for c in states["DeployRoute"]["Choices"] if c["Next"] == "DeployDeregisterScaling"]
    status = "$.steps.Deploy.Existing.EndpointStatus"
    assert to_update["And"] == [
        {"Variable": status, "IsPresent": True},
        {
            "Or": [
                {"Variable": status, "StringEquals": "InService"},
                {"Variable": status, "StringEquals": "OutOfService"},
            ]
        },
    ]
    deregister = states["DeployDeregisterScaling"]
    assert deregister["Next"] == "DeployUpdate"
    assert deregister["Catch"][0] == {
        "ErrorEquals": ["ApplicationAutoScaling.ObjectNotFoundException"],
        "ResultPath": None,
        "Next": "DeployUpdate",
    }
    assert states["DeployInService"]["Next"] == "DeployRegisterScaling"
    assert states["DeployRegisterScaling"]["Parameters"] == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/release-manual/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 2,
    }
    policy = states["DeployScalingPolicy"]["Parameters"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    # then monitoring (the release app monitors the manual deployment), then done
    assert states["DeployScalingPolicy"]["End"] is True  # its branch's end, then the deployment's lineage
    assert states["DeployEndpoint"]["Next"] == "LineageNames"
    assert states["LineageArtifacts"]["Next"] == "LineageRecorded"  # a failed run: the notification
    assert states["LineageRecorded"]["Default"] == "ReadVersionBeforeMonitoring"
    assert states["MonitorScheduleDone"]["Next"] == "Deployed"


def _event(group, status):
    return {
        "version": "0",
        "id": "1",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/1"],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 1,
            "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/1",
            "ModelApprovalStatus": status,
            "ModelPackageStatus": "Completed",
        },
    }


def test_only_approvals_of_its_group_start_the_deployment(template):
    from moto.events.models import EventPattern

    on_approval = {"EventPattern": {"detail": Match.object_like({"ModelPackageGroupName": Match.any_value()})}}
    (rule,) = [
        r["Properties"]
        for r in Template.from_json(template)
        .find_resources("AWS::Events::Rule", {"Properties": Match.object_like(on_approval)})
        .values()
    ]
    assert rule["EventPattern"]["source"] == [APPROVAL_EVENT["source"]]
    pattern = EventPattern.load(json.dumps(rule["EventPattern"]))
    assert pattern.matches_event(_event("release-manual-models", "Approved"))
    assert not pattern.matches_event(_event("release-manual-models", "Rejected"))
    assert not pattern.matches_event(_event("release-manual-models", "PendingManualApproval"))
    assert not pattern.matches_event(_event("release-auto-models", "Approved"))


def test_iam_is_scoped(template):
    t = Template.from_json(template)
    role = role_ref("ManualDeploymentStateMachineRole")
    autoscaling_condition = {
        "StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
        }
    }
    assert_allows(
        t,
        [
            "application-autoscaling:DeregisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:RegisterScalableTarget",
        ],
        service_arn("application-autoscaling", "scalable-target/*"),
        autoscaling_condition,
        roles=role,
    )
    assert_allows(
        t,
        ["iam:CreateServiceLinkedRole"],
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::",
                    {"Ref": "AWS::AccountId"},
                    ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                ],
            ]
        },
        {"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
        roles=role,
    )
    assert_allows(
        t,
        ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"],
        service_arn("cloudwatch", "alarm:TargetTracking-endpoint/release-manual/variant/*"),
        roles=role,
    )
    assert_allows(
        t, ["states:ListExecutions"], service_arn("states", "stateMachine:release-manual-deployment"), roles=role
    )
    assert_allows(
        t, ["sagemaker:DescribeModelPackage"], sagemaker_arn("model-package/release-manual-models/*"), roles=role
    )
    assert_allows(
        t,
        ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
        sagemaker_arn("model-package/release-auto-models/*"),
        roles=role_ref("AutoPipelineStateMachineRole"),
    )
    # the approval rule's role may start only its deployment machine
    t.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Targets": [
                Match.object_like({"RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^ManualDeployment"), "Arn"]}})
            ]
        },
    )


# ---- bad input ---------------------------------------------------------------------------------
@pytest.fixture
def parts():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Role")
    group = ModelPackageGroup(stack, "Group", group_name="models")
    register = ModelRegistrationDefinition(
        stack,
        "Register",
        group=group,
        image="123.dkr.ecr.us-east-1.amazonaws.com/x:1",
        model_data_url="s3://bucket/model.tar.gz",
    )
    return stack, role, group, register


def _error(excinfo):
    return str(excinfo.value)


def test_manual_approval_ends_the_build_at_registration(parts):
    stack, role, _group, register = parts
    model = ModelDefinition(stack, "Model", role=role, model_package=register)
    with pytest.raises(ConstructValidationError) as excinfo:
        MlPipeline(stack, "P", registration=register, approval="manual", model=model)
    assert "approval" in _error(excinfo) and "model" in _error(excinfo) and "ModelDeployment" in _error(excinfo)
    pipeline = MlPipeline(stack, "Ok", registration=register, approval="manual")
    states = state_machines(template_of(stack).to_json())
    assert any("Register" in asl["States"] and "Approve" not in asl["States"] for asl in states.values())
    assert pipeline.approval is None


def test_auto_approval_needs_the_gate_and_a_model_from_the_version(parts):
    stack, role, _group, register = parts
    trained = ModelDefinition(
        stack,
        "Trained",
        role=role,
        image="123.dkr.ecr.us-east-1.amazonaws.com/x:1",
        model_data_url="s3://bucket/model.tar.gz",
    )
    with pytest.raises(ConstructValidationError) as excinfo:
        MlPipeline(stack, "P", registration=register, approval="auto", model=trained)
    message = _error(excinfo)
    assert "quality_gate" in message and "model_package=" in message


def test_approval_needs_a_pending_registration(parts):
    stack, _role, group, _register = parts
    approved = ModelRegistrationDefinition(
        stack,
        "Approved",
        group=group,
        image="123.dkr.ecr.us-east-1.amazonaws.com/x:1",
        model_data_url="s3://bucket/model.tar.gz",
        approval_status="Approved",
    )
    with pytest.raises(ConstructValidationError, match=r"registration\.approval_status"):
        MlPipeline(stack, "P", registration=approved, approval="manual")
    with pytest.raises(ConstructValidationError, match="registration"):
        MlPipeline(stack, "Q", training=approved, approval="manual")


def test_model_from_a_version_excludes_image_and_artifact(parts):
    stack, role, _group, register = parts
    with pytest.raises(ConstructValidationError, match="model_package"):
        ModelDefinition(stack, "M", role=role, model_package=register, model_data_url="s3://bucket/model.tar.gz")
    with pytest.raises(ConstructValidationError, match="ModelPackageVersion"):
        ModelDefinition(stack, "N", role=role, model_package="$.detail.ModelPackageArn")


def test_autoscaling_bad_input(parts):
    stack, role, _group, _register = parts
    model = ModelDefinition(
        stack,
        "M",
        role=role,
        image="123.dkr.ecr.us-east-1.amazonaws.com/x:1",
        model_data_url="s3://bucket/model.tar.gz",
    )
    config = EndpointConfigDefinition(stack, "C", model=model)
    with pytest.raises(ConstructValidationError) as excinfo:
        EndpointDeployment(
            stack,
            "D",
            endpoint_name="e",
            config=config,
            autoscaling=EndpointAutoscaling(min_capacity=3, max_capacity=2),
        )
    assert "autoscaling.max_capacity" in _error(excinfo)
    serverless = EndpointConfigDefinition(stack, "S", model=model, serverless=ServerlessConfig())
    with pytest.raises(ConstructValidationError, match="serverless"):
        EndpointDeployment(stack, "E", endpoint_name="e", config=serverless, autoscaling=EndpointAutoscaling())


def test_custom_metric_and_async_inference_render_valid_requests(parts):
    stack, role, group, _register = parts
    key = kms.Key(stack, "Key")
    ok, failed = sns.Topic(stack, "Ok"), sns.Topic(stack, "Failed")
    ModelDeployment(
        stack,
        "Async",
        group=group,
        role=role,
        endpoint_name="async-endpoint",
        async_inference=AsyncInferenceConfig(
            "s3://bucket/async/out/",
            failure_path="s3://bucket/async/failed/",
            kms_key=key,
            success_topic=ok,
            error_topic=failed,
            max_concurrent_invocations_per_instance=4,
        ),
        autoscaling=EndpointAutoscaling(
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="ApproximateBacklogSizePerInstance",
                dimensions_map={"EndpointName": "async-endpoint"},
                statistic="avg",
            ),
            target_value=5,
            scale_in_cooldown=Duration.minutes(10),
        ),
    )
    body = template_of(stack).to_json()
    assert_all_requests_valid(body)
    for request in sdk_requests(body):
        validate_parameters(request.parameters, request.operation.input_shape)
    states = dict(iter_states(next(a for a in state_machines(body).values() if "ReadApproval" in a["States"])))
    config = states["EndpointConfig"]["Parameters"]["AsyncInferenceConfig"]
    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 4}
    assert set(config["OutputConfig"]) == {"S3OutputPath", "S3FailurePath", "KmsKeyId", "NotificationConfig"}
    tracking = states["DeployScalingPolicy"]["Parameters"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["CustomizedMetricSpecification"] == {
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
        "Dimensions": [{"Name": "EndpointName", "Value": "async-endpoint"}],
    }
    assert tracking["ScaleInCooldown"] == 600


def test_async_inference_bad_input(parts):
    stack, role, _group, register = parts
    model = ModelDefinition(stack, "M", role=role, model_package=register)
    with pytest.raises(ConstructValidationError) as excinfo:
        EndpointConfigDefinition(
            stack,
            "C",
            model=model,
            serverless=ServerlessConfig(),
            async_inference=AsyncInferenceConfig("b/out", max_concurrent_invocations_per_instance=0),
        )
    message = _error(excinfo)
    # the rendered request checked against botocore's model names the prop, then the request field
    assert "async_inference.output_path='b/out' (AsyncInferenceConfig.OutputConfig.S3OutputPath)" in message
    assert (
        "max_concurrent_invocations_per_instance=0 (AsyncInferenceConfig.ClientConfig.MaxConcurrentInvocationsPerInstance)"
        in message
    )
    assert "between 1 and 1000" in message
    assert "async_inference and serverless conflict" in message


def test_run_time_version_reference(parts):
    """A version named at run time (e.g. by an event) is accepted; a bare JSONPath string is not."""
    from sm_constructs import ModelPackageVersion

    stack, role, group, _register = parts
    version = ModelPackageVersion(group, sfn.JsonPath.string_at("$.detail.ModelPackageArn"))
    ModelDefinition(stack, "FromEvent", role=role, model_package=version)


def test_model_monitor_analyzer_image_per_region():
    """The analyzer's registry account per region comes from the SDK's model-monitor config, like other images."""
    from aws_cdk import App, Stack

    from sm_constructs import ContainerImage
    from sm_constructs.images import image_registry

    assert image_registry()["families"]["modelmonitor"]["repository"] == "sagemaker-model-monitor-analyzer"
    app = App()
    pinned = Stack(app, "Pinned", env={"region": "us-east-1", "account": "111111111111"})
    uri = pinned.resolve(ContainerImage.model_monitor().bind(pinned).image_uri)
    # the analyzer's account in us-east-1, the host in the stack's partition
    host = ["156813124566.dkr.ecr.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]
    assert uri == {"Fn::Join": ["", [*host, "/sagemaker-model-monitor-analyzer:latest"]]}
    agnostic = new_stack()
    body = json.dumps(agnostic.resolve(ContainerImage.model_monitor().bind(agnostic).image_uri))
    assert '"Fn::FindInMap"' in body and '"modelmonitor"' in body
    nowhere = Stack(app, "Nowhere", env={"region": "ap-east-2", "account": "111111111111"})
    with pytest.raises(ConstructValidationError, match="sagemaker-model-monitor-analyzer"):
        ContainerImage.model_monitor().bind(nowhere)
