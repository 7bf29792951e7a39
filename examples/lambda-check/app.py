"""A cleaning job followed by a check of our own: a Python Lambda function reads the job's report and
a Choice state fails the run when too few rows survive. SageMaker tasks and a LambdaInvoke in one
``sfn`` chain, deployed as an MlStateMachine."""

from aws_cdk import App, CfnOutput, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    DataPrefix,
    MlDataBucket,
    MlStateMachine,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
)


class LambdaCheckStack(Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "Role")
        data.grant_read(role, DataPrefix.RAW)
        data.grant_read_write(role, DataPrefix.PROCESSED)

        cleaned = sfn.JsonPath.format(
            f"s3://{{}}/{DataPrefix.PROCESSED}{{}}/", data.bucket_name, sfn.JsonPath.execution_name
        )
        clean = ProcessingDefinition(
            self,
            "Clean",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code="scripts/clean.py",
            inputs=[ProcessingInput("raw", data.s3_uri(DataPrefix.RAW))],
            outputs=[ProcessingOutput("cleaned", cleaned)],
            name_prefix="orders-clean",
        )

        check = lambda_.Function(
            self,
            "CheckFunction",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="check.handler",
            code=lambda_.Code.from_asset("check"),
            environment={"MIN_ROWS": "100"},
            timeout=Duration.seconds(30),
        )
        data.grant_read(check, DataPrefix.PROCESSED)
        check_step = tasks.LambdaInvoke(
            self,
            "CheckRows",
            lambda_function=check,
            payload=sfn.TaskInput.from_object({"report": sfn.JsonPath.format("{}report.json", cleaned)}),
            result_selector={"verdict.$": "$.Payload"},
            result_path="$.check",
        )
        enough = sfn.Choice(self, "EnoughRows?").when(
            sfn.Condition.boolean_equals("$.check.verdict.ok", True), sfn.Succeed(self, "Cleaned")
        )
        enough.otherwise(sfn.Fail(self, "TooFewRows", cause="the cleaned data has too few rows"))
        machine = MlStateMachine(
            self,
            "Pipeline",
            definition_body=sfn.DefinitionBody.from_chainable(clean.task().next(check_step).next(enough)),
            state_machine_name="orders-clean",
        )
        CfnOutput(self, "PipelineArn", value=machine.state_machine_arn)
        CfnOutput(self, "DataBucketName", value=data.bucket_name)


app = App()
LambdaCheckStack(app, "LambdaCheck")
app.synth()
