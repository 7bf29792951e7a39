"""Data-quality monitoring: baseline job, registered baseline, job definition and schedule per release, alarms.

One synthesized app for the module (with the four cdk-nag packs and SageMakerChecks): its requests are
checked against botocore's model, its IAM statement by statement, its template with cfn-lint.
"""

from __future__ import annotations

import json

import pytest
from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match
from botocore.validate import validate_parameters
from iam_match import assert_grants, sagemaker_arn
from sfn_requests import assert_all_requests_valid, sdk_requests, state_machines
from support import add_nag_packs, cfn_lint, new_app, new_stack, sagemaker_findings, template_of

from sm_constructs import (
    ClusterConfig,
    ConstructValidationError,
    ContainerImage,
    DataCapture,
    DataQualityBaselineDefinition,
    DataQualityJobDefinition,
    DataQualityMonitor,
    MlDataBucket,
    MlStateMachine,
    ModelDeployment,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    MonitoringScheduleDefinition,
    NetworkConfig,
    SageMakerExecutionRole,
    TrainingChannel,
    TrainingDefinition,
)
from sm_constructs.jobs import add_default_retry
from sm_constructs.jobs.monitoring import DATA_METRICS_NAMESPACE


def _stack():
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    return app, stack, data, role


@pytest.fixture(scope="module")
def synthesized():
    app, stack, data, role = _stack()
    baseline = DataQualityBaselineDefinition(
        stack,
        "Baseline",
        role=role,
        dataset_uri=data.s3_uri("processed/latest/train/"),
        output_uri=sfn.JsonPath.format(
            "s3://{}/monitoring/baseline/{}/", data.bucket_name, sfn.JsonPath.execution_name
        ),
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
        network=NetworkConfig(enable_network_isolation=True),
        name_prefix="churn-baseline",
    )
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        image=ContainerImage.xgboost(),
        output_path=data.s3_uri("models/"),
        channels=[TrainingChannel("train", data.s3_uri("processed/latest/train/"))],
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(volume_kms_key=data.encryption_key),
        network=NetworkConfig(enable_network_isolation=True),
    )
    group = ModelPackageGroup(stack, "Group", group_name="churn-models")
    register = ModelRegistrationDefinition(
        stack, "Register", group=group, training=train, data_quality_baseline=baseline
    )
    tasks = [baseline.task(), train.task(), register.task()]
    for task in tasks:
        add_default_retry(task)
    chain = sfn.Chain.start(tasks[0]).next(tasks[1]).next(tasks[2])
    MlStateMachine(stack, "Build", definition_body=sfn.DefinitionBody.from_chainable(chain))
    deployment = ModelDeployment(
        stack,
        "Deployment",
        group=group,
        role=role,
        endpoint_name="churn",
        data_capture=DataCapture(data.s3_uri("data-capture/"), kms_key=data.encryption_key),
        kms_key=data.encryption_key,
        network=NetworkConfig(enable_network_isolation=True),
        monitoring=DataQualityMonitor(
            output_uri=data.s3_uri("monitoring/reports/"),
            output_kms_key=data.encryption_key,
            cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
            frequency="hourly",
            alarm_features=["_c1", "_c2"],
        ),
        state_machine_name="churn-deployment",
    )
    add_nag_packs(app)
    findings = sagemaker_findings(app)
    template = template_of(stack)
    return stack, template, deployment, baseline, findings


def _states(template):
    out = {}
    for asl in state_machines(template.to_json()).values():
        out.update(asl["States"])
    return out


def test_cfn_lint_and_sagemaker_checks_clean(synthesized):
    _, template, _, _, findings = synthesized
    assert cfn_lint(template.to_json()) == []
    # the hand-made build chain has no Catch; the deployment has every rule met
    assert not {k: v for k, v in findings.items() if not k.startswith("SageMaker-JobCatch[")}, findings


def test_every_request_is_botocore_valid(synthesized):
    _, template, *_ = synthesized
    ops = {r.operation.name for r in assert_all_requests_valid(template.to_json(), expect_at_least=8)}
    assert {"CreateProcessingJob", "CreateModelPackage", "CreateDataQualityJobDefinition"} <= ops
    assert {"CreateMonitoringSchedule", "UpdateMonitoringSchedule", "DescribeModelPackage"} <= ops
    assert {"DescribeMonitoringSchedule", "DeleteDataQualityJobDefinition"} <= ops
    for request in sdk_requests(template.to_json()):
        validate_parameters(request.parameters, request.operation.input_shape)


def test_baseline_runs_the_analyzer_as_the_sdk_does(synthesized):
    _, template, _, _baseline, _ = synthesized
    request = _states(template)["Baseline"]["Parameters"]
    app = request["AppSpecification"]
    assert "sagemaker-model-monitor-analyzer" in json.dumps(app["ImageUri"])
    assert "ContainerEntrypoint" not in app  # the image's own program
    env = request["Environment"]
    assert json.loads(env["dataset_format"]) == {"csv": {"header": False, "output_columns_position": "START"}}
    assert env["dataset_source"] == "/opt/ml/processing/input/baseline_dataset_input"
    assert env["output_path"] == "/opt/ml/processing/output"
    assert env["publish_cloudwatch_metrics"] == "Disabled"
    (source,) = request["ProcessingInputs"]
    assert source["InputName"] == "baseline_dataset_input"
    assert source["S3Input"]["LocalPath"] == "/opt/ml/processing/input/baseline_dataset_input"
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output"
    assert "KmsKeyId" in request["ProcessingOutputConfig"]
    assert "VolumeKmsKeyId" in request["ProcessingResources"]["ClusterConfig"]
    assert request["NetworkConfig"]["EnableNetworkIsolation"] is True


def test_the_version_carries_the_baseline(synthesized):
    _, template, *_ = synthesized
    drift = _states(template)["Register"]["Parameters"]["DriftCheckBaselines"]["ModelDataQuality"]
    # a per-run output is read from the job's result, so a cached baseline's location is registered
    assert drift["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri.$": "States.Format('{}statistics.json', $.steps.Baseline.Outputs[0])",
    }
    assert drift["Constraints"]["S3Uri.$"] == "States.Format('{}constraints.json', $.steps.Baseline.Outputs[0])"


def test_each_release_points_the_schedule_at_its_baseline(synthesized):
    _, template, *_ = synthesized
    s = _states(template)
    assert s["CurrentBeforeMonitoring"]["Next"] == "MonitorBaseline"
    assert s["MonitorBaseline"]["Resource"].endswith(":states:::aws-sdk:sagemaker:describeModelPackage")
    assert "ResultSelector" not in s["MonitorBaseline"]  # an absent baseline must not fail the read
    choice = s["BaselineRegistered"]
    assert choice["Choices"][0]["Next"] == "MonitorJobDefinition"
    assert choice["Default"] == "MonitoringBaselineMissing"
    assert "data_quality_baseline" in s["MonitoringBaselineMissing"]["Cause"]
    job = s["MonitorJobDefinition"]["Parameters"]
    baseline = "$.steps.MonitorBaseline.DriftCheckBaselines.ModelDataQuality"
    assert job["DataQualityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri.$": f"{baseline}.Constraints.S3Uri"},
        "StatisticsResource": {"S3Uri.$": f"{baseline}.Statistics.S3Uri"},
    }
    assert job["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "churn"
    assert job["DataQualityAppSpecification"]["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert "KmsKeyId" in job["DataQualityJobOutputConfig"]
    assert "VolumeKmsKeyId" in job["JobResources"]["ClusterConfig"]
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert s["MonitorJobDefinition"]["Next"] == "MonitorScheduleRead"
    read = s["MonitorScheduleRead"]
    assert read["Resource"].endswith(":states:::aws-sdk:sagemaker:describeMonitoringSchedule")
    assert read["Next"] == "MonitorScheduleUpdate"
    assert read["Catch"][0] == {
        "ErrorEquals": ["SageMaker.ResourceNotFoundException"],
        "ResultPath": None,
        "Next": "MonitorScheduleCreate",
    }
    update = s["MonitorScheduleUpdate"]
    assert update["Parameters"]["MonitoringScheduleConfig"] == {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName.$": "$.steps.MonitorJobDefinition.JobDefinitionName",
        "MonitoringType": "DataQuality",
    }
    not_found = update["Catch"][0]
    assert not_found["ErrorEquals"] == ["SageMaker.ResourceNotFoundException"]
    assert not_found["Next"] == "MonitorScheduleCreate"
    assert update["Next"] == "MonitorScheduleReplaced"
    assert s["MonitorScheduleCreate"]["Next"] == "MonitorScheduleDone"
    assert s["MonitorScheduleDone"]["Next"] == "Deployed"
    # the replaced job definition is deleted when it is one of ours and not this run's; a failed delete is skipped
    previous = "$.steps.MonitorSchedulePrevious.MonitoringScheduleConfig.MonitoringJobDefinitionName"
    (when,) = s["MonitorScheduleReplaced"]["Choices"]
    assert when["And"] == [
        {"Variable": previous, "IsPresent": True},
        {"Variable": previous, "StringMatches": "churn-dq-*"},
        {"Not": {"Variable": previous, "StringEqualsPath": "$.steps.MonitorJobDefinition.JobDefinitionName"}},
    ]
    assert when["Next"] == "MonitorScheduleDeleteReplaced"
    assert s["MonitorScheduleReplaced"]["Default"] == "MonitorScheduleDone"
    delete = s["MonitorScheduleDeleteReplaced"]
    assert delete["Parameters"] == {"JobDefinitionName.$": previous}
    assert delete["Catch"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.steps.MonitorScheduleDeleteSkipped",
            "Next": "MonitorScheduleDone",
        }
    ]
    assert s["MonitorScheduleCreate"]["Parameters"]["MonitoringScheduleName"] == "churn-data-quality"


def test_iam_is_scoped_to_the_definitions_and_the_schedule(synthesized):
    _, template, *_ = synthesized
    assert_grants(
        template,
        ["sagemaker:CreateDataQualityJobDefinition", "sagemaker:AddTags"],
        sagemaker_arn("data-quality-job-definition/churn-dq-*"),
    )
    assert_grants(
        template,
        ["sagemaker:CreateMonitoringSchedule", "sagemaker:AddTags"],
        sagemaker_arn("monitoring-schedule/churn-data-quality"),
    )
    assert_grants(
        template,
        ["sagemaker:DeleteDataQualityJobDefinition"],
        sagemaker_arn("data-quality-job-definition/churn-dq-*"),
    )
    assert_grants(
        template,
        ["sagemaker:DescribeMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule"],
        sagemaker_arn("monitoring-schedule/churn-data-quality"),
    )
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "iam:PassRole",
                                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    for policy in template.find_resources("AWS::IAM::ManagedPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any("Monitoring" in a or "DataQuality" in a for a in actions):
                assert statement["Resource"] != "*"


def test_drift_alarms_watch_model_monitors_metric(synthesized):
    _, template, deployment, *_ = synthesized
    alarms = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"Namespace": DATA_METRICS_NAMESPACE}})
    assert len(alarms) == 2 == len(deployment.drift_alarms)
    props = sorted((a["Properties"] for a in alarms.values()), key=lambda p: p["MetricName"])
    assert [p["MetricName"] for p in props] == ["feature_baseline_drift__c1", "feature_baseline_drift__c2"]
    for p in props:
        assert p["Dimensions"] == [
            {"Name": "Endpoint", "Value": "churn"},
            {"Name": "MonitoringSchedule", "Value": "churn-data-quality"},
        ]
        assert p["Period"] == 3600 and p["Statistic"] == "Maximum" and p["Threshold"] == 0.1
        assert p["ComparisonOperator"] == "GreaterThanThreshold" and p["TreatMissingData"] == "notBreaching"
        assert p["AlarmActions"] == [{"Ref": Match.string_like_regexp("^DeploymentNotifications")}] or p[
            "AlarmActions"
        ][0]["Ref"].startswith("DeploymentNotifications")


def test_monitoring_job_role_gets_the_image_and_keys(synthesized):
    _, template, *_ = synthesized
    # the analyzer image is pulled by the execution role (ECR statement on the analyzer repository)
    body = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy"))
    assert "sagemaker-model-monitor-analyzer" in body


# ---- bad input ------------------------------------------------------------------------------------
def _deployment(make=None, **overrides):
    _app, stack, data, role = _stack()
    props = {
        "group": ModelPackageGroup.from_group_name(stack, "G", "churn-models"),
        "role": role,
        "endpoint_name": "churn",
        "data_capture": DataCapture(data.s3_uri("data-capture/")),
        "monitoring": DataQualityMonitor(output_uri=data.s3_uri("monitoring/")),
    }
    props.update(make(data) if make is not None else {})
    props.update(overrides)
    return ModelDeployment(stack, "Deployment", **props)


def test_monitoring_needs_captured_requests():
    with pytest.raises(ConstructValidationError, match=r"Test/Deployment.*monitoring.*give data_capture"):
        _deployment(data_capture=None)
    with pytest.raises(ConstructValidationError, match=r"data_capture.capture_modes.*capture 'Input'"):
        _deployment(lambda data: {"data_capture": DataCapture(data.s3_uri("c/"), capture_modes=["Output"])})


def test_monitor_settings_are_checked():
    with pytest.raises(ConstructValidationError, match=r"monitoring.alarm_features.*distinct"):
        _deployment(
            lambda data: {"monitoring": DataQualityMonitor(output_uri="s3://bucket/m/", alarm_features=["a", "a"])}
        )
    with pytest.raises(ConstructValidationError, match=r"monitoring.frequency.*'weekly'.*must be one of"):
        _deployment(lambda data: {"monitoring": DataQualityMonitor(output_uri="s3://bucket/m/", frequency="weekly")})
    with pytest.raises(ConstructValidationError, match=r"monitoring.drift_threshold"):
        _deployment(lambda data: {"monitoring": DataQualityMonitor(output_uri="s3://bucket/m/", drift_threshold=0)})
    with pytest.raises(ConstructValidationError, match=r"monitoring.schedule_name"):
        _deployment(
            lambda data: {"monitoring": DataQualityMonitor(output_uri="s3://bucket/m/", schedule_name="bad_name")}
        )
    with pytest.raises(ConstructValidationError, match=r"default '<endpoint name>-data-quality' exceeds 63"):
        _deployment(endpoint_name="e" * 60)
    with pytest.raises(
        ConstructValidationError, match=r"job_definition.max_runtime.*hourly schedule allows at most 1 hour"
    ):
        _deployment(
            lambda data: {
                "monitoring": DataQualityMonitor(
                    output_uri="s3://bucket/m/", frequency="hourly", max_runtime=Duration.hours(2)
                )
            }
        )


def test_baseline_output_must_be_a_prefix_and_header_is_for_csv():
    _, stack, _data, role = _stack()
    with pytest.raises(ConstructValidationError, match=r"Test/Baseline.*output_uri.*ending in '/'"):
        DataQualityBaselineDefinition(
            stack, "Baseline", role=role, dataset_uri="s3://bucket/d/", output_uri="s3://bucket/out"
        )
    with pytest.raises(ConstructValidationError, match=r"header.*CSV datasets only"):
        DataQualityBaselineDefinition(
            stack,
            "Baseline",
            role=role,
            dataset_uri="s3://bucket/d/",
            output_uri="s3://bucket/o/",
            dataset_format="jsonl",
            header=True,
        )
    ok = DataQualityBaselineDefinition(
        stack, "Baseline", role=role, dataset_uri="s3://bucket/d/", output_uri="s3://bucket/o/", dataset_format="jsonl"
    )
    assert (
        ok.statistics_uri == "s3://bucket/o/statistics.json" and ok.constraints_uri == "s3://bucket/o/constraints.json"
    )
    assert json.loads(ok.environment["dataset_format"]) == {"json": {"lines": True}}


def _job_definition(stack, role, **overrides):
    """A data-quality job definition "Job" on endpoint "churn" with fixed baseline and report URIs."""
    return DataQualityJobDefinition(
        stack,
        "Job",
        role=role,
        endpoint_name="churn",
        statistics_uri="s3://bucket/s.json",
        constraints_uri="s3://bucket/c.json",
        output_uri="s3://bucket/r/",
        **overrides,
    )


def test_job_definition_request_is_checked_by_botocore():
    _, stack, _data, role = _stack()
    with pytest.raises(ConstructValidationError, match=r"Test/Job.*InstanceType"):
        _job_definition(stack, role, cluster=ClusterConfig(instance_type="m5.large"))
    with pytest.raises(ConstructValidationError, match=r"name_prefix.*lower case"):
        _job_definition(stack, role, name_prefix="Churn")
    job = _job_definition(stack, role)
    with pytest.raises(ConstructValidationError, match=r"(?s)Test/Schedule.*MonitoringScheduleName is 64 chars"):
        MonitoringScheduleDefinition(stack, "Schedule", schedule_name="x" * 64, job_definition=job)


def test_sagemaker_checks_read_monitoring_job_definitions():
    """A job definition without keys or isolation is a finding, as a job would be (SageMakerChecks);
    with its defaults (the stack's job key, isolation) it is none."""
    app, stack, _, role = _stack()
    _job_definition(stack, role).to_state_machine()
    assert set(sagemaker_findings(app)) == set()
    app, stack, _, role = _stack()
    job = _job_definition(
        stack,
        role,
        output_kms_key=None,
        cluster=ClusterConfig(volume_kms_key=None),
        network=NetworkConfig(enable_network_isolation=False),
    )
    job.to_state_machine()
    assert set(sagemaker_findings(app)) == {
        "SageMaker-JobNetworkIsolation[State::Job]",
        "SageMaker-JobOutputKms[State::Job]",
        "SageMaker-JobVolumeKms[State::Job]",
    }
    assert set(sagemaker_findings(app, vpc_only=True)) >= {"SageMaker-JobVpcConfig[State::Job]"}
