"""A workflow's own encrypted notification topic: who may publish to it and use its key.

Shared by every construct that runs a notified state machine (``MlPipeline``, ``ModelDeployment``).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from ._iam_facts import (
    ALARM_TOPIC_KEY_ACTIONS,
    CLOUDWATCH_PRINCIPAL,
    SNS_ENCRYPTED_PUBLISH_KEY_ACTIONS,
    SNS_PUBLISH_ACTIONS,
    SOURCE_ACCOUNT,
    SOURCE_ARN,
    VIA_SERVICE,
)
from ._nag import acknowledge

__all__ = ["allow_alarm_publish", "grant_encrypted_publish"]


def grant_encrypted_publish(role: iam.IRole, key: kms.IKey) -> None:
    """The state machine publishes to the KMS-encrypted topic: SNS uses the topic's key on the caller's behalf."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(SNS_ENCRYPTED_PUBLISH_KEY_ACTIONS),
            resources=[key.key_arn],
            conditions={"StringEquals": {VIA_SERVICE: f"sns.{Stack.of(key).region}.amazonaws.com"}},
        )
    )
    acknowledge(
        role,
        ["AwsSolutions-IAM5[Action::kms:GenerateDataKey*]"],
        "Publishing to the KMS-encrypted notification topic (SNS key management docs), on this key only and "
        "only through SNS (kms:ViaService).",
    )


def allow_alarm_publish(topic: sns.ITopic, key: kms.IKey) -> None:
    """CloudWatch alarms of this account may publish to the encrypted topic and use its key."""
    stack = Stack.of(topic)
    alarms_of_account = stack.format_arn(
        service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
    source = {"StringEquals": {SOURCE_ACCOUNT: stack.account}, "ArnLike": {SOURCE_ARN: alarms_of_account}}
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
            actions=list(SNS_PUBLISH_ACTIONS),
            resources=[topic.topic_arn],
            conditions=source,
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
            actions=list(ALARM_TOPIC_KEY_ACTIONS),
            resources=["*"],
        )
    )
