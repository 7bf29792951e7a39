"""A small CDK app of its own (not the reference app): one processing job with hard-coded container paths."""

from aws_cdk import App, Stack
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    DataPrefix,
    MlDataBucket,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
)


class TinyStack(Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "Role")
        data.grant_read(role, DataPrefix.RAW)
        data.grant_read_write(role, DataPrefix.PROCESSED)
        count = ProcessingDefinition(
            self,
            "Count",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code="scripts/count.py",
            inputs=[ProcessingInput("raw", data.s3_uri(DataPrefix.RAW))],
            outputs=[ProcessingOutput("counts", data.s3_uri(f"{DataPrefix.PROCESSED}counts/"))],
            name_prefix="tiny-count",
        )
        count.to_state_machine(state_machine_name="tiny-count")


app = App()
TinyStack(app, "Tiny")
app.synth()
