"""State machines that run SageMaker work encrypt their data with a customer-managed key."""

from .._rule import SageMakerRule
from ._machines import machine_setting

RULE = SageMakerRule(
    id="StateMachineCmk",
    info="A state machine that calls SageMaker is not encrypted with a customer-managed KMS key.",
    explanation=(
        "Execution input, output and history carry S3 locations, hyperparameters, metrics and whatever the "
        "input holds; with an AWS-owned key (the default) you cannot restrict who decrypts them or audit it. "
        "Fix with sm_constructs: MlStateMachine / MlPipeline / to_state_machine() use their own key. "
        "Without: encryption_configuration=CustomerManagedEncryptionConfiguration(key) on sfn.StateMachine."
    ),
    check=machine_setting(
        "EncryptionConfiguration", "Type", "CUSTOMER_MANAGED_KMS_KEY", default="AWS_OWNED_KEY", required="KmsKeyId"
    ),
)
