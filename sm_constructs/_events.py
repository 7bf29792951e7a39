"""Events AWS services send to EventBridge that sm_constructs reacts to (no aws-cdk-lib here: the CLI reads it)."""

from __future__ import annotations

__all__ = ["APPROVAL_EVENT"]

#: The Model Registry's event when a version changes state (AWS docs, SageMaker Developer Guide:
#: "Events that Amazon SageMaker sends to Amazon EventBridge" → "Model package state change"):
#: source ``aws.sagemaker``, detail-type ``SageMaker Model Package State Change``, and in ``detail``
#: ``ModelPackageGroupName``, ``ModelPackageArn``, ``ModelPackageVersion`` and ``ModelApprovalStatus``.
APPROVAL_EVENT = {
    "source": "aws.sagemaker",
    "detail_type": "SageMaker Model Package State Change",
    "approved": "Approved",
}
