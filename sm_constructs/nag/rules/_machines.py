"""State machine rules apply to the state machines that call SageMaker."""

from aws_cdk import CfnResource

from .._rule import STATE_MACHINE, Check, Context, equal_at, set_at, settings_rule


def calls_sagemaker(node: CfnResource, context: Context) -> bool:
    return bool(context.machine(node).tasks)


def machine_setting(block: str, field: str, to: str, *, default: str, required: str) -> Check:
    """A state machine that calls SageMaker has ``block.field`` = ``to`` (``default``: Step Functions' value when
    it is not set) and ``block.required`` set; a finding names ``block``."""
    return settings_rule(
        STATE_MACHINE,
        block,
        equal_at(block, field, to=to, default=default),
        set_at(block, required),
        applies=calls_sagemaker,
    )
