"""State machines that run SageMaker work encrypt their data with a customer-managed key."""

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
    encryption = get(props, ("EncryptionConfiguration",))
    return (
        combine(
            [
                equals(get(encryption, ("Type",)), "CUSTOMER_MANAGED_KMS_KEY", default="AWS_OWNED_KEY"),
                is_present(get(encryption, ("KmsKeyId",))),
            ]
        ),
        "EncryptionConfiguration",
    )


RULE = SageMakerRule(
    id="StateMachineCmk",
    info="A state machine that calls SageMaker is not encrypted with a customer-managed KMS key.",
    explanation=(
        "Execution input, output and history carry S3 locations, hyperparameters, metrics and whatever the "
        "input holds; with an AWS-owned key (the default) you cannot restrict who decrypts them or audit it. "
        "Fix with sm_constructs: MlStateMachine / MlPipeline / to_state_machine() use their own key. "
        "Without: encryption_configuration=CustomerManagedEncryptionConfiguration(key) on sfn.StateMachine."
    ),
    check=properties_rule(STATE_MACHINE, _verdict),
)
