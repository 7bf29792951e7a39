"""Job states wait for their job with the ``.sync`` integration pattern."""

from typing import Any

from .._asl import Task
from .._rule import SageMakerRule, task_rule
from .._values import Verdict
from ._jobs import creates_job


def _verdict(task: Task, node: Any, context: Any) -> str:
    return Verdict.OK if not task.sdk and task.pattern.startswith(".sync") else Verdict.FAIL


RULE = SageMakerRule(
    id="JobSync",
    info="A state starts a SageMaker job without the .sync integration pattern.",
    explanation=(
        "Only the optimized integration with .sync (arn:...:states:::sagemaker:create...Job.sync) makes the state "
        "wait for the job, fail when the job fails, and stop the job when the execution is stopped or times out. "
        "Request-response or aws-sdk:sagemaker calls return as soon as the job is created: later states read "
        "outputs that do not exist yet and an aborted execution leaves the job running. "
        "Fix with sm_constructs: the definitions' task() uses .sync. "
        "Without: integration_pattern=IntegrationPattern.RUN_JOB (aws-stepfunctions-tasks) or the .sync resource "
        "ARN in a CustomState."
    ),
    check=task_rule(creates_job, _verdict),
)
