"""State machine rules apply to the state machines that call SageMaker."""

from aws_cdk import CfnResource

from .._rule import Context


def calls_sagemaker(node: CfnResource, context: Context) -> bool:
    return bool(context.machine(node).tasks)
