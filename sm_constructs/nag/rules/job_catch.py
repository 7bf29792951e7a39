"""A failed job leads to a handled failure path."""

from typing import Any

from .._asl import Task
from .._rule import SageMakerRule, task_rule
from .._values import Deployed, RunTime, Verdict
from ._jobs import creates_job

#: Errors a failed job raises with .sync are caught by these (Step Functions Developer Guide, "Error names").
CATCH_ALL = frozenset({"States.ALL", "States.TaskFailed"})


def _catches(state: dict[str, Any]) -> str:
    catchers = state.get("Catch")
    if isinstance(catchers, RunTime | Deployed):
        return Verdict.UNKNOWN
    for catcher in catchers or []:
        errors = catcher.get("ErrorEquals") if isinstance(catcher, dict) else None
        if isinstance(errors, list) and CATCH_ALL.intersection(e for e in errors if isinstance(e, str)):
            return Verdict.OK
    return Verdict.FAIL


def _verdict(task: Task, node: Any, context: Any) -> str:
    verdicts = [_catches(state) for state in (task.state, *task.enclosing)]
    if Verdict.OK in verdicts:
        return Verdict.OK
    return Verdict.UNKNOWN if Verdict.UNKNOWN in verdicts else Verdict.FAIL


RULE = SageMakerRule(
    id="JobCatch",
    info="A state that runs a SageMaker job has no Catch for its failure (on the state or an enclosing Parallel/Map).",
    explanation=(
        "A job can fail after hours (bad data, out of memory, capacity). Without a Catch on States.ALL or "
        "States.TaskFailed (on the state or on an enclosing Parallel or Map state) the execution just ends "
        "failed: no notification, no cleanup, nothing telling the team which step failed and why. "
        "Fix with sm_constructs: MlPipeline catches every step into NotifyFailure (SNS) and PipelineFailed. "
        "Without: state.add_catch(handler, errors=['States.ALL'], result_path='$.error'). A one-step state "
        "machine whose failed executions are alarmed on can acknowledge the finding with that reason."
    ),
    check=task_rule(creates_job, _verdict),
)
