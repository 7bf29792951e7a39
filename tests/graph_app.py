"""README's graph pipeline: two preprocessing branches in parallel → two candidate trainings in
parallel → an evaluation of each → a condition picking the better candidate → its registration →
its release (model → batch transform). Shared by tests/test_graph.py (synthesized) and
tests/test_graph_emulator.py (run in the emulator)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sm_constructs import (
    ClusterConfig,
    Condition,
    ContainerImage,
    InputField,
    MlPipeline,
    ModelDefinition,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    NetworkConfig,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    Report,
    StepCache,
    TrainingChannel,
    TrainingDefinition,
    TransformDefinition,
)

SCRIPTS = Path(__file__).resolve().parents[1] / "reference" / "scripts"
RUN = sfn.JsonPath.execution_name
SPLITS = ("train", "validation", "test", "batch")


def build(
    scope: Construct, bucket: s3.IBucket, role: iam.IRole, *, key: kms.IKey | None = None, **pipeline: object
) -> MlPipeline:
    isolated = NetworkConfig(enable_network_isolation=True)
    cluster = ClusterConfig(instance_type="ml.m5.large", volume_kms_key=key)
    group = ModelPackageGroup(scope, "Candidates", group_name="graph-candidates")
    candidates = []
    for name, seed, depth in (("A", "1", "3"), ("B", "2", "5")):
        prepare = ProcessingDefinition(
            scope,
            f"Prepare{name}",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code=SCRIPTS / "preprocess.py",
            arguments=[
                "--input-dir",
                "/opt/ml/processing/input/raw",
                "--output-dir",
                "/opt/ml/processing/output",
                "--seed",
                seed,
            ],
            inputs=[ProcessingInput("raw", sfn.JsonPath.string_at("$.input.inputDataUri"))],
            outputs=[
                ProcessingOutput(
                    split, sfn.JsonPath.format(f"s3://{{}}/processed/{name}/{{}}/{split}/", bucket.bucket_name, RUN)
                )
                for split in SPLITS
            ],
            output_kms_key=key,
            cluster=cluster,
            network=isolated,
            name_prefix=f"graph-prepare-{name.lower()}",
        )
        train = TrainingDefinition(
            scope,
            f"Train{name}",
            role=role,
            image=ContainerImage.xgboost("1.7-1"),
            output_path=sfn.JsonPath.format("s3://{}/models/{}", bucket.bucket_name, RUN),
            channels=[
                TrainingChannel("train", prepare.output_uri("train"), content_type="text/csv"),
                TrainingChannel("validation", prepare.output_uri("validation"), content_type="text/csv"),
            ],
            hyperparameters={"objective": "binary:logistic", "num_round": "5", "max_depth": depth},
            output_kms_key=key,
            cluster=cluster,
            network=isolated,
            name_prefix=f"graph-train-{name.lower()}",
        )
        # The report lives under the model's training job: a reused (cached) evaluation's report is where
        # the condition reads it.
        trained = train.state_output("TrainingJobName")
        evaluate = ProcessingDefinition(
            scope,
            f"Evaluate{name}",
            role=role,
            image=ContainerImage.xgboost("1.7-1"),
            code=SCRIPTS / "evaluate.py",
            arguments=[
                "--model-dir",
                "/opt/ml/processing/input/model",
                "--test-dir",
                "/opt/ml/processing/input/test",
                "--output-dir",
                "/opt/ml/processing/evaluation",
            ],
            inputs=[
                ProcessingInput("model", train.model_data_url),
                ProcessingInput("test", prepare.output_uri("test")),
            ],
            outputs=[
                ProcessingOutput(
                    "evaluation",
                    sfn.JsonPath.format("s3://{}/evaluation/{}/", bucket.bucket_name, trained),
                    source="/opt/ml/processing/evaluation",
                )
            ],
            output_kms_key=key,
            cluster=cluster,
            network=isolated,
            name_prefix=f"graph-evaluate-{name.lower()}",
        )
        report = Report(evaluate, bucket, sfn.JsonPath.format("evaluation/{}/evaluation.json", trained))
        register = ModelRegistrationDefinition(
            scope,
            f"Register{name}",
            group=group,
            training=train,
            evaluation_report_uri=sfn.JsonPath.format(
                "s3://{}/evaluation/{}/evaluation.json", bucket.bucket_name, trained
            ),
            description=f"candidate {name}",
        )
        model = ModelDefinition(
            scope,
            f"Model{name}",
            role=role,
            model_package=register,
            network=isolated,
            name_prefix=f"graph-model-{name.lower()}",
        )
        release = TransformDefinition(
            scope,
            f"Score{name}",
            model=model,
            input_uri=prepare.output_uri("batch"),
            output_path=sfn.JsonPath.format("s3://{}/scores/{}/", bucket.bucket_name, RUN),
            output_kms_key=key,
            cluster=cluster,
            name_prefix=f"graph-score-{name.lower()}",
        )
        candidates.append((prepare, train, evaluate, report, [register, model, release]))
    (prep_a, train_a, eval_a, report_a, release_a), (prep_b, train_b, eval_b, report_b, release_b) = candidates
    auc_a, auc_b = report_a.metric("metrics.auc"), report_b.metric("metrics.auc")
    pick = Condition("PickBetter", when=auc_a >= auc_b, then=release_a, otherwise=release_b)
    return MlPipeline(
        scope,
        "Pipeline",
        steps=[prep_a, prep_b, train_a, train_b, eval_a, eval_b, pick],
        # with a default: cached steps fingerprint the data under it (their listing is scoped to it)
        inputs=[
            InputField(
                "inputDataUri", kind="s3_uri", default=f"s3://{bucket.bucket_name}/raw/", description="raw CSV data"
            )
        ],
        cache=StepCache(),
        **pipeline,  # type: ignore[arg-type]
    )
