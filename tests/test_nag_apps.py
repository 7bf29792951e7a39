"""SageMakerChecks on whole apps: the reference app is clean, a plain aws-cdk-lib app is not.

The plain app is what a team writes without sm_constructs: aws-cdk's ``aws_stepfunctions_tasks``
SageMaker tasks with their defaults, a ``CustomState`` with a hand-written CreateProcessingJob
request, a default state machine and a notebook instance L1. Each of its deviations is listed
below with the reason it is one; the pack must report exactly those.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aws_cdk import Acknowledgment, Duration, Size, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from support import new_app, new_stack, sagemaker_findings

import app as reference
from sm_constructs.nag import RULES

pytestmark = pytest.mark.xdist_group("reference-app")  # conftest's reference_app, built once for the group


def plain_app_stack(stack: Stack) -> None:
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "ml-data")
    run = sfn.JsonPath.string_at("$$.Execution.Name")

    train = tasks.SageMakerCreateTrainingJob(
        stack,
        "Train",
        training_job_name=run,
        role=role,
        algorithm_specification=tasks.AlgorithmSpecification(
            training_image=tasks.DockerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"),
            training_input_mode=tasks.InputMode.FILE,
        ),
        input_data_config=[
            tasks.Channel(
                channel_name="train",
                data_source=tasks.DataSource(
                    s3_data_source=tasks.S3DataSource(s3_location=tasks.S3Location.from_bucket(bucket, "train/"))
                ),
            )
        ],
        output_data_config=tasks.OutputDataConfig(s3_output_location=tasks.S3Location.from_bucket(bucket, "models/")),
        resource_config=tasks.ResourceConfig(
            instance_count=2,
            instance_type=ec2.InstanceType("m5.xlarge"),
            volume_size=Size.gibibytes(30),
        ),
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
    )
    # Hand-written request, request-response (no .sync), fixed name, no KMS, no limits.
    preprocess = sfn.CustomState(
        stack,
        "Preprocess",
        state_json={
            "Type": "Task",
            "Resource": "arn:aws:states:::sagemaker:createProcessingJob",
            "Parameters": {
                "ProcessingJobName": "preprocess",
                "RoleArn": role.role_arn,
                "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sk:1"},
                "ProcessingResources": {
                    "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}
                },
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": "out",
                            "S3Output": {
                                "S3Uri.$": "States.Format('s3://ml-data/processed/{}/', $$.Execution.Name)",
                                "LocalPath": "/opt/ml/processing/out",
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ]
                },
            },
        },
    )
    model = tasks.SageMakerCreateModel(
        stack,
        "Model",
        model_name=sfn.JsonPath.format("{}-model", run),
        primary_container=tasks.ContainerDefinition(
            image=tasks.DockerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"),
            model_s3_location=tasks.S3Location.from_json_expression("$.ModelArtifacts.S3ModelArtifacts"),
        ),
        role=role,
    )
    config = tasks.SageMakerCreateEndpointConfig(
        stack,
        "EndpointConfig",
        endpoint_config_name=sfn.JsonPath.format("{}-config", run),
        production_variants=[
            tasks.ProductionVariant(
                instance_type=ec2.InstanceType("m5.large"),
                model_name=sfn.JsonPath.format("{}-model", run),
                variant_name="main",
            )
        ],
    )
    transform = tasks.SageMakerCreateTransformJob(
        stack,
        "Transform",
        transform_job_name=sfn.JsonPath.format("{}-transform", run),
        model_name=sfn.JsonPath.format("{}-model", run),
        transform_input=tasks.TransformInput(
            transform_data_source=tasks.TransformDataSource(
                s3_data_source=tasks.TransformS3DataSource(s3_uri="s3://ml-data/batch/")
            )
        ),
        transform_output=tasks.TransformOutput(s3_output_path="s3://ml-data/predictions/"),
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
    )
    sfn.StateMachine(
        stack,
        "Pipeline",
        definition_body=sfn.DefinitionBody.from_chainable(
            preprocess.next(train).next(model).next(config).next(transform)
        ),
        timeout=Duration.hours(12),
    )
    sagemaker.CfnNotebookInstance(stack, "Notebook", instance_type="ml.t3.medium", role_arn=role.role_arn)


MACHINE = "Test/Pipeline/Resource"
NOTEBOOK = "Test/Notebook"
#: Every deviation of the plain app, and why.
EXPECTED = {
    # aws-cdk's tasks render no VolumeKmsKeyId / output KmsKeyId unless a key is given; the custom state has none.
    "SageMaker-JobVolumeKms[State::Preprocess]": MACHINE,
    "SageMaker-JobVolumeKms[State::Train]": MACHINE,
    "SageMaker-JobVolumeKms[State::Transform]": MACHINE,
    "SageMaker-JobOutputKms[State::Preprocess]": MACHINE,
    "SageMaker-JobOutputKms[State::Train]": MACHINE,
    "SageMaker-JobOutputKms[State::Transform]": MACHINE,
    # Network isolation is off by default in both jobs that have it (transform inherits the model's).
    "SageMaker-JobNetworkIsolation[State::Preprocess]": MACHINE,
    "SageMaker-JobNetworkIsolation[State::Train]": MACHINE,
    # Two training instances without inter-container encryption.
    "SageMaker-JobInterContainerEncryption[State::Train]": MACHINE,
    # The hand-written processing request has no StoppingCondition (aws-cdk's training task sets 1 hour).
    "SageMaker-JobMaxRuntime[State::Preprocess]": MACHINE,
    # Request-response: the state does not wait for (or stop) the processing job.
    "SageMaker-JobSync[State::Preprocess]": MACHINE,
    # No Retry anywhere, no Catch on any job state.
    "SageMaker-TaskRetryThrottling[State::Preprocess]": MACHINE,
    "SageMaker-TaskRetryThrottling[State::Train]": MACHINE,
    "SageMaker-TaskRetryThrottling[State::Model]": MACHINE,
    "SageMaker-TaskRetryThrottling[State::EndpointConfig]": MACHINE,
    "SageMaker-TaskRetryThrottling[State::Transform]": MACHINE,
    "SageMaker-JobCatch[State::Preprocess]": MACHINE,
    "SageMaker-JobCatch[State::Train]": MACHINE,
    "SageMaker-JobCatch[State::Transform]": MACHINE,
    # Names: a fixed one, and ones made of the execution name (repeat on retry, too long for 80-char names).
    "SageMaker-UniqueJobName[State::Preprocess]": MACHINE,
    "SageMaker-UniqueJobName[State::Train]": MACHINE,
    "SageMaker-UniqueJobName[State::Model]": MACHINE,
    "SageMaker-UniqueJobName[State::EndpointConfig]": MACHINE,
    "SageMaker-UniqueJobName[State::Transform]": MACHINE,
    # Hosting defaults: no endpoint volume key, no model network isolation.
    "SageMaker-EndpointConfigKms[State::EndpointConfig]": MACHINE,
    "SageMaker-ModelNetworkIsolation[State::Model]": MACHINE,
    # Default state machine: logging off, AWS-owned key.
    "SageMaker-StateMachineLoggingAll": MACHINE,
    "SageMaker-StateMachineCmk": MACHINE,
    # Notebook defaults: root, direct internet, IMDSv1, AWS-managed key, no idle stop.
    "SageMaker-NotebookNoRoot": NOTEBOOK,
    "SageMaker-NotebookNoDirectInternet": NOTEBOOK,
    "SageMaker-NotebookImdsV2": NOTEBOOK,
    "SageMaker-NotebookKms": NOTEBOOK,
    "SageMaker-NotebookIdleStop": NOTEBOOK,
}


@pytest.fixture(scope="module")
def plain_findings() -> dict[str, set[str]]:
    app = new_app()
    plain_app_stack(new_stack(app))
    return sagemaker_findings(app)


def test_plain_app_shows_every_deviation(plain_findings: dict[str, set[str]]) -> None:
    assert set(plain_findings) == set(EXPECTED)
    for finding, path in EXPECTED.items():
        assert plain_findings[finding] == {path}, finding


def test_plain_app_findings_cover_the_rules_it_breaks(plain_findings: dict[str, set[str]]) -> None:
    """Every rule except those the plain app cannot break (VPC-only not asked, no spot, no capture, no domain)."""
    reported = {name.split("[")[0].removeprefix("SageMaker-") for name in plain_findings}
    not_applicable = {"JobVpcConfig", "JobSpotCheckpoints", "DataCaptureKms", "StateMachineReadable"}
    not_applicable |= {r.id for r in RULES if r.id.startswith("Domain")}
    assert reported == {r.id for r in RULES} - not_applicable


def test_reference_app_is_clean(reference_app: Stack) -> None:
    """The reference app (app.py) with its acknowledgements: no unacknowledged finding."""
    assert sagemaker_findings(reference_app.node.root) == {}


def test_reference_app_acknowledgements_are_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the library's SageMakerChecks acknowledgements the pack reports exactly those findings (the
    cached processing steps' names, which read the cache key from the state): it reads the reference definitions."""
    import sm_constructs._nag as nag

    acknowledge = nag.acknowledge

    def without_pack(scope, findings, reason):  # type: ignore[no-untyped-def]
        kept = [f for f in findings if not f.startswith("SageMaker-")]
        if kept:
            acknowledge(scope, kept, reason)

    import sm_constructs.jobs.cache  # noqa: F401  (imports acknowledge by name)

    # every module that took the function by name gets the stand-in
    for module in [m for name, m in sys.modules.items() if name.startswith("sm_constructs")]:
        if getattr(module, "acknowledge", None) is acknowledge:
            monkeypatch.setattr(module, "acknowledge", without_pack)
    app = new_app()
    reference.build(app, nag=False)
    assert set(sagemaker_findings(app)) == {
        "SageMaker-UniqueJobName[Unverified::Preprocess]",
        "SageMaker-UniqueJobName[Unverified::Baseline]",
        "SageMaker-UniqueJobName[Unverified::Evaluate]",
    }


def test_every_finding_can_be_acknowledged_with_a_reason() -> None:
    app = new_app()
    stack = new_stack(app)
    plain_app_stack(stack)
    Validations.of(stack).acknowledge(
        *(Acknowledgment(id=finding, reason="accepted for this test app") for finding in EXPECTED)
    )
    assert sagemaker_findings(app) == {}


# ---- the library's constructs pass the pack with their defaults ------------------------------------
def _studio(stack: Stack) -> None:
    from sm_constructs import MlDataBucket, StudioDomain, StudioSharedSpace, StudioUserProfile

    domain = StudioDomain(stack, "Studio", data_bucket=MlDataBucket(stack, "Data"))
    StudioUserProfile(stack, "Alice", domain=domain, user_profile_name="alice")
    StudioSharedSpace(stack, "Team", domain=domain, space_name="team")


DATA = "s3://ml-data"


def _script(stack: Stack) -> str:
    path = Path(stack.node.try_get_context("tmp")) / "job.py"
    path.write_text("print('job')\n")
    return str(path)


def _role(stack: Stack):  # type: ignore[no-untyped-def]
    from sm_constructs import SageMakerExecutionRole

    return stack.node.try_find_child("Role") or SageMakerExecutionRole(stack, "Role")


def _training(stack: Stack):  # type: ignore[no-untyped-def]
    from sm_constructs import TrainingDefinition

    return TrainingDefinition(stack, "Train", role=_role(stack), output_path=f"{DATA}/models/")


def _model(stack: Stack):  # type: ignore[no-untyped-def]
    from sm_constructs import ModelDefinition

    return ModelDefinition(stack, "Model", role=_role(stack), training=_training(stack))


def _group(stack: Stack):  # type: ignore[no-untyped-def]
    from sm_constructs import ModelPackageGroup

    return ModelPackageGroup(stack, "Group", group_name="models")


def _processing(stack: Stack) -> None:
    from sm_constructs import ProcessingDefinition, ProcessingInput, ProcessingOutput

    ProcessingDefinition(
        stack,
        "Prep",
        role=_role(stack),
        code=_script(stack),
        inputs=[ProcessingInput("raw", f"{DATA}/raw/")],
        outputs=[ProcessingOutput("out", f"{DATA}/out/")],
    ).to_state_machine()


def _training_job(stack: Stack) -> None:
    _training(stack).to_state_machine()


def _script_mode_training(stack: Stack) -> None:
    """Script mode keeps network isolation off (the container downloads its code): acknowledged here."""
    from sm_constructs import ContainerImage, TrainingDefinition

    train = TrainingDefinition(
        stack,
        "Train",
        role=_role(stack),
        output_path=f"{DATA}/models/",
        image=ContainerImage.sklearn(),
        entry_point=_script(stack),
    )
    machine = train.to_state_machine()
    Validations.of(machine).acknowledge(
        Acknowledgment(
            id="SageMaker-JobNetworkIsolation[State::Train]",
            reason="script mode: the training container downloads its code from S3",
        )
    )


def _tuning(stack: Stack) -> None:
    from sm_constructs import ContinuousRange, TuningDefinition

    TuningDefinition(
        stack,
        "Tune",
        training=_training(stack),
        objective_metric="validation:auc",
        ranges=[ContinuousRange("eta", 0.1, 0.5)],
    ).to_state_machine()


def _transform(stack: Stack) -> None:
    from sm_constructs import TransformDefinition

    TransformDefinition(
        stack, "Batch", model=_model(stack), input_uri=f"{DATA}/batch/", output_path=f"{DATA}/predictions/"
    ).to_state_machine()


def _model_alone(stack: Stack) -> None:
    _model(stack).to_state_machine()


def _endpoint(stack: Stack) -> None:
    from sm_constructs import EndpointConfigDefinition, EndpointDeployment, MlPipeline

    model = _model(stack)
    config = EndpointConfigDefinition(stack, "Config", model=model)
    deployment = EndpointDeployment(stack, "Endpoint", endpoint_name="churn", config=config)
    # the model reads the training job's artifact, so the training is a step of the pipeline (else a dangling read)
    MlPipeline(stack, "Release", training=model.training, model=model, deployment=[config, deployment])


def _monitoring(stack: Stack) -> None:
    from sm_constructs import DataQualityBaselineDefinition, DataQualityJobDefinition, MonitoringScheduleDefinition

    role = _role(stack)
    baseline = DataQualityBaselineDefinition(
        stack, "Baseline", role=role, dataset_uri=f"{DATA}/train/", output_uri=f"{DATA}/baseline/"
    )
    baseline.to_state_machine()
    job = DataQualityJobDefinition(
        stack,
        "Quality",
        role=role,
        endpoint_name="churn",
        statistics_uri=f"{DATA}/baseline/statistics.json",
        constraints_uri=f"{DATA}/baseline/constraints.json",
        output_uri=f"{DATA}/monitoring/",
    )
    job.to_state_machine()
    MonitoringScheduleDefinition(
        stack, "Schedule", schedule_name="churn-quality", job_definition=job
    ).to_state_machine()


def _registry(stack: Stack) -> None:
    from sm_constructs import ModelApprovalDefinition, ModelRegistrationDefinition

    registration = ModelRegistrationDefinition(stack, "Register", group=_group(stack), training=_training(stack))
    registration.to_state_machine()
    ModelApprovalDefinition(stack, "Approve", version=registration).to_state_machine()


def _model_deployment(stack: Stack) -> None:
    from sm_constructs import ModelDeployment

    ModelDeployment(stack, "Release", group=_group(stack), role=_role(stack), endpoint_name="churn")


def _release(stack: Stack) -> None:
    from sm_constructs import (
        MlDataBucket,
        ModelDeployment,
        ModelPackageGroup,
        ReleaseAccounts,
        ReleaseSource,
        ReleaseTarget,
        SmokeTest,
        StageEnvironment,
    )

    accounts = ReleaseAccounts(
        StageEnvironment("111111111111", "us-east-1"),
        StageEnvironment("222222222222", "us-east-1"),
        StageEnvironment("333333333333", "us-east-1"),
    )
    group = ModelPackageGroup(stack, "Group", group_name="churn")
    ReleaseSource(stack, "Source", accounts=accounts, group=group, artifacts=MlDataBucket(stack, "Artifacts"))
    target = ReleaseTarget(
        stack, "Target", accounts=accounts, stage="staging", group_name="churn", artifacts_bucket_name="artifacts"
    )
    role = _role(stack)
    deployment = ModelDeployment(
        stack, "Staging", group=target.group, role=role, endpoint_name="churn", smoke_test=SmokeTest(payload="1,2")
    )
    target.grant_release_read(role)
    target.grant_release_read(deployment.state_machine.role)


def _pipeline(stack: Stack) -> None:
    from sm_constructs import MlPipeline

    MlPipeline(stack, "Pipeline", training=_training(stack))


def _state_machine(stack: Stack) -> None:
    from sm_constructs import MlStateMachine

    MlStateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Nothing")))


def _foundation(stack: Stack) -> None:
    from sm_constructs import MlDataBucket, MlVpc, NotebookInstance

    MlVpc(stack, "Vpc")
    NotebookInstance(stack, "Notebook", data_bucket=MlDataBucket(stack, "Data"), execution_role=_role(stack))


BUILDS = {
    "foundation": _foundation,
    "studio": _studio,
    "processing": _processing,
    "training": _training_job,
    "training-script-mode": _script_mode_training,
    "tuning": _tuning,
    "model": _model_alone,
    "transform": _transform,
    "endpoint": _endpoint,
    "monitoring": _monitoring,
    "registry": _registry,
    "model-deployment": _model_deployment,
    "release": _release,
    "pipeline": _pipeline,
    "state-machine": _state_machine,
}


@pytest.mark.parametrize("build", BUILDS.values(), ids=BUILDS.keys())
def test_library_constructs_pass_with_their_defaults(build, tmp_path: Path) -> None:
    """Each public construct with its minimal arguments (definitions as their one-step state machines), read
    as CloudFormation will deploy it (property overrides included); a value set from the state at run time
    counts as set."""
    app = new_app(tmp=str(tmp_path))
    build(new_stack(app))
    assert sagemaker_findings(app) == {}


def test_every_public_construct_is_built_above() -> None:
    """A construct added to ``__all__`` gets a case above (base classes and helper constructs excepted)."""
    import inspect

    from constructs import Construct

    import sm_constructs

    built = {
        "DataQualityBaselineDefinition", "DataQualityJobDefinition", "EndpointConfigDefinition",
        "EndpointDeployment", "MlDataBucket", "MlPipeline", "MlStateMachine", "MlVpc", "ModelApprovalDefinition",
        "ModelDefinition", "ModelDeployment", "ModelPackageGroup", "ModelRegistrationDefinition",
        "MonitoringScheduleDefinition", "NotebookInstance", "ProcessingDefinition", "ReleaseSource", "ReleaseTarget",
        "SageMakerExecutionRole",
        "StudioDomain", "StudioSharedSpace", "StudioUserProfile", "TrainingDefinition", "TransformDefinition",
        "TuningDefinition",
    }  # fmt: skip
    # Bases and parts, built by every case: a definition's task, the cached step around a task.
    parts = {"SageMakerDefinition", "SageMakerTask", "CachedStep"}
    public = {
        name
        for name in sm_constructs.__all__
        if inspect.isclass(cls := getattr(sm_constructs, name)) and issubclass(cls, Construct)
    }
    assert public - parts == built
