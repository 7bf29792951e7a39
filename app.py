#!/usr/bin/env python3
"""Reference app: the sm_constructs foundation plus a complete churn pipeline, env-agnostic.

``make synth`` runs this file through the CDK CLI; the four cdk-nag packs and SageMakerChecks run
on every synth and any unacknowledged finding fails it. ``build(app, pipelines=N)`` is also used by the tests and the
benchmark.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Duration, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sm_constructs import (
    ClusterConfig,
    ContainerImage,
    ContinuousRange,
    DataCapture,
    DataPrefix,
    DataQualityBaselineDefinition,
    DataQualityMonitor,
    EndpointAutoscaling,
    InputField,
    IntegerRange,
    MlDataBucket,
    MlPipeline,
    MlVpc,
    ModelDeployment,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    NetworkConfig,
    NotebookInstance,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    QualityGate,
    RunManifest,
    SageMakerExecutionRole,
    StepCache,
    TrainingChannel,
    TrainingDefinition,
    TransformDefinition,
    TuningDefinition,
)
from sm_constructs.network import DEFAULT_INTERFACE_ENDPOINTS
from sm_constructs.state_machine import DEFINITIONS_IN_S3_CONTEXT

REFERENCE = Path(__file__).resolve().parent / "reference"
RUN = sfn.JsonPath.execution_name


class ReferenceStack(Stack):
    """Data bucket, execution role, exploration notebook, and ``pipelines`` churn pipelines.

    With more than one pipeline the stack is shaped to hold many (25 fit CloudFormation's 1 MB and
    500-resource limits): state machine definitions are S3 assets, and the pipelines after the first
    share its key, notification topic and log group (:func:`churn_pipeline` ``shared``).
    """

    def __init__(self, scope: Construct, id: str, *, pipelines: int = 1, notebook: bool = True) -> None:
        super().__init__(scope, id, description="sm_constructs reference: SageMaker churn workflow")
        if pipelines > 1:
            self.node.set_context(DEFINITIONS_IN_S3_CONTEXT, True)
        self.data = MlDataBucket(self, "Data")
        self.execution_role = SageMakerExecutionRole(self, "ExecutionRole")
        for prefix in (DataPrefix.RAW,):
            self.data.grant_read(self.execution_role, prefix)
        for prefix in (DataPrefix.PROCESSED, DataPrefix.MODELS, DataPrefix.EVALUATION, DataPrefix.BATCH):
            self.data.grant_read_write(self.execution_role, prefix)
        self.data.grant_write(self.execution_role, DataPrefix.DATA_CAPTURE)
        # Model Monitor: the monitoring jobs read the capture, baselines and reports live under monitoring/.
        self.data.grant_read(self.execution_role, DataPrefix.DATA_CAPTURE)
        self.data.grant_read_write(self.execution_role, DataPrefix.MONITORING)
        releases = [churn_pipeline(self, "Churn", self.data, self.execution_role)]
        for i in range(1, pipelines):
            shared = releases[0][0]
            releases.append(
                churn_pipeline(self, f"Churn{i + 1}", self.data, self.execution_role, index=i, shared=shared)
            )
        self.pipelines = [pipeline for pipeline, _ in releases]
        #: The deployment of each pipeline's approved versions.
        self.deployments = [deployment for _, deployment in releases]
        self.tuning = churn_tuning(self, self.data, self.execution_role)
        if notebook:
            # The notebook's network, made here only to skip the Lambda-backed custom resource that
            # closes the default security group: the reference app then has no Lambda function at all
            # and deploys into the local emulator (see README "Limits"). Nothing joins that group.
            self.network = MlVpc(
                self,
                "Network",
                interface_endpoints=[*DEFAULT_INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS],
                restrict_default_security_group=False,
            )
            self.notebook = NotebookInstance(
                self,
                "Notebook",
                vpc=self.network.vpc,
                data_bucket=self.data,
                execution_role=self.execution_role,
                idle_timeout_minutes=60,
                notebook_instance_name="sm-constructs-explore",
            )
            self.pipelines[0].grant_start_execution(self.notebook)
            self.deployments[0].grant_invoke(self.notebook)


def _uri(data: MlDataBucket, prefix: str, name: str = "") -> str:
    """``s3://<bucket>/<prefix><execution name>/<name>``: every run writes its own prefix, nothing is overwritten."""
    return sfn.JsonPath.format(f"s3://{{}}/{prefix}{{}}/{name}", data.bucket_name, RUN)


def churn_pipeline(
    scope: Construct,
    id: str,
    data: MlDataBucket,
    role: SageMakerExecutionRole,
    *,
    index: int = 0,
    shared: MlPipeline | None = None,
) -> tuple[MlPipeline, ModelDeployment]:
    """Build: preprocess → train (XGBoost) → evaluate → gate → register (pending approval).

    Release, when a person approves the version (``sm-pipeline approve churn-models``): model from
    the version → endpoint config → endpoint (autoscaled) → batch transform of ``processed/latest/batch/``.

    ``shared``: a pipeline of the same stack whose key, notification topic and log group this one's
    build and release workflows use (each role is still granted that key for its own state machine only).
    """
    group = Construct(scope, id)
    parts: dict[str, Any] = {}
    if shared is not None:
        parts = {
            "encryption_key": shared.encryption_key,
            "notification_topic": shared.topic,
            "log_group": shared.state_machine.log_group,
        }
    slug = "churn" if index == 0 else f"churn{index + 1}"
    hyperparameters = json.loads((REFERENCE / "hyperparameters.json").read_text())
    isolated = NetworkConfig(enable_network_isolation=True)

    prepare = ProcessingDefinition(
        group,
        "Preprocess",
        role=role,
        image=ContainerImage.sklearn("1.2-1"),
        code=REFERENCE / "scripts" / "preprocess.py",
        # Directories passed explicitly (the script's defaults are the same): the local runner maps them.
        arguments=["--input-dir", "/opt/ml/processing/input/raw", "--output-dir", "/opt/ml/processing/output"],
        inputs=[ProcessingInput("raw", sfn.JsonPath.string_at("$.input.inputDataUri"))],
        outputs=[
            ProcessingOutput(split, _uri(data, DataPrefix.PROCESSED, f"{split}/"))
            for split in ("train", "validation", "test", "batch")
        ],
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(
            instance_type=sfn.JsonPath.string_at("$.input.processingInstanceType"), volume_kms_key=data.encryption_key
        ),
        network=isolated,
        name_prefix=f"{slug}-preprocess",
    )
    train = TrainingDefinition(
        group,
        "Train",
        role=role,
        image=ContainerImage.xgboost("1.7-1"),
        output_path=sfn.JsonPath.format(f"s3://{{}}/{DataPrefix.MODELS}{{}}", data.bucket_name, RUN),
        channels=[
            TrainingChannel("train", prepare.output_uri("train"), content_type="text/csv"),
            TrainingChannel("validation", prepare.output_uri("validation"), content_type="text/csv"),
        ],
        # One hyperparameter per run from the input (default: the file's), the rest fixed.
        hyperparameters={**hyperparameters, "num_round": sfn.JsonPath.string_at("$.input.numRound")},
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(
            instance_type=sfn.JsonPath.string_at("$.input.trainingInstanceType"), volume_kms_key=data.encryption_key
        ),
        network=isolated,
        name_prefix=f"{slug}-train",
    )
    # Statistics and constraints of the training data for Model Monitor, registered with the version.
    baseline = DataQualityBaselineDefinition(
        group,
        "Baseline",
        role=role,
        dataset_uri=prepare.output_uri("train"),
        output_uri=_uri(data, f"{DataPrefix.MONITORING}baseline/"),
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
        network=isolated,
        name_prefix=f"{slug}-baseline",
    )
    trained = train.state_output("TrainingJobName")
    report_dir = sfn.JsonPath.format(f"s3://{{}}/{DataPrefix.EVALUATION}{{}}/", data.bucket_name, trained)
    evaluate = ProcessingDefinition(
        group,
        "Evaluate",
        role=role,
        image=ContainerImage.xgboost("1.7-1"),
        code=REFERENCE / "scripts" / "evaluate.py",
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
        # Under the model's training job, not the run: a reused evaluation's report is where the gate reads it.
        outputs=[ProcessingOutput("evaluation", report_dir, source="/opt/ml/processing/evaluation")],
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
        network=isolated,
        name_prefix=f"{slug}-evaluate",
    )
    registry = ModelPackageGroup(
        group, "Registry", group_name=f"{slug}-models", description="Churn models that passed the gate"
    )
    register = ModelRegistrationDefinition(
        group,
        "Register",
        group=registry,
        training=train,
        evaluation_report_uri=sfn.JsonPath.format(
            f"s3://{{}}/{DataPrefix.EVALUATION}{{}}/evaluation.json", data.bucket_name, trained
        ),
        data_quality_baseline=baseline,
        description="XGBoost churn model",
    )
    deployment = ModelDeployment(
        group,
        "Deployment",
        group=registry,
        role=role,
        endpoint_name=f"sm-constructs-{slug}",
        instance_type="ml.m5.large",
        data_capture=DataCapture(
            data.s3_uri(f"{DataPrefix.DATA_CAPTURE}{slug}/"), sampling_percentage=20, kms_key=data.encryption_key
        ),
        kms_key=data.encryption_key,
        network=isolated,
        autoscaling=EndpointAutoscaling(min_capacity=1, max_capacity=4, target_value=100),
        # Daily data-quality monitoring against the deployed version's baseline. Drift of tenure and
        # monthly charges alarms: columns _c1 and _c2 (no header; _c0 is the label in the training
        # data and the model's output in the capture, reference/scripts/preprocess.py).
        monitoring=DataQualityMonitor(
            output_uri=data.s3_uri(f"{DataPrefix.MONITORING}reports/{slug}/"),
            output_kms_key=data.encryption_key,
            cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
            alarm_features=["_c1", "_c2"],
        ),
        batch_transform=lambda scope, model: TransformDefinition(
            scope,
            "BatchTransform",
            model=model,
            input_uri=data.s3_uri(f"{DataPrefix.PROCESSED}latest/batch/"),
            output_path=_uri(data, DataPrefix.BATCH),
            output_kms_key=data.encryption_key,
            cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
            name_prefix=f"{slug}-transform",
        ),
        name_prefix=slug,
        state_machine_name=f"sm-constructs-{slug}-deployment",
        **parts,
    )
    pipeline = MlPipeline(
        group,
        "Pipeline",
        preprocessing=[prepare, baseline],
        training=train,
        evaluation=evaluate,
        quality_gate=QualityGate(
            bucket=data.bucket,
            key=sfn.JsonPath.format(f"{DataPrefix.EVALUATION}{{}}/evaluation.json", trained),
            metric="metrics.auc",
            threshold=0.75,
        ),
        registration=register,
        # each run's facts (steps, data fingerprints, lineage) as JSON under runs/<execution name>/
        manifest=RunManifest(bucket=data, key_prefix=DataPrefix.RUNS),
        approval="manual",
        inputs=[
            InputField(
                "inputDataUri",
                kind="s3_uri",
                default=data.s3_uri(DataPrefix.RAW),
                description="S3 prefix of the raw CSV data",
            ),
            InputField(
                "processingInstanceType",
                kind="instance_type",
                default="ml.m5.large",
                description="preprocessing instances",
            ),
            InputField(
                "trainingInstanceType", kind="instance_type", default="ml.m5.xlarge", description="training instances"
            ),
            InputField(
                "numRound", default=str(hyperparameters["num_round"]), description="XGBoost boosting rounds (num_round)"
            ),
        ],
        schedule=scheduler.ScheduleExpression.rate(Duration.days(7)) if index == 0 else None,
        state_machine_name=f"sm-constructs-{slug}",
        # Preprocessing, training and evaluation reuse a Completed job with the same request.
        cache=StepCache(expire_after=Duration.days(30)),
        **parts,
    )
    return pipeline, deployment


def churn_tuning(scope: Stack, data: MlDataBucket, role: SageMakerExecutionRole) -> TuningDefinition:
    """A stand-alone tuning job over the same training setup.

    Run as an :class:`MlPipeline` with the tuning job as its only stage, so it has what the churn
    pipeline has: retries, a catch that notifies an encrypted SNS topic, and alarms on failed and
    timed-out executions.
    """
    group = Construct(scope, "ChurnTuning")
    base = TrainingDefinition(
        group,
        "TrainTemplate",
        role=role,
        image=ContainerImage.xgboost("1.7-1"),
        output_path=data.s3_uri(f"{DataPrefix.MODELS}tuning"),
        channels=[
            TrainingChannel("train", data.s3_uri(f"{DataPrefix.PROCESSED}latest/train/"), content_type="text/csv"),
            TrainingChannel(
                "validation", data.s3_uri(f"{DataPrefix.PROCESSED}latest/validation/"), content_type="text/csv"
            ),
        ],
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "120"},
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(volume_kms_key=data.encryption_key),
        network=NetworkConfig(enable_network_isolation=True),
        name_prefix="churn-tune-template",
    )
    tuning = TuningDefinition(
        group,
        "Tune",
        training=base,
        objective_metric="validation:auc",
        ranges=[IntegerRange("max_depth", 2, 6), ContinuousRange("eta", 0.05, 0.5, scaling="Logarithmic")],
        max_training_jobs=8,
        max_parallel_jobs=2,
        name_prefix="churn-tune",
    )
    tuning.pipeline = MlPipeline(  # type: ignore[attr-defined]
        group, "Pipeline", training=tuning, state_machine_name="sm-constructs-churn-tuning"
    )
    return tuning


def add_compliance_checks(app: App) -> None:
    """The four cdk-nag packs and SageMakerChecks; any unacknowledged finding fails synth."""
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

    from sm_constructs.nag import SageMakerChecks

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app), PCIDSS321Checks(app)
    )
    Validations.of(app).add_plugins(SageMakerChecks(app))


def build(app: App, *, pipelines: int = 1, nag: bool = True) -> ReferenceStack:
    stack = ReferenceStack(app, "SmConstructsReference", pipelines=pipelines)
    if nag:
        add_compliance_checks(app)
    return stack


def main() -> None:
    app = App(outdir=os.environ.get("CDK_OUTDIR"))
    build(app, pipelines=int(os.environ.get("BENCH_PIPELINES", "1")), nag=os.environ.get("SM_NAG", "1") == "1")
    app.synth()


if __name__ == "__main__":
    main()
