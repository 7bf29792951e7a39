"""Every SageMaker call retries when SageMaker throttles it."""

from typing import Any

from sm_constructs.jobs import RETRYABLE_ERRORS

from .._rule import STATE_MACHINE, SageMakerRule, task_rule
from .._values import Deployed, RunTime, Verdict

#: Error names that cover throttling: the throttling names of our retry table (optimized integrations
#: report ``SageMaker.ThrottlingException``, AWS SDK integrations the exception name) and Step Functions'
#: wildcards (Developer Guide, "Error names": States.ALL matches any error, States.TaskFailed any but
#: States.Timeout).
THROTTLING_ERRORS = frozenset(
    {*(e for e in RETRYABLE_ERRORS if e.endswith("ThrottlingException")), "States.ALL", "States.TaskFailed"}
)


def retries_throttling(state: dict[str, Any]) -> str:
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
        elif THROTTLING_ERRORS.intersection(e for e in errors if isinstance(e, str)):
            return Verdict.OK
    return verdict


RULE = SageMakerRule(
    id="TaskRetryThrottling",
    resource_types=frozenset({STATE_MACHINE}),
    info="A state that calls SageMaker has no Retry for throttling errors.",
    explanation=(
        "SageMaker throttles control-plane calls per account and Region (ThrottlingException); a pipeline that "
        "runs beside others or in a loop meets it, and without a Retry the whole execution fails on a transient "
        "error. A Retry with MaxAttempts 0 does not count. "
        "Fix with sm_constructs: every definition's task() retries RETRYABLE_ERRORS with backoff and jitter; "
        "add_default_retry(state) does the same for your own states. "
        "Without: add_retry(errors=['SageMaker.ThrottlingException', 'ThrottlingException'], backoff_rate=2, "
        "jitter_strategy=JitterType.FULL) (or States.ALL / States.TaskFailed) on the state."
    ),
    check=task_rule(lambda task: True, lambda task, node, context: retries_throttling(task.state)),
)
