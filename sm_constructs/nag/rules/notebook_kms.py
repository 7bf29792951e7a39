"""Notebook storage volumes are encrypted with a customer-managed key."""

from .._rule import SageMakerRule, set_at, settings_rule
from ._notebook import NOTEBOOK

RULE = SageMakerRule(
    id="NotebookKms",
    info="The notebook instance does not set KmsKeyId for its storage volume.",
    explanation=(
        "The notebook's volume keeps everything users download and write; without KmsKeyId it is encrypted "
        "with an AWS-managed key that cannot be restricted to the notebook's role or revoked. "
        "Fix with sm_constructs: NotebookInstance (its own customer-managed key with rotation by default). "
        "Without: KmsKeyId on AWS::SageMaker::NotebookInstance."
    ),
    check=settings_rule(NOTEBOOK, "KmsKeyId", set_at("KmsKeyId")),
)
