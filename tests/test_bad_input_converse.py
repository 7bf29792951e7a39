"""The converse of test_bad_input: no false positives.

Requests at the limits the API documents (100 instances, 16384 GB, 28 days, 10 processing inputs,
20 channels, 100 hyperparameters ...) synthesize, and botocore's own validator accepts every
request in the template (the examples in README and the guides: test_docs). The reference app is covered by
test_reference_app.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from sfn_requests import assert_all_requests_valid
from support import new_app, new_stack, template_of

from sm_constructs import (
    BlueGreenDeployment,
    CategoricalRange,
    ClusterConfig,
    ContinuousRange,
    DataCapture,
    EndpointConfigDefinition,
    EndpointDeployment,
    IntegerRange,
    LifecycleScript,
    MlDataBucket,
    ModelDefinition,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    NotebookInstance,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
    ServerlessConfig,
    TrainingChannel,
    TrainingDefinition,
    TransformDefinition,
    TuningDefinition,
)
from sm_constructs.images import ContainerImage
from sm_constructs.notebook import MAX_SCRIPT_CHARS

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"
#: 49 user tags: with the execution tag every job carries, SageMaker's limit of 50.
TAGS = {f"team-{i}": "x" * 256 for i in range(49)}


@pytest.fixture(scope="module")
def at_limits(tmp_path_factory):
    script = tmp_path_factory.mktemp("code") / "job.py"
    script.write_text("print('hi')\n")
    stack = new_stack(new_app())
    role = SageMakerExecutionRole(stack, "Exec")
    big_cluster = ClusterConfig(instance_type="ml.m5.24xlarge", instance_count=100, volume_size_gb=16384)
    prep = ProcessingDefinition(
        stack,
        "Prep",
        role=role,
        code=script,
        inputs=[ProcessingInput(f"in{i}", f"s3://bucket-a/in/{i}/") for i in range(9)],  # + the code input: 10
        outputs=[ProcessingOutput(f"out{i}", f"s3://bucket-a/out/{i}/") for i in range(10)],
        arguments=[f"--a{i}={'v' * 240}" for i in range(100)],
        environment={f"VAR_{i}": "v" * 256 for i in range(100)},
        cluster=big_cluster,
        max_runtime=Duration.days(9),  # 777600 s, processing's maximum
        name_prefix="p" * 50,
        tags=TAGS,
    )
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        output_path="s3://bucket-a/models",
        image=ContainerImage.from_uri(IMAGE),  # the API's limits, not a built-in algorithm's hyperparameter table
        channels=[TrainingChannel(f"ch{i}", f"s3://bucket-a/ch/{i}/", content_type="text/csv") for i in range(20)],
        hyperparameters={f"hp{i}": "9" * 2500 for i in range(100)},
        metric_definitions={f"metric{i}": f"m{i}=([0-9.]+)" for i in range(40)},
        environment={f"VAR_{i}": "v" * 512 for i in range(100)},
        cluster=big_cluster,
        max_runtime=Duration.days(28),
        use_spot_instances=True,
        max_wait=Duration.days(28),
        checkpoint_s3_uri="s3://bucket-a/checkpoints/",
        tags=TAGS,
    )
    small = TrainingDefinition(
        stack, "Base", role=role, output_path="s3://bucket-a/models", image=ContainerImage.from_uri(IMAGE)
    )
    tune = TuningDefinition(
        stack,
        "Tune",
        training=small,
        objective_metric="m" * 255,
        ranges=[IntegerRange(f"i{i}", 1, 9) for i in range(10)]
        + [ContinuousRange(f"c{i}", 0.1, 0.9) for i in range(10)]
        + [CategoricalRange(f"k{i}", [f"v{j}" for j in range(30)]) for i in range(10)],
        max_training_jobs=750,
        max_parallel_jobs=100,
        name_prefix="t" * 19,
    )
    model = ModelDefinition(
        stack,
        "Model",
        role=role,
        image=IMAGE,
        model_data_url="s3://bucket-a/model.tar.gz",
        environment={f"VAR_{i}": "v" * 1024 for i in range(100)},
        name_prefix="m" * 50,
    )
    config = EndpointConfigDefinition(
        stack,
        "Config",
        model=ModelDefinition.from_model_name(stack, "LongModel", "m" * 63),
        instance_type="ml.m5.24xlarge",
        initial_instance_count=100,
        data_capture=DataCapture("s3://bucket-a/capture/", sampling_percentage=100),
        variant_name="v" * 63,
    )
    serverless = EndpointConfigDefinition(
        stack,
        "Serverless",
        model=ModelDefinition.from_model_name(stack, "ShortModel", "m"),
        serverless=ServerlessConfig(memory_size_mb=6144, max_concurrency=200),
    )
    deploy = EndpointDeployment(
        stack,
        "Deploy",
        endpoint_name="e" * 63,
        config=EndpointConfigDefinition.from_config_name(stack, "LongConfig", "c" * 63),
        deployment=BlueGreenDeployment(
            alarm_names=[f"alarm-{i}" for i in range(10)],
            traffic="LINEAR",
            canary_percent=99,
            wait=Duration.hours(1),
            termination_wait=Duration.hours(1),
        ),
        tags={f"k{i}": "v" for i in range(50)},
    )
    transform = TransformDefinition(
        stack,
        "Transform",
        model=ModelDefinition.from_model_name(stack, "LongModel2", "m" * 63),
        input_uri="s3://bucket-a/in/",
        output_path="s3://bucket-a/out/",
        max_payload_mb=100,
        environment={f"VAR_{i}": "v" for i in range(16)},
        cluster=ClusterConfig(instance_type="ml.m5.24xlarge", instance_count=100),
        max_runtime=Duration.days(7),
        tags=TAGS,
    )
    group = ModelPackageGroup(stack, "Group", group_name="g" * 63, description="d" * 1024)
    register = ModelRegistrationDefinition(
        stack,
        "Register",
        group=group,
        image=IMAGE,
        model_data_url="s3://bucket-a/model.tar.gz",
        description="d" * 1024,
        tags=TAGS,
    )
    NotebookInstance(
        stack,
        "Nb",
        data_bucket=MlDataBucket(stack, "Data"),
        execution_role=role,
        volume_size_gb=16384,
        notebook_instance_name="n" * 63,
        job_name_prefix="j" * 50,
        on_create=LifecycleScript("x" * (MAX_SCRIPT_CHARS // 4 * 3)),  # exactly the limit once base64-encoded
    )
    for definition in (prep, train, tune, model, config, serverless, transform, register):
        definition.to_state_machine()
    sfn.StateMachine(stack, "DeploySM", definition_body=sfn.DefinitionBody.from_chainable(deploy))
    return template_of(stack).to_json()


def test_every_request_at_its_limits_synthesizes_and_botocore_accepts_it(at_limits):
    requests = assert_all_requests_valid(at_limits, expect_at_least=12)
    operations = {r.operation.name for r in requests}
    assert {
        "CreateProcessingJob",
        "CreateTrainingJob",
        "CreateHyperParameterTuningJob",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "CreateTransformJob",
        "CreateModelPackage",
    } <= operations
