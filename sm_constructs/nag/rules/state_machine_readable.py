"""The pack can read every state machine definition it is asked to check."""

from typing import Any

from aws_cdk import CfnResource

from .._rule import STATE_MACHINE, Context, SageMakerRule, properties_rule
from .._values import Verdict


def _verdict(props: dict[str, Any], node: CfnResource, context: Context) -> tuple[str, str]:
    machine = context.machine(node)
    return (Verdict.OK if machine.asl is not None else Verdict.UNKNOWN), "Definition"


RULE = SageMakerRule(
    id="StateMachineReadable",
    info="The state machine's definition cannot be read at synth, so its SageMaker tasks are not checked.",
    explanation=(
        "The definition comes from S3 (DefinitionS3Location) or is a CloudFormation intrinsic as a whole, so "
        "none of the job rules can see the states. "
        "Fix: define the state machine in the app (sfn.DefinitionBody.from_chainable or from_string). "
        "If its SageMaker work is reviewed elsewhere, acknowledge the finding with that reason."
    ),
    check=properties_rule(STATE_MACHINE, _verdict),
)
