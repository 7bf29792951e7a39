"""The three stacks of a release across accounts, and the CDK Pipelines stage each deploys in.

* :class:`BuildStack` (build account): the artifacts bucket, the model package group and the
  :class:`~sm_constructs.ReleaseSource` that shares them with staging and production. A build
  pipeline (``MlPipeline`` with ``approval="manual"``) registers into the group.
* :class:`TargetStack` (staging / production account): a :class:`~sm_constructs.ModelDeployment` of
  the shared group. Staging deploys every approved version and smoke-tests it; production deploys
  only versions that passed staging and carry the production approval.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack, Stage
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sm_constructs import (
    PRODUCTION_GATE,
    MlDataBucket,
    ModelDeployment,
    ModelPackageGroup,
    ReleaseAccounts,
    ReleaseSource,
    ReleaseTarget,
    SageMakerExecutionRole,
    SmokeTest,
)

GROUP_NAME = "churn-models"
ENDPOINT_NAME = "churn"


def artifacts_bucket_name(accounts: ReleaseAccounts) -> str:
    """The build account's artifacts bucket, named so that the target accounts can refer to it."""
    return f"churn-artifacts-{accounts.build.account}-{accounts.build.region}"


def _env(env: Any) -> Environment:
    return Environment(account=env.account, region=env.region)


class BuildStack(Stack):
    def __init__(self, scope: Construct, id: str, *, accounts: ReleaseAccounts, **kwargs: Any) -> None:
        super().__init__(scope, id, env=_env(accounts.build), **kwargs)
        # the ML data bucket; the released versions' artifacts are under its models/ prefix
        self.data = MlDataBucket(self, "Data", bucket_props=s3.BucketProps(bucket_name=artifacts_bucket_name(accounts)))
        self.group = ModelPackageGroup(self, "Registry", group_name=GROUP_NAME)
        self.release = ReleaseSource(self, "Release", accounts=accounts, group=self.group, artifacts=self.data)


class TargetStack(Stack):
    def __init__(self, scope: Construct, id: str, *, accounts: ReleaseAccounts, stage: str, **kwargs: Any) -> None:
        super().__init__(scope, id, env=_env(accounts.stage(stage)), **kwargs)  # type: ignore[arg-type]
        self.target = ReleaseTarget(
            self,
            "Release",
            accounts=accounts,
            stage=stage,  # type: ignore[arg-type]
            group_name=GROUP_NAME,
            artifacts_bucket_name=artifacts_bucket_name(accounts),
        )
        self.model_role = SageMakerExecutionRole(self, "ModelRole")
        staging = stage == "staging"
        self.deployment = ModelDeployment(
            self,
            "Deployment",
            group=self.target.group,
            role=self.model_role,
            endpoint_name=f"{ENDPOINT_NAME}-{stage}",
            smoke_test=SmokeTest(payload="0.5,1.5,2.5", content_type="text/csv", expected_fields=())
            if staging
            else None,
            required_metadata=None if staging else PRODUCTION_GATE,
        )
        self.target.grant_release_read(self.model_role)
        self.target.grant_release_read(self.deployment.state_machine.role)


class ReleaseStage(Stage):
    """One account's stack as a CDK Pipelines stage (the same stack ``cdk deploy`` deploys)."""

    def __init__(self, scope: Construct, id: str, *, accounts: ReleaseAccounts, stage: str) -> None:
        env = accounts.build if stage == "build" else accounts.stage(stage)  # type: ignore[arg-type]
        super().__init__(scope, id, env=_env(env))
        if stage == "build":
            BuildStack(self, "Build", accounts=accounts)
        else:
            TargetStack(self, stage.title(), accounts=accounts, stage=stage)
