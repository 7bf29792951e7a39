"""The reference app built with sm_constructs: ``app.build`` with ``BENCH_PIPELINES`` churn pipelines.

cdk-nag is off here and in ``baseline.py``, so that the comparison is of construct work only. Up to
:data:`PIPELINES_PER_STACK` pipelines this is exactly ``app.build(app, pipelines=N, nag=False)``; more
pipelines go to further stacks of the same shape (definitions in S3, the first pipeline's key, topic
and log group shared by the others), each with its own data bucket and execution role
(``baseline.py`` splits the same way).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aws_cdk import App, Stack
from constructs import Construct

import app as reference
from sm_constructs import DataPrefix, MlDataBucket, SageMakerExecutionRole
from sm_constructs.state_machine import DEFINITIONS_IN_S3_CONTEXT

#: Pipelines per stack: the reference stack with 25 pipelines stays under CloudFormation's 1,000,000
#: bytes and 500 resources (``bench/synth.py`` measures and asserts both at every N).
PIPELINES_PER_STACK = 25


class ShardStack(Stack):
    """Pipelines ``first`` .. ``first + pipelines - 1`` with their own data bucket and execution role."""

    def __init__(self, scope: Construct, id: str, *, first: int, pipelines: int) -> None:
        super().__init__(scope, id, description="sm_constructs reference: more churn pipelines")
        self.node.set_context(DEFINITIONS_IN_S3_CONTEXT, True)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "ExecutionRole")
        data.grant_read(role, DataPrefix.RAW)
        for prefix in (DataPrefix.PROCESSED, DataPrefix.MODELS, DataPrefix.EVALUATION, DataPrefix.BATCH):
            data.grant_read_write(role, prefix)
        data.grant_write(role, DataPrefix.DATA_CAPTURE)
        data.grant_read(role, DataPrefix.DATA_CAPTURE)
        data.grant_read_write(role, DataPrefix.MONITORING)
        shared = None
        for i in range(first, first + pipelines):
            pipeline, _ = reference.churn_pipeline(self, f"Churn{i + 1}", data, role, index=i, shared=shared)
            shared = shared or pipeline


def build(app: App, pipelines: int) -> None:
    reference.build(app, pipelines=min(pipelines, PIPELINES_PER_STACK), nag=False)
    for first in range(PIPELINES_PER_STACK, pipelines, PIPELINES_PER_STACK):
        ShardStack(
            app,
            f"SmConstructsReference{first // PIPELINES_PER_STACK + 1}",
            first=first,
            pipelines=min(PIPELINES_PER_STACK, pipelines - first),
        )


#: Templates are written without indentation, as aws-cdk-lib's Stack does with this context (its
#: suppressTemplateIndentation; CloudFormation's 1,000,000 bytes count the file as uploaded): the same for both apps.
CONTEXT = {"@aws-cdk/core:suppressTemplateIndentation": True}

if __name__ == "__main__":
    app = App(outdir=os.environ.get("CDK_OUTDIR"), context=CONTEXT)
    build(app, int(os.environ.get("BENCH_PIPELINES", "1")))
    app.synth()
