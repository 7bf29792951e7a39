"""Jobs set how long they may run."""

from .._rule import SageMakerRule, task_rule
from ._jobs import field_is_set, job_with_field

#: The job's own limit lives in StoppingCondition (botocore's model); a tuning job's training jobs each have one.
CONTAINER = "^StoppingCondition$"

RULE = SageMakerRule(
    id="JobMaxRuntime",
    info="A SageMaker job started by this state machine does not set StoppingCondition.MaxRuntimeInSeconds.",
    explanation=(
        "A job without its own limit runs (and bills) until SageMaker's default stops it (1 day for training) "
        "when a script hangs or a data set is larger than expected; an explicit limit bounds cost and lets the "
        "state's TimeoutSeconds follow from it. "
        "Fix with sm_constructs: max_runtime= on the job definition (set by default: 1 hour for training). "
        "Without: StoppingCondition.MaxRuntimeInSeconds in the request (aws-stepfunctions-tasks: "
        "stopping_condition=StoppingCondition(max_runtime=...))."
    ),
    check=task_rule(
        job_with_field("MaxRuntimeInSeconds", container=CONTAINER),
        field_is_set("MaxRuntimeInSeconds", container=CONTAINER),
    ),
)
