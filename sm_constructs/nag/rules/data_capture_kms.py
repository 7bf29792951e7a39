"""Captured requests and responses are encrypted with a customer-managed key."""

from typing import Any

from .._asl import get
from .._model import JOB_OPERATIONS, has_field
from .._rule import SageMakerRule, request_rule
from .._values import MISSING, Deployed, RunTime, Verdict, is_present
from .endpoint_config_kms import ENDPOINT_CONFIG

#: Requests that can capture data: those with a DataCaptureConfig.KmsKeyId in botocore's model
#: (CreateEndpointConfig, CreateTransformJob).
CAPTURING_OPERATIONS = frozenset(
    op for op in (*JOB_OPERATIONS, "CreateEndpointConfig") if has_field(op, "KmsKeyId", container="^DataCaptureConfig$")
)


def capture_verdict(request: Any) -> str:
    capture = get(request, ("DataCaptureConfig",))
    if capture is MISSING:
        return Verdict.NA
    if isinstance(capture, RunTime | Deployed):
        return Verdict.UNKNOWN
    if get(capture, ("EnableCapture",)) is False:
        return Verdict.NA
    return is_present(get(capture, ("KmsKeyId",)))


RULE = SageMakerRule(
    id="DataCaptureKms",
    info="Data capture is on without a KMS key for the captured data.",
    explanation=(
        "Data capture stores the inference requests and responses (often personal data) in S3; without "
        "DataCaptureConfig.KmsKeyId they are written with the bucket's default encryption. "
        "Fix with sm_constructs: DataCapture(..., kms_key=...) on EndpointConfigDefinition. "
        "Without: DataCaptureConfig.KmsKeyId on CreateEndpointConfig / CreateTransformJob or on "
        "AWS::SageMaker::EndpointConfig."
    ),
    check=request_rule(
        ENDPOINT_CONFIG,
        lambda task: task.operation in CAPTURING_OPERATIONS,
        capture_verdict,
        "DataCaptureConfig.KmsKeyId",
    ),
)
