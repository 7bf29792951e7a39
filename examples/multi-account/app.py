#!/usr/bin/env python3
"""A release across three accounts: build, staging, production.

``cdk deploy --all`` deploys the three stacks directly (each into its own account, with credentials
for each); with ``-c pipeline=true`` the app is instead a CDK Pipelines pipeline in the build account
that deploys the same stacks stage by stage, with a manual promotion before production.

The accounts come from context (``cdk.json``'s ``sm-constructs:release``).
"""

from __future__ import annotations

from aws_cdk import App, Environment
from release_pipeline import PipelineStack
from release_stacks import BuildStack, TargetStack

from sm_constructs import ReleaseAccounts


def build(app: App) -> None:
    accounts = ReleaseAccounts.from_context(app)
    if app.node.try_get_context("pipeline") in (True, "true"):
        PipelineStack(
            app,
            "ChurnReleasePipeline",
            accounts=accounts,
            repository=app.node.get_context("repository"),
            connection_arn=app.node.get_context("connection_arn"),
            env=Environment(account=accounts.build.account, region=accounts.build.region),
        )
        return
    BuildStack(app, "ChurnBuild", accounts=accounts)
    TargetStack(app, "ChurnStaging", accounts=accounts, stage="staging")
    TargetStack(app, "ChurnProduction", accounts=accounts, stage="production")


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
