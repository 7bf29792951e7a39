"""Endpoint configurations encrypt the endpoint's storage volume with a customer-managed key."""

from typing import Any

from .._asl import get
from .._rule import SageMakerRule, request_rule
from .._values import Deployed, RunTime, Verdict, is_present

ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"


def _serverless_only(config: Any) -> bool:
    """Serverless variants have no ML storage volume to encrypt (why EndpointConfigDefinition refuses kms_key with serverless)."""
    variants = get(config, ("ProductionVariants",))
    return (
        isinstance(variants, list)
        and bool(variants)
        and all(isinstance(v, dict) and isinstance(get(v, ("ServerlessConfig",)), dict) for v in variants)
    )


def config_verdict(config: Any) -> str:
    if isinstance(config, RunTime | Deployed):
        return Verdict.UNKNOWN
    if _serverless_only(config):
        return Verdict.NA
    return is_present(get(config, ("KmsKeyId",)))


RULE = SageMakerRule(
    id="EndpointConfigKms",
    info="An endpoint configuration does not set KmsKeyId for the endpoint's storage volume.",
    explanation=(
        "The ML storage volume of each endpoint instance holds the model artifacts and may hold request data; "
        "without KmsKeyId it is encrypted with an AWS-managed key you cannot restrict or revoke. Serverless-only "
        "configurations have no volume and are not checked. "
        "Fix with sm_constructs: EndpointConfigDefinition(kms_key=...). "
        "Without: KmsKeyId on the CreateEndpointConfig request or AWS::SageMaker::EndpointConfig "
        "(aws-stepfunctions-tasks: SageMakerCreateEndpointConfig(kms_key=...)). Instance types with NVMe instance "
        "storage encrypt it in hardware; KmsKeyId still covers the attached volume."
    ),
    check=request_rule(
        ENDPOINT_CONFIG, lambda task: task.operation == "CreateEndpointConfig", config_verdict, "KmsKeyId"
    ),
)
