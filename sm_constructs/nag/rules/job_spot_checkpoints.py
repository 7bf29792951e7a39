"""Managed spot training saves checkpoints and bounds its wait."""

from .._asl import get
from .._model import Definition, combine
from .._rule import SageMakerRule, task_rule
from .._values import Deployed, RunTime, Verdict, is_set
from ._jobs import job_with_field, per_definition


def _definition_verdict(definition: Definition) -> str:
    if isinstance(definition.value, RunTime | Deployed):
        return Verdict.UNKNOWN
    spot = get(definition.value, ("EnableManagedSpotTraining",))
    if isinstance(spot, RunTime | Deployed):
        return Verdict.UNKNOWN
    if spot is not True:
        return Verdict.OK
    # Both shapes refuse an empty value (botocore: CheckpointConfig.S3Uri is required with the S3Uri
    # pattern, MaxWaitTimeInSeconds has min 1): a value read from the state is set at run time.
    return combine(
        [
            is_set(get(definition.value, ("CheckpointConfig", "S3Uri"))),
            is_set(get(definition.value, ("StoppingCondition", "MaxWaitTimeInSeconds"))),
        ]
    )


RULE = SageMakerRule(
    id="JobSpotCheckpoints",
    info="A managed spot training job has no CheckpointConfig.S3Uri or no StoppingCondition.MaxWaitTimeInSeconds.",
    explanation=(
        "Spot capacity can be reclaimed at any time: without checkpoints in S3 an interrupted job restarts from "
        "zero, so spot saves nothing, and without MaxWaitTimeInSeconds it cannot bound the time spent waiting "
        "for capacity. "
        "Fix with sm_constructs: TrainingDefinition(use_spot_instances=True, max_wait=..., checkpoint_s3_uri=...) "
        "(validated at synth). "
        "Without: CheckpointConfig.S3Uri and StoppingCondition.MaxWaitTimeInSeconds in the request."
    ),
    check=task_rule(job_with_field("EnableManagedSpotTraining"), per_definition(_definition_verdict)),
)
