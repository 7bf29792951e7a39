"""State machines that run SageMaker work log every event."""

from typing import Any

from aws_cdk import CfnResource

from .._asl import get
from .._model import combine
from .._rule import STATE_MACHINE, Context, SageMakerRule, properties_rule
from .._values import Verdict, equals, is_present
from ._machines import calls_sagemaker


def _verdict(props: dict[str, Any], node: CfnResource, context: Context) -> tuple[str, str]:
    if not calls_sagemaker(node, context):
        return Verdict.NA, ""
    logging = get(props, ("LoggingConfiguration",))
    return (
        combine([equals(get(logging, ("Level",)), "ALL", default="OFF"), is_present(get(logging, ("Destinations",)))]),
        "LoggingConfiguration",
    )


RULE = SageMakerRule(
    id="StateMachineLoggingAll",
    info="A state machine that calls SageMaker does not log ALL events to CloudWatch Logs.",
    explanation=(
        "Execution history is kept 90 days and shows no job requests once an execution is gone; with logging "
        "level ALL every state's input and output (the SageMaker requests and responses) is kept in a log group "
        "you control, for audits and for finding out why a job failed. "
        "Fix with sm_constructs: MlStateMachine / MlPipeline / to_state_machine() log ALL to an encrypted log "
        "group. Without: logs=LogOptions(destination=log_group, level=LogLevel.ALL) on sfn.StateMachine."
    ),
    check=properties_rule(STATE_MACHINE, _verdict),
)
