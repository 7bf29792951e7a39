"""The release's own delivery: a CDK Pipelines pipeline in the build account.

Source (a CodeStar connection to the repository) → synth (``cdk synth``) → build stage → staging
stage → a manual promotion → production stage. Each stage deploys the same stack as a plain
``cdk deploy`` of ``app.py`` does; the target accounts are bootstrapped to trust the build account
(``cdk bootstrap --trust <build account> aws://<account>/<region>``).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, pipelines
from aws_cdk import aws_codepipeline as codepipeline
from constructs import Construct
from release_stacks import ReleaseStage

from sm_constructs import ReleaseAccounts


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        accounts: ReleaseAccounts,
        repository: str,
        connection_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        source = pipelines.CodePipelineSource.connection(repository, "main", connection_arn=connection_arn)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            cross_account_keys=True,  # the artifact bucket's key is shared with the target accounts' deploy roles
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                commands=["pip install -r requirements.txt", "npx cdk synth"],
                primary_output_directory="cdk.out",
            ),
        )
        self.pipeline.add_stage(ReleaseStage(self, "Registry", accounts=accounts, stage="build"))
        self.pipeline.add_stage(ReleaseStage(self, "Staging", accounts=accounts, stage="staging"))
        self.pipeline.add_stage(
            ReleaseStage(self, "Production", accounts=accounts, stage="production"),
            pre=[pipelines.ManualApprovalStep("PromoteToProduction")],
        )
