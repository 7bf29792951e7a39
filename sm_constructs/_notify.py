"""A workflow's own encrypted notification topic: who may publish to it and use its key.

Shared by every construct that runs a notified state machine (``MlPipeline``, ``ModelDeployment``,
a definition's ``to_state_machine``).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

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

__all__ = ["allow_alarm_publish", "failure_path", "grant_encrypted_publish"]


def failure_path(
    scope: Construct,
    *,
    failed_id: str,
    notify_id: str,
    topic: sns.ITopic | None,
    subject: str,
    fields: Mapping[str, str],
) -> sfn.IChainable:
    """Where a workflow's catches lead: publish the execution, ``fields`` and the caught error
    (``$.error``) to ``topic`` (``notify_id``), then fail with that error (``failed_id``); without a
    topic, just fail."""
    failed = sfn.Fail(scope, failed_id, error_path="$.error.Error", cause_path="$.error.Cause")
    if topic is None:
        return failed
    notify = tasks.SnsPublish(
        scope,
        notify_id,
        topic=topic,
        subject=subject,
        message=sfn.TaskInput.from_object(
            {
                "execution": sfn.JsonPath.execution_id,
                **fields,
                "error": sfn.JsonPath.string_at("$.error.Error"),
                "cause": sfn.JsonPath.string_at("$.error.Cause"),
            }
        ),
        result_path=sfn.JsonPath.DISCARD,
    )
    notify.next(failed)
    return notify


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
