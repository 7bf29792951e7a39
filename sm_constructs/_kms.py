"""Customer-managed KMS keys as every construct here creates them.

Each key rotates yearly and carries the deny statement of AWS Control Tower's proactive control
CT.KMS.PR.3: nobody but an AWS service may create grants on it, unless the grant is for an AWS
resource (SageMaker attaching an encrypted volume, CloudWatch Logs ...). The statement is read from
the IAM facts table (``_iam_facts``), so the scanners and the keys agree on its exact shape.
"""

from __future__ import annotations

import enum
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._flags import key_policy
from ._iam_facts import (
    CREATE_GRANT_DENY_ACTIONS,
    CREATE_GRANT_DENY_CONDITIONS,
    LOGS_DELIVERY_KEY_ACTIONS,
    LOGS_DELIVERY_PRINCIPAL,
    SOURCE_ACCOUNT,
    SOURCE_ARN,
)

__all__ = [
    "JOB_KEY_ID",
    "STACK_JOB_KEY",
    "StackJobKey",
    "allow_log_delivery",
    "deny_grants_to_non_aws_callers",
    "job_key",
    "new_key",
    "resolve_job_key",
]

#: Construct id of the stack's job key, at the root of the stack.
JOB_KEY_ID = "SageMakerJobKey"


class StackJobKey(enum.Enum):
    """The default of the job definitions' key props: the stack's job key (see :func:`job_key`)."""

    DEFAULT = "stack-job-key"


#: ``output_kms_key`` / ``ClusterConfig.volume_kms_key`` left at their default: the stack's job key.
STACK_JOB_KEY = StackJobKey.DEFAULT


def deny_grants_to_non_aws_callers(key: kms.IKey) -> None:
    """Add CT.KMS.PR.3's statement: deny ``kms:CreateGrant`` unless an AWS service or an AWS resource asks."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(CREATE_GRANT_DENY_ACTIONS),
            resources=["*"],
            conditions={k: dict(v) for k, v in CREATE_GRANT_DENY_CONDITIONS.items()},
        )
    )


def new_key(scope: Construct, id: str, **props: Any) -> kms.Key:
    """A ``kms.Key`` with rotation on and the CT.KMS.PR.3 deny statement; ``props`` go to ``kms.Key``."""
    props.setdefault("enable_key_rotation", True)
    key = kms.Key(scope, id, **props)
    deny_grants_to_non_aws_callers(key)
    return key


def allow_log_delivery(key: kms.IKey) -> None:
    """Let CloudWatch Logs' vended-log delivery decrypt with ``key``, for this account's log deliveries only.

    ``aws:SourceAccount`` and ``aws:SourceArn`` keep another account's delivery from using the key
    (confused deputy).
    """
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(LOGS_DELIVERY_PRINCIPAL)],
            actions=list(LOGS_DELIVERY_KEY_ACTIONS),
            resources=["*"],
            conditions={
                "StringEquals": {SOURCE_ACCOUNT: stack.account},
                "ArnLike": {
                    SOURCE_ARN: stack.format_arn(service="logs", resource="*", arn_format=ArnFormat.NO_RESOURCE_NAME)
                },
            },
        )
    )


def job_key(scope: Construct) -> kms.IKey:
    """The stack's job key: one customer-managed key, made on first use, that encrypts the outputs and
    volumes of every job definition of the stack given no key of its own.

    One key per stack, not per job: a job reads what an earlier job wrote (a training channel is a
    processing output), and every execution role that runs a job with the default key is granted it.
    Roles that read job outputs elsewhere need ``job_key(scope).grant_decrypt(role)``.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(JOB_KEY_ID)
    if isinstance(existing, kms.Key):
        return existing
    return new_key(
        stack,
        JOB_KEY_ID,
        description=f"Encrypts the outputs and ML storage volumes of the SageMaker jobs of {stack.stack_name}",
        policy=key_policy(),
    )


def resolve_job_key(scope: Construct, key: kms.IKey | StackJobKey | None) -> kms.IKey | None:
    """A key prop as given: the stack's job key for the default, ``None`` (opted out) or the key itself."""
    return job_key(scope) if isinstance(key, StackJobKey) else key
