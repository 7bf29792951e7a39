#!/usr/bin/env python3
"""Release end-to-end app: a build pipeline that approves by its quality gate (``approval="auto"``)
and deploys from the approved version, and a ModelDeployment that deploys what a person approves."""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App, Duration, Stack
from aws_cdk import aws_stepfunctions as sfn

from sm_constructs import (
    ClusterConfig,
    ContainerImage,
    DataCapture,
    DataPrefix,
    DataQualityMonitor,
    EndpointAutoscaling,
    EndpointConfigDefinition,
    EndpointDeployment,
    InputField,
    MlDataBucket,
    MlPipeline,
    ModelDefinition,
    ModelDeployment,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    ProcessingDefinition,
    ProcessingOutput,
    QualityGate,
    SageMakerExecutionRole,
)

HERE = Path(__file__).resolve().parent
RUN = sfn.JsonPath.execution_name
STACK = "SmConstructsRelease"


class ReleaseStack(Stack):
    def __init__(self, scope: App, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "ExecutionRole")
        data.grant_read_write(role, DataPrefix.EVALUATION)
        data.grant_read(role, DataPrefix.MODELS)
        data.grant_read_write(role, DataPrefix.DATA_CAPTURE)
        data.grant_read_write(role, DataPrefix.MONITORING)
        image = ContainerImage.xgboost("1.7-1").bind(self).image_uri

        # ---- build pipeline, approval by the quality gate ------------------------------------
        auto_group = ModelPackageGroup(self, "AutoRegistry", group_name="release-auto-models")
        score = ProcessingDefinition(
            self,
            "Score",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code=HERE / "scripts" / "score.py",
            arguments=["--auc", sfn.JsonPath.string_at("$.input.auc"), "--output-dir", "/opt/ml/processing/evaluation"],
            outputs=[
                ProcessingOutput(
                    "evaluation",
                    sfn.JsonPath.format(f"s3://{{}}/{DataPrefix.EVALUATION}{{}}/", data.bucket_name, RUN),
                    source="/opt/ml/processing/evaluation",
                )
            ],
            output_kms_key=data.encryption_key,
            cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
            name_prefix="release-score",
        )
        register = ModelRegistrationDefinition(
            self,
            "Register",
            group=auto_group,
            image=image,
            model_data_url=sfn.JsonPath.string_at("$.input.modelDataUri"),
        )
        model = ModelDefinition(self, "Model", role=role, model_package=register, name_prefix="release-auto-model")
        config = EndpointConfigDefinition(self, "EndpointConfig", model=model, name_prefix="release-auto-config")
        deploy = EndpointDeployment(
            self,
            "Deploy",
            endpoint_name="release-auto",
            config=config,
            autoscaling=EndpointAutoscaling(min_capacity=1, max_capacity=3, target_value=50),
        )
        pipeline = MlPipeline(
            self,
            "AutoPipeline",
            evaluation=score,
            quality_gate=QualityGate(
                bucket=data.bucket,
                key=sfn.JsonPath.format(f"{DataPrefix.EVALUATION}{{}}/evaluation.json", RUN),
                metric="metrics.auc",
                threshold=0.75,
            ),
            registration=register,
            approval="auto",
            model=model,
            deployment=[config, deploy],
            inputs=[
                InputField("auc", default="0.9", description="the AUC the scoring step reports"),
                InputField("modelDataUri", kind="s3_uri", description="the model artifact"),
            ],
            state_machine_name="release-auto-build",
        )
        data.grant_read(pipeline.state_machine.role, DataPrefix.EVALUATION)

        # ---- deployment of what a person approves ----------------------------------------------
        manual_group = ModelPackageGroup(self, "ManualRegistry", group_name="release-manual-models")
        ModelDeployment(
            self,
            "ManualDeployment",
            group=manual_group,
            role=role,
            endpoint_name="release-manual",
            autoscaling=EndpointAutoscaling(min_capacity=1, max_capacity=2),
            # each approved version is monitored against the baseline registered with it
            data_capture=DataCapture(
                data.s3_uri(f"{DataPrefix.DATA_CAPTURE}manual/"), sampling_percentage=50, kms_key=data.encryption_key
            ),
            kms_key=data.encryption_key,
            monitoring=DataQualityMonitor(
                output_uri=data.s3_uri(f"{DataPrefix.MONITORING}reports/manual/"),
                output_kms_key=data.encryption_key,
                cluster=ClusterConfig(instance_type="ml.m5.large", volume_kms_key=data.encryption_key),
            ),
            poll_interval=Duration.seconds(5),
        )


def main() -> None:
    app = App(outdir=os.environ.get("CDK_OUTDIR"))
    ReleaseStack(app, STACK)
    app.synth()


if __name__ == "__main__":
    main()
