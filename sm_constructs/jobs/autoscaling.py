"""Endpoint autoscaling at run time: Application Auto Scaling calls made by the deployment state machine.

An endpoint created by a state machine has no CloudFormation resource to hang a scalable target
on, so the deployment registers its variant itself once the endpoint is InService
(``RegisterScalableTarget`` + a target-tracking ``PutScalingPolicy``) and deregisters it before
an update (``DeregisterScalableTarget``, which also deletes the variant's policies). While the
update or a blue/green traffic shift runs nothing resizes the fleet; the policy comes back on the
new fleet as soon as it is InService.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_cdk import ArnFormat, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._iam_facts import (
    AUTOSCALING_ACTIONS,
    AUTOSCALING_ALARM_ACTIONS,
    AUTOSCALING_ALARM_NAME,
    AUTOSCALING_DIMENSION_KEY,
    AUTOSCALING_NAMESPACE_KEY,
    AUTOSCALING_SAGEMAKER_ACTIONS,
    AUTOSCALING_SAGEMAKER_PRINCIPAL,
    AUTOSCALING_SERVICE_LINKED_ROLE,
    AUTOSCALING_TARGET_ARN,
    AWS_SERVICE_NAME,
    CREATE_SERVICE_LINKED_ROLE_ACTIONS,
)
from .._memo import aws, stack_memo, statement
from .._validation import Problems, is_token
from ._task import SageMakerTask, sagemaker_arn

__all__ = ["AUTOSCALING_FACTS", "EndpointAutoscaling"]

#: Facts about Application Auto Scaling's API for SageMaker variants, each with its source (the IAM
#: facts are in :mod:`sm_constructs._iam_facts`).
AUTOSCALING_FACTS: dict[str, Any] = {
    # Application Auto Scaling API Reference, RegisterScalableTarget: "ScalableDimension ...
    # sagemaker:variant:DesiredInstanceCount - The number of EC2 instances for a SageMaker model
    # endpoint variant" and "ResourceId ... SageMaker endpoint variant - The resource type is variant
    # and the unique identifier is the resource ID. Example: endpoint/my-end-point/variant/KMeansClustering".
    "service_namespace": "sagemaker",
    "scalable_dimension": "sagemaker:variant:DesiredInstanceCount",
    "resource_id": "endpoint/{endpoint}/variant/{variant}",
    # Application Auto Scaling API Reference, PredefinedMetricSpecification: MetricType values.
    "predefined_metric": "SageMakerVariantInvocationsPerInstance",
    # Step Functions: "AWS SDK service integrations" lists the service as ``applicationautoscaling``;
    # errors are named ``<service>.<exception>`` after the SDK's service id (ApplicationAutoScaling).
    "sdk_service": "applicationautoscaling",
    # botocore's application-autoscaling model, ObjectNotFoundException: thrown by operations that
    # depend on a scalable target when it does not exist, and by DeregisterScalableTarget /
    # DeleteScalingPolicy when the resource cannot be found (both operations list it).
    "not_found_error": "ApplicationAutoScaling.ObjectNotFoundException",
}


@dataclass(frozen=True, kw_only=True)
class EndpointAutoscaling:
    """Target-tracking autoscaling of the endpoint's variant, applied each time it is InService.

    :param min_capacity: fewest instances. Default: 1.
    :param max_capacity: most instances. Default: 4.
    :param target_value: the metric's target per instance. Default: 100 (invocations per instance
        per minute with the default metric).
    :param metric: a CloudWatch metric to track instead of ``SageMakerVariantInvocationsPerInstance``
        (e.g. the variant's ``CPUUtilization``). Default: - invocations per instance.
    :param scale_in_cooldown: Default: 5 minutes.
    :param scale_out_cooldown: Default: 1 minute.
    :param disable_scale_in: only ever add instances. Default: false.
    """

    min_capacity: int = 1
    max_capacity: int = 4
    target_value: float = 100
    metric: cloudwatch.Metric | None = None
    scale_in_cooldown: Duration = field(default_factory=lambda: Duration.minutes(5))
    scale_out_cooldown: Duration = field(default_factory=lambda: Duration.minutes(1))
    disable_scale_in: bool = False

    def validate(self, problems: Problems, prefix: str = "autoscaling") -> None:
        problems.int_range(f"{prefix}.min_capacity", self.min_capacity, 1, 100000)
        problems.int_range(f"{prefix}.max_capacity", self.max_capacity, 1, 100000)
        if (
            isinstance(self.min_capacity, int)
            and isinstance(self.max_capacity, int)
            and self.max_capacity < self.min_capacity
        ):
            problems.add(
                f"{prefix}.max_capacity", self.max_capacity, f"must be at least min_capacity ({self.min_capacity})"
            )
        if not is_token(self.target_value) and (
            not isinstance(self.target_value, int | float) or not self.target_value > 0
        ):
            problems.add(f"{prefix}.target_value", self.target_value, "must be a number greater than 0")

    def resource_id(self, endpoint_name: str, variant_name: str) -> str:
        return str(AUTOSCALING_FACTS["resource_id"]).format(endpoint=endpoint_name, variant=variant_name)

    def render_target(self, endpoint_name: str, variant_name: str) -> dict[str, Any]:
        """The RegisterScalableTarget request."""
        return {
            "ServiceNamespace": AUTOSCALING_FACTS["service_namespace"],
            "ResourceId": self.resource_id(endpoint_name, variant_name),
            "ScalableDimension": AUTOSCALING_FACTS["scalable_dimension"],
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
        }

    def render_deregister(self, endpoint_name: str, variant_name: str) -> dict[str, Any]:
        """The DeregisterScalableTarget request."""
        return {
            "ServiceNamespace": AUTOSCALING_FACTS["service_namespace"],
            "ResourceId": self.resource_id(endpoint_name, variant_name),
            "ScalableDimension": AUTOSCALING_FACTS["scalable_dimension"],
        }

    def render_policy(self, endpoint_name: str, variant_name: str) -> dict[str, Any]:
        """The PutScalingPolicy request (target tracking)."""
        config: dict[str, Any] = {
            "TargetValue": self.target_value,
            "ScaleInCooldown": int(self.scale_in_cooldown.to_seconds()),
            "ScaleOutCooldown": int(self.scale_out_cooldown.to_seconds()),
            "DisableScaleIn": self.disable_scale_in,
        }
        if self.metric is None:
            config["PredefinedMetricSpecification"] = {"PredefinedMetricType": AUTOSCALING_FACTS["predefined_metric"]}
        else:
            custom: dict[str, Any] = {
                "MetricName": self.metric.metric_name,
                "Namespace": self.metric.namespace,
                "Statistic": _statistic(self.metric.statistic),
            }
            dimensions = self.metric.dimensions or {}
            if dimensions:
                custom["Dimensions"] = [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]
            config["CustomizedMetricSpecification"] = custom
        return {
            "PolicyName": f"{endpoint_name}-{variant_name}-target-tracking",
            "PolicyType": "TargetTrackingScaling",
            **self.render_deregister(endpoint_name, variant_name),
            "TargetTrackingScalingPolicyConfiguration": config,
        }


def _statistic(statistic: str) -> str:
    """CloudWatch metric statistics as Application Auto Scaling names them (Average, Sum, ...)."""
    aliases = {"avg": "Average", "average": "Average", "sum": "Sum", "min": "Minimum", "minimum": "Minimum"}
    aliases.update({"max": "Maximum", "maximum": "Maximum", "n": "SampleCount", "samplecount": "SampleCount"})
    return aliases.get(statistic.lower(), statistic)


def sdk_resource(action: str) -> str:
    """``arn:<partition>:states:::aws-sdk:applicationautoscaling:<action>``."""
    return f"arn:{aws('PARTITION')}:states:::aws-sdk:{AUTOSCALING_FACTS['sdk_service']}:{action}"


def policy_statements(scope: Construct, endpoint_name: str, endpoint_arn: str) -> list[iam.PolicyStatement]:
    """What the state machine needs to register, scale and deregister one endpoint's variants."""
    conditions = {
        "StringEquals": {
            AUTOSCALING_NAMESPACE_KEY: AUTOSCALING_FACTS["service_namespace"],
            AUTOSCALING_DIMENSION_KEY: AUTOSCALING_FACTS["scalable_dimension"],
        }
    }
    targets = stack_memo(
        scope,
        ("scalable-targets",),
        lambda stack: stack.format_arn(service="application-autoscaling", resource=AUTOSCALING_TARGET_ARN),
    )
    alarms = stack_memo(
        scope,
        ("target-tracking-alarms", endpoint_name),
        lambda stack: stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=AUTOSCALING_ALARM_NAME.format(endpoint=endpoint_name),
            arn_format=_colon_arn(),
        ),
    )
    linked_role = stack_memo(
        scope,
        ("autoscaling-linked-role",),
        lambda stack: stack.format_arn(
            service="iam", region="", resource="role", resource_name=AUTOSCALING_SERVICE_LINKED_ROLE
        ),
    )
    return [
        statement(scope, actions=list(AUTOSCALING_ACTIONS), resources=[targets], conditions=conditions),
        statement(scope, actions=list(AUTOSCALING_SAGEMAKER_ACTIONS), resources=[endpoint_arn, _config_arns(scope)]),
        statement(scope, actions=list(AUTOSCALING_ALARM_ACTIONS), resources=[alarms]),
        statement(
            scope,
            actions=list(CREATE_SERVICE_LINKED_ROLE_ACTIONS),
            resources=[linked_role],
            conditions={"StringEquals": {AWS_SERVICE_NAME: AUTOSCALING_SAGEMAKER_PRINCIPAL}},
        ),
    ]


def _colon_arn() -> Any:
    return ArnFormat.COLON_RESOURCE_NAME


def _config_arns(scope: Construct) -> str:
    return sagemaker_arn(scope, "endpoint-config", "*")


def scaling_states(
    scope: Construct,
    id: str,
    autoscaling: EndpointAutoscaling,
    *,
    endpoint_name: str,
    endpoint_arn: str,
    variant_name: str,
    result_path: str,
) -> tuple[SageMakerTask, SageMakerTask, SageMakerTask]:
    """``<id>Deregister`` (before an update), ``<id>Register`` → ``<id>Policy`` (after InService)."""
    statements = policy_statements(scope, endpoint_name, endpoint_arn)

    def call(name: str, action: str, parameters: dict[str, Any], **result: Any) -> SageMakerTask:
        """One Application Auto Scaling call, retried while another update of the target is in flight."""
        task = SageMakerTask(
            scope,
            f"{id}{name}",
            resource=sdk_resource(action),
            parameters=parameters,
            policy_statements=statements,
            **result,
        )
        task.add_retry(
            errors=["ApplicationAutoScaling.ConcurrentUpdateException", "ApplicationAutoScaling.ThrottlingException"],
            interval=Duration.seconds(5),
            max_attempts=4,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    discard = sfn.JsonPath.DISCARD
    return (
        call(
            "DeregisterScaling",
            "deregisterScalableTarget",
            autoscaling.render_deregister(endpoint_name, variant_name),
            result_path=discard,
        ),
        call(
            "RegisterScaling",
            "registerScalableTarget",
            autoscaling.render_target(endpoint_name, variant_name),
            result_path=discard,
        ),
        call(
            "ScalingPolicy",
            "putScalingPolicy",
            autoscaling.render_policy(endpoint_name, variant_name),
            result_selector={"PolicyARN.$": "$.PolicyARN"},
            result_path=result_path,
        ),
    )
