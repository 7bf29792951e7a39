"""State machines that run SageMaker work log every event."""

from .._rule import SageMakerRule
from ._machines import machine_setting

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
    check=machine_setting("LoggingConfiguration", "Level", "ALL", default="OFF", required="Destinations"),
)
