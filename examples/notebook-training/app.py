"""A data lake bucket made by one stack, used by another: a notebook instance for exploring it and a
script-mode training job (scikit-learn) run from a one-step state machine."""

from aws_cdk import App, CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    DataPrefix,
    MlDataBucket,
    NotebookInstance,
    SageMakerExecutionRole,
    TrainingChannel,
    TrainingDefinition,
)


class LakeStack(Stack):
    """The team's existing bucket (aws-cdk's defaults: S3-managed encryption, retained on delete)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(self, "Lake", enforce_ssl=True)
        CfnOutput(self, "LakeBucketName", value=self.bucket.bucket_name)


class NotebookTrainingStack(Stack):
    def __init__(self, scope: Construct, id: str, *, lake: s3.IBucket) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data", existing_bucket=lake)
        role = SageMakerExecutionRole(self, "ExecutionRole")
        data.grant_read(role, DataPrefix.RAW)
        data.grant_read_write(role, DataPrefix.MODELS)
        NotebookInstance(self, "Notebook", data_bucket=data, execution_role=role, idle_timeout_minutes=60)

        train = TrainingDefinition(
            self,
            "Train",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            entry_point="scripts/train.py",
            output_path=data.s3_uri(f"{DataPrefix.MODELS}fuel"),
            channels=[TrainingChannel("train", data.s3_uri(f"{DataPrefix.RAW}fuel/"), content_type="text/csv")],
            hyperparameters={"alpha": "1.0"},
            metric_definitions={"train:r2": r"train r2: ([0-9.]+)"},
            name_prefix="fuel-train",
        )
        machine = train.to_state_machine(state_machine_name="fuel-training")
        CfnOutput(self, "TrainingStateMachineArn", value=machine.state_machine_arn)


app = App()
lake = LakeStack(app, "Lake")
NotebookTrainingStack(app, "NotebookTraining", lake=lake.bucket)
app.synth()
