"""Studio in a default MlVpc (a domain, a user profile, a shared space) and a one-step processing
pipeline the user may start from Studio: it summarises the raw CSV files of the data bucket."""

from aws_cdk import App, CfnOutput, Stack
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    DataPrefix,
    MlDataBucket,
    MlVpc,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
    StudioDomain,
    StudioSharedSpace,
    StudioUserProfile,
)


class StudioSummaryStack(Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        network = MlVpc(self, "Network")
        studio = StudioDomain(self, "Studio", data_bucket=data, vpc=network.vpc)
        ana = StudioUserProfile(
            self, "Ana", domain=studio, user_profile_name="ana", data_access={DataPrefix.RAW: "read_write"}
        )
        StudioSharedSpace(self, "Team", domain=studio, space_name="team", owner=ana)

        role = SageMakerExecutionRole(self, "JobRole")
        data.grant_read(role, DataPrefix.RAW)
        data.grant_read_write(role, DataPrefix.PROCESSED)
        summarise = ProcessingDefinition(
            self,
            "Summarise",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            code="scripts/summarise.py",
            inputs=[ProcessingInput("raw", data.s3_uri(DataPrefix.RAW))],
            outputs=[ProcessingOutput("summary", data.s3_uri(f"{DataPrefix.PROCESSED}summary/"))],
            name_prefix="studio-summary",
        )
        machine = summarise.to_state_machine(state_machine_name="studio-summary")
        machine.grant_start_and_read(ana)

        CfnOutput(self, "PipelineArn", value=machine.state_machine_arn)
        CfnOutput(self, "DataBucketName", value=data.bucket_name)
        CfnOutput(self, "StudioDomainId", value=studio.domain_id)


app = App()
StudioSummaryStack(app, "StudioSummary")
app.synth()
