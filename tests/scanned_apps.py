"""The apps whose synthesized templates checkov and the Control Tower controls scan (test_scanners.py).

Each entry builds one app into the given ``App``; add yours with ``@scanned_app("name")``. Keep apps
small and varied: together they should make every resource and option the constructs can synthesize.
The reference app (app.py) is scanned too, from the cloud assembly ``cdk synth`` made of it once for
the whole run (conftest's ``reference_assembly``), not synthesized again here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn

#: name → builder; the scanner test synthesizes each into its own cloud assembly.
SCANNED_APPS: dict[str, Callable[[App], None]] = {}


def scanned_app(name: str) -> Callable[[Callable[[App], None]], Callable[[App], None]]:
    def register(build: Callable[[App], None]) -> Callable[[App], None]:
        if name in SCANNED_APPS:
            raise ValueError(f"scanned app {name!r} is registered twice")
        SCANNED_APPS[name] = build
        return build

    return register


@scanned_app("constructs")
def constructs_app(app: App) -> None:
    """What the reference app leaves out: VPC jobs, fan-out, S3 trigger, dashboard, blue/green, serverless."""
    from sm_constructs import (
        BlueGreenDeployment,
        ClusterConfig,
        ContainerImage,
        EndpointConfigDefinition,
        EndpointDeployment,
        FanOut,
        InputField,
        MlDataBucket,
        MlPipeline,
        MlVpc,
        ModelDefinition,
        NetworkConfig,
        ProcessingDefinition,
        ProcessingInput,
        ProcessingOutput,
        QualityGate,
        S3Trigger,
        SageMakerExecutionRole,
        ServerlessConfig,
    )

    stack = Stack(app, "ScannedConstructs")
    code = Path(__file__).resolve().parent.parent / "reference" / "scripts" / "preprocess.py"
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec", vpc_access=True)
    data.grant_read(role, "raw/")
    data.grant_read_write(role, "processed/")
    data.grant_read_write(role, "evaluation/")
    net = MlVpc(stack, "Net")
    group = ec2.SecurityGroup(stack, "JobSg", vpc=net.vpc, allow_all_outbound=False, description="jobs")
    in_vpc = NetworkConfig(subnets=net.vpc.isolated_subnets, security_groups=[group])

    def job(id: str, source: str) -> ProcessingDefinition:
        return ProcessingDefinition(
            stack,
            id,
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code=code,
            inputs=[ProcessingInput("raw", source)],
            outputs=[
                ProcessingOutput(
                    "out", sfn.JsonPath.format("s3://{}/processed/{}/", data.bucket_name, sfn.JsonPath.execution_name)
                )
            ],
            output_kms_key=data.encryption_key,
            cluster=ClusterConfig(volume_kms_key=data.encryption_key),
            network=in_vpc,
            name_prefix=id.lower(),
        )

    per_file = job("PerFile", sfn.JsonPath.format("s3://{}/{}", data.bucket_name, sfn.JsonPath.string_at("$.Key")))
    evaluate = job("Evaluate", sfn.JsonPath.string_at("$.input.inputDataUri"))
    model = ModelDefinition(
        stack,
        "Model",
        role=role,
        image=sfn.JsonPath.string_at("$.input.image"),
        model_data_url=sfn.JsonPath.string_at("$.input.modelDataUrl"),
        network=in_vpc,
        name_prefix="scan-model",
    )
    config = EndpointConfigDefinition(
        stack,
        "Config",
        model=model,
        serverless=ServerlessConfig(memory_size_mb=2048, max_concurrency=2),
        name_prefix="scan-config",
    )
    deploy = EndpointDeployment(
        stack,
        "Deploy",
        endpoint_name="scan-endpoint",
        config=config,
        deployment=BlueGreenDeployment(traffic="CANARY", alarm_names=["scan-endpoint-errors"]),
    )
    MlPipeline(
        stack,
        "Pipeline",
        preprocessing=[FanOut(per_file, data.bucket, "raw/", max_concurrency=2)],
        evaluation=evaluate,
        quality_gate=QualityGate(
            bucket=data.bucket,
            key=sfn.JsonPath.format("evaluation/{}/evaluation.json", sfn.JsonPath.execution_name),
            metric="metrics.auc",
            threshold=0.8,
        ),
        model=model,
        deployment=[config, deploy],
        inputs=[InputField("inputDataUri", kind="s3_uri", default=data.s3_uri("raw/"))],
        dashboard=True,
        schedule=scheduler.ScheduleExpression.rate(Duration.days(1)),
        s3_trigger=S3Trigger(data.bucket, "raw/incoming/"),
    )


@scanned_app("jobs")
def jobs_app(app: App) -> None:
    """Each job kind on its own (one-step state machines), script training with spot and checkpoints, a notebook
    with its own network."""
    from sm_constructs import (
        ContainerImage,
        ContinuousRange,
        DataCapture,
        EndpointConfigDefinition,
        IntegerRange,
        MlDataBucket,
        ModelDefinition,
        NotebookInstance,
        SageMakerExecutionRole,
        TrainingChannel,
        TrainingDefinition,
        TransformDefinition,
        TuningDefinition,
    )

    stack = Stack(app, "ScannedJobs")
    scripts = Path(__file__).resolve().parent.parent / "reference" / "scripts"
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    data.grant_read_write(role, "models/")
    data.grant_read(role, "processed/")
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        image=ContainerImage.sklearn("1.2-1"),
        entry_point=scripts / "preprocess.py",
        output_path=data.s3_uri("models/"),
        channels=[TrainingChannel("train", data.s3_uri("processed/train/"), content_type="text/csv")],
        use_spot_instances=True,
        max_wait=Duration.hours(3),
        checkpoint_s3_uri=data.s3_uri("checkpoints/"),
        output_kms_key=data.encryption_key,
        name_prefix="scan-train",
    )
    train.to_state_machine()
    TuningDefinition(
        stack,
        "Tune",
        training=train,
        objective_metric="validation:auc",
        ranges=[IntegerRange("max_depth", 2, 6), ContinuousRange("eta", 0.05, 0.5)],
        name_prefix="scan-tune",
    ).to_state_machine()
    input_model = ModelDefinition.from_model_name(stack, "InputModel", sfn.JsonPath.string_at("$.input.modelName"))
    TransformDefinition(
        stack,
        "Transform",
        model=input_model,
        input_uri=data.s3_uri("processed/batch/"),
        output_path=data.s3_uri("batch/"),
        output_kms_key=data.encryption_key,
        name_prefix="scan-transform",
    ).to_state_machine()
    EndpointConfigDefinition(
        stack,
        "Config",
        model=input_model,
        instance_type="ml.m5.large",
        kms_key=data.encryption_key,
        data_capture=DataCapture(data.s3_uri("data-capture/"), kms_key=data.encryption_key),
        name_prefix="scan-config",
    ).to_state_machine()
    NotebookInstance(stack, "Notebook", data_bucket=data, execution_role=role, idle_timeout_minutes=30)


@scanned_app("studio")
def studio_app(app: App) -> None:
    """StudioDomain with a user profile and a shared space (tests/apps/studio.py)."""
    from apps.studio import build

    build(app)


@scanned_app("multi-account")
def multi_account_app(app: App) -> None:
    """examples/multi-account: the build, staging and production stacks of a release across accounts."""
    import importlib.util
    import json
    import sys

    example = Path(__file__).resolve().parent.parent / "examples" / "multi-account"
    for key, value in json.loads((example / "cdk.json").read_text())["context"].items():
        app.node.set_context(key, value)
    # loaded from its file: the repository's own app.py is the module ``app``
    spec = importlib.util.spec_from_file_location("multi_account_app", example / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(example))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(example))
    module.build(app)
