"""Every grant_* returns one iam.Grant covering all it granted; metric_* helpers beside the alarms."""

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Match
from iam_match import assert_grants, role_ref
from support import new_stack, template_of

from sm_constructs import (
    ContainerImage,
    MlPipeline,
    MlStateMachine,
    NotebookInstance,
    SageMakerExecutionRole,
    TrainingDefinition,
)
from sm_constructs._validation import ConstructValidationError
from sm_constructs.storage import MlDataBucket


def _actions(grant: iam.Grant) -> set[str]:
    assert grant.success
    return {a for s in grant.principal_statements for a in s.actions}


def test_ecr_pull_grant_includes_the_authorization_token():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    grant = role.grant_ecr_pull("arn:aws:ecr:us-east-1:123456789012:repository/a")
    assert _actions(grant) == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    }
    # A second repository: its own grant still covers the (shared) token statement.
    other = role.grant_ecr_pull("arn:aws:ecr:us-east-1:123456789012:repository/b")
    assert "ecr:GetAuthorizationToken" in _actions(other)


def test_key_grant_includes_create_grant():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    grant = role.grant_key(kms.Key(stack, "Key", enable_key_rotation=True))
    actions = _actions(grant)
    assert "kms:CreateGrant" in actions and {"kms:Decrypt", "kms:Encrypt"} <= actions
    assert role.grant_key(kms.Key.from_key_arn(stack, "K2", "arn:aws:kms:us-east-1:123456789012:key/x")).success


def test_vpc_access_returns_its_grant_once():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    grant = role.allow_vpc_access()
    assert "ec2:CreateNetworkInterface" in _actions(grant)
    assert role.allow_vpc_access() is grant


def test_image_pull_grant_for_any_role_and_for_a_uri():
    stack = new_stack()
    role = iam.Role(stack, "Plain", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    grant = ContainerImage.xgboost().grant_pull(stack, role)
    assert _actions(grant) == {
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    }
    nothing = ContainerImage.from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1").grant_pull(stack, role)
    assert not nothing.success and nothing.principal_statements == []  # a dropped grant: nothing was granted


@pytest.fixture(scope="module")
def pipeline_stack():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    train = TrainingDefinition(stack, "Train", role=role, output_path="s3://bucket-a/models", name_prefix="t")
    pipeline = MlPipeline(stack, "Pipeline", training=train)
    notebook = NotebookInstance(stack, "Notebook", data_bucket=MlDataBucket(stack, "Data"), execution_role=role)
    return stack, pipeline, train, notebook


def test_start_grants_cover_start_and_read(pipeline_stack):
    stack, pipeline, _, notebook = pipeline_stack
    starter = iam.Role(stack, "Starter", assumed_by=iam.AccountRootPrincipal())
    # aws-cdk's StateMachine.grant_read returns only the last of its statements; the start grant
    # combines that with the StartExecution grant.
    for grant in (pipeline.grant_start_execution(starter), pipeline.grant_start_execution(notebook)):
        assert {"states:StartExecution", "states:DescribeStateMachine"} <= _actions(grant)


def test_notebook_start_grant_is_scoped_to_the_pipeline(pipeline_stack):
    stack, pipeline, _, notebook = pipeline_stack
    pipeline.grant_start_execution(notebook)
    assert_grants(
        template_of(stack),
        ["states:DescribeStateMachine", "states:ListExecutions", "states:StartExecution"],
        roles=role_ref("NotebookRole"),
        resources={"Ref": stack.resolve(stack.get_logical_id(pipeline.state_machine.resource.node.default_child))},
    )


def test_execution_metrics(pipeline_stack):
    stack, pipeline, _, _ = pipeline_stack
    arn = stack.resolve(pipeline.state_machine_arn)
    for method, name, statistic in (
        (pipeline.metric_failed, "ExecutionsFailed", "Sum"),
        (pipeline.metric_timed_out, "ExecutionsTimedOut", "Sum"),
        (pipeline.metric_succeeded, "ExecutionsSucceeded", "Sum"),
        (pipeline.metric_started, "ExecutionsStarted", "Sum"),
        (pipeline.metric_time, "ExecutionTime", "Average"),
    ):
        metric = method()
        assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/States", name, statistic)
        assert stack.resolve(metric.dimensions)["StateMachineArn"] == arn
    assert pipeline.metric_failed(period=Duration.hours(1)).period.to_seconds() == 3600
    assert pipeline.state_machine.metric("ExecutionsAborted").metric_name == "ExecutionsAborted"


def test_job_duration_metric(pipeline_stack):
    stack, pipeline, train, _ = pipeline_stack
    metric = pipeline.metric_job_duration(train)
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "AWS/States",
        "ServiceIntegrationRunTime",
        "Average",
    )
    dimension = stack.resolve(metric.dimensions)["ServiceIntegrationResourceArn"]
    assert dimension == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":states:::sagemaker:createTrainingJob.sync"]]
    }
    assert pipeline.metric_job_duration(train, statistic="p90").statistic == "p90"


def test_job_duration_metric_is_only_for_own_steps(pipeline_stack):
    stack, pipeline, _, _ = pipeline_stack
    role = iam.Role(stack, "Other", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    stranger = TrainingDefinition(stack, "Stranger", role=role, output_path="s3://bucket-a/m", name_prefix="s")
    with pytest.raises(ConstructValidationError, match=r"metric_job_duration.*is not a step of this pipeline"):
        pipeline.metric_job_duration(stranger)


def test_metrics_make_valid_alarms():
    stack = new_stack()
    sm = MlStateMachine(stack, "SM", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    cloudwatch.Alarm(stack, "Slow", metric=sm.metric_time(), threshold=60_000, evaluation_periods=1)
    template_of(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "ExecutionTime", "Namespace": "AWS/States", "Statistic": "Average", "Period": 300},
    )


def test_ml_state_machine_is_an_istatemachine():
    """aws-cdk's own consumers take an MlStateMachine as they take an sfn.StateMachine."""
    stack = new_stack()
    sm = MlStateMachine(stack, "SM", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    rule = events.Rule(stack, "Nightly", schedule=events.Schedule.rate(Duration.days(1)))
    rule.add_target(events_targets.SfnStateMachine(sm))
    caller = sfn.StateMachine(
        stack,
        "Caller",
        definition_body=sfn.DefinitionBody.from_chainable(
            tasks.StepFunctionsStartExecution(stack, "Run", state_machine=sm)
        ),
    )
    starter = iam.Role(stack, "Starter", assumed_by=iam.AccountRootPrincipal())
    assert _actions(sm.grant_start_execution(starter)) == {"states:StartExecution"}
    assert {"states:StartExecution", "states:DescribeStateMachine"} <= _actions(sm.grant_start_and_read(starter))
    template = template_of(stack)
    machine = {"Ref": stack.resolve(stack.get_logical_id(sm.resource.node.default_child))}
    template.has_resource_properties("AWS::Events::Rule", {"Targets": [Match.object_like({"Arn": machine})]})
    assert sm.state_machine_arn == sm.resource.state_machine_arn and sm.grant_principal is sm.resource.role
    caller_role = [{"Ref": stack.resolve(stack.get_logical_id(caller.role.node.default_child))}]
    assert_grants(template, ["states:StartExecution"], machine, policy_type="AWS::IAM::Policy", roles=caller_role)
