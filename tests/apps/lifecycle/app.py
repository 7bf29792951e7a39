"""A small app for the emulator's life cycle: a Lambda function (inline code), a bucket, a
pipeline that only waits, a processing job that runs until stopped, and stack outputs."""

from aws_cdk import App, CfnOutput, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    DataPrefix,
    MlDataBucket,
    ProcessingDefinition,
    ProcessingInput,
    SageMakerExecutionRole,
)


class LifecycleStack(Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        function = lambda_.Function(
            self,
            "Hello",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return {'hello': 'world'}\n"),
        )
        wait = sfn.Wait(self, "Wait100s", time=sfn.WaitTime.duration(Duration.seconds(100)))
        sfn.StateMachine(
            self, "Waits", state_machine_name="lifecycle-wait", definition_body=sfn.DefinitionBody.from_chainable(wait)
        )
        role = SageMakerExecutionRole(self, "Role")
        data.grant_read(role, DataPrefix.RAW)
        hold = ProcessingDefinition(
            self,
            "Hold",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code="scripts/hold.py",
            inputs=[ProcessingInput("raw", data.s3_uri(DataPrefix.RAW))],
            name_prefix="lifecycle-hold",
        )
        hold.to_state_machine(state_machine_name="lifecycle-hold")
        CfnOutput(self, "BucketName", value=data.bucket.bucket_name)
        CfnOutput(self, "FunctionArn", value=function.function_arn)


app = App()
LifecycleStack(app, "Lifecycle")
app.synth()
