"""Every checkov and Control Tower finding we accept, with the reason, in one place.

A suppression matches a finding by scanner, rule id and the resource's construct path
(``aws:cdk:path``, shell-style wildcards). test_scanners.py fails on any finding no suppression
matches, and on any suppression that no longer matches a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from scanners import Finding


@dataclass(frozen=True)
class Suppression:
    scanner: str
    rule: str
    path: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (
            finding.scanner == self.scanner
            and finding.rule == self.rule
            and fnmatchcase(finding.cdk_path or finding.logical_id, self.path)
        )


_ACCESS_LOG_BUCKET = "*/AccessLogs/Resource"
_DATA_BUCKET = "*/Data/Bucket/Resource"
#: aws-cdk's Lambda-backed custom resource that closes a new VPC's default security group
#: (``restrict_default_security_group``, on by default in MlVpc).
_RESTRICT_DEFAULT_SG = "*/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler"
_CDK_PROVIDER = (
    "aws-cdk's provider function for the custom resource that removes the default security group's rules; "
    "CloudFormation invokes it synchronously during deploys only"
)

SUPPRESSIONS: list[Suppression] = [
    # ---- the S3 server access log bucket (MlDataBucket's AccessLogs) ---------------------------------
    Suppression(
        "checkov", "CKV_AWS_18", _ACCESS_LOG_BUCKET, "This is the access-log bucket; logging it into itself would loop."
    ),
    Suppression(
        "controltower",
        "CT.S3.PR.2",
        _ACCESS_LOG_BUCKET,
        "This is the access-log bucket; logging it into itself would loop.",
    ),
    Suppression(
        "controltower",
        "CT.S3.PR.10",
        _ACCESS_LOG_BUCKET,
        "S3 server access log delivery supports only SSE-S3 on the target bucket, not SSE-KMS.",
    ),
    Suppression(
        "controltower",
        "CT.S3.PR.4",
        _ACCESS_LOG_BUCKET,
        "Nothing reacts to new access-log objects; they are read by audits, not by workflows.",
    ),
    Suppression(
        "controltower",
        "CT.S3.PR.9",
        _ACCESS_LOG_BUCKET,
        "Object Lock cannot be turned off once on; access logs expire after 365 days by lifecycle rule instead, "
        "which Object Lock retention would block.",
    ),
    # ---- the ML data bucket ------------------------------------------------------------------------
    Suppression(
        "controltower",
        "CT.S3.PR.9",
        _DATA_BUCKET,
        "Object Lock is a per-deployment retention decision (it blocks erasure requests and the noncurrent-version "
        "expiry); the bucket is versioned and RETAINed. Pass bucket_props with object_lock_enabled to turn it on.",
    ),
    Suppression(
        "controltower",
        "CT.S3.PR.4",
        _DATA_BUCKET,
        "EventBridge notifications are turned on when a pipeline starts on new objects (S3Trigger); without one, "
        "no workflow reacts to object events.",
    ),
    # ---- SageMaker VPC access (SageMakerExecutionRole(vpc_access=True)) ----------------------------------
    Suppression(
        "checkov",
        "CKV_AWS_111",
        "*/Exec/Permissions/Resource",
        "SageMaker's documented VPC permissions (ec2:CreateNetworkInterface and friends) are granted on '*': the "
        "network interfaces do not exist before SageMaker creates them in the job's subnets.",
    ),
    Suppression(
        "checkov",
        "CKV_AWS_109",
        "*/Exec/Permissions/Resource",
        "ec2:CreateNetworkInterfacePermission is in SageMaker's documented VPC permission set and has no resource "
        "to scope to before the interface exists.",
    ),
    # ---- aws-cdk's custom-resource provider (MlVpc closes the default security group) -----------------
    Suppression("checkov", "CKV_AWS_115", _RESTRICT_DEFAULT_SG, f"{_CDK_PROVIDER}: no concurrency to reserve."),
    Suppression(
        "checkov", "CKV_AWS_116", _RESTRICT_DEFAULT_SG, f"{_CDK_PROVIDER}: failures surface in the stack event."
    ),
    Suppression(
        "checkov", "CKV_AWS_117", _RESTRICT_DEFAULT_SG, f"{_CDK_PROVIDER}: it calls only the EC2 API, outside any VPC."
    ),
    Suppression("controltower", "CT.LAMBDA.PR.3", _RESTRICT_DEFAULT_SG, f"{_CDK_PROVIDER}: it calls only the EC2 API."),
]
