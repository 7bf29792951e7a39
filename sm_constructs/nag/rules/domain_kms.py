"""Studio domains encrypt their home file system with a customer-managed key."""

from .._rule import SageMakerRule, set_at, settings_rule
from ._domain import DOMAIN

RULE = SageMakerRule(
    id="DomainKms",
    info="The Studio domain does not set KmsKeyId for its EFS home directories.",
    explanation=(
        "Every user's home directory (data, notebooks, credentials files) lives on the domain's EFS volume; "
        "without KmsKeyId it is encrypted with an AWS-managed key you cannot restrict or revoke. "
        "Fix: KmsKeyId on AWS::SageMaker::Domain (a customer-managed key with rotation, e.g. kms.Key(..., "
        "enable_key_rotation=True))."
    ),
    check=settings_rule(DOMAIN, "KmsKeyId", set_at("KmsKeyId")),
)
