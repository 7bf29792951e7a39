"""Every SageMaker call retries when SageMaker throttles it."""

from ..._sfn_errors import throttling_error
from .._asl import Task
from .._rule import SageMakerRule, task_rule
from .._values import Deployed, RunTime, Verdict

#: Step Functions' wildcards also cover throttling (Developer Guide, "Error names": States.ALL matches any
#: error, States.TaskFailed any but States.Timeout).
WILDCARDS = frozenset({"States.ALL", "States.TaskFailed"})


def throttling_names(task: Task) -> frozenset[str]:
    """The names that catch a throttled call of this task: its integration's name (one table, with its
    sources: :mod:`sm_constructs._sfn_errors`) and the wildcards."""
    return WILDCARDS | {throttling_error(sdk=task.sdk)}


def retries_throttling(task: Task) -> str:
    state, names = task.state, throttling_names(task)
    verdict = Verdict.FAIL
    retriers = state.get("Retry")
    if isinstance(retriers, RunTime | Deployed):
        return Verdict.UNKNOWN
    for retrier in retriers or []:
        if not isinstance(retrier, dict) or retrier.get("MaxAttempts", 3) == 0:
            continue
        errors = retrier.get("ErrorEquals")
        if not isinstance(errors, list):
            verdict = Verdict.UNKNOWN
        elif names.intersection(e for e in errors if isinstance(e, str)):
            return Verdict.OK
    return verdict


RULE = SageMakerRule(
    id="TaskRetryThrottling",
    info="A state that calls SageMaker has no Retry for throttling errors.",
    explanation=(
        "SageMaker throttles control-plane calls per account and Region (ThrottlingException); a pipeline that "
        "runs beside others or in a loop meets it, and without a Retry the whole execution fails on a transient "
        "error. A Retry with MaxAttempts 0 does not count. "
        "Fix with sm_constructs: every definition's task() retries RETRYABLE_ERRORS with backoff and jitter; "
        "add_default_retry(state) does the same for your own states. "
        "Without: add_retry(errors=['SageMaker.AmazonSageMakerException'], backoff_rate=2, "
        "jitter_strategy=JitterType.FULL) on an optimized (states:::sagemaker:) state, errors="
        "['SageMaker.SageMakerException'] on an AWS SDK (states:::aws-sdk:sagemaker:) state (SageMaker's API "
        "does not model ThrottlingException, so Step Functions never reports SageMaker.ThrottlingException), "
        "or States.ALL / States.TaskFailed."
    ),
    check=task_rule(lambda task: True, lambda task, node, context: retries_throttling(task)),
)
