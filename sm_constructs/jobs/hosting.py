"""Hosting: CreateModel, CreateEndpointConfig, and a create-or-update endpoint deployment that waits
until the endpoint is InService."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._validation import Problems, check_request, is_token, typed
from ..images import ContainerImage
from ._api import ENDPOINT, ENDPOINT_CONFIG, MODEL
from ._base import RETRYABLE_ERRORS, SageMakerDefinition, SageMakerTask, integration_arn, sagemaker_arn
from ._common import NetworkConfig, grant_role, validate_network

__all__ = [
    "BlueGreenDeployment",
    "DataCapture",
    "EndpointConfigDefinition",
    "EndpointDeployment",
    "ModelDefinition",
    "ServerlessConfig",
]

# SageMaker ARNs carry names in lower case; lower-case prefixes let the name be read back from the ARN.
_NAME_FROM_ARN = "States.ArrayGetItem(States.StringSplit({}, '/'), 1)"


def _lowercase_prefix(problems: Problems, prefix: str | None) -> None:
    if prefix is not None and not is_token(prefix) and prefix != prefix.lower():
        problems.add("name_prefix", prefix, "use lower case: the name is read back from the (lower-case) ARN")


class ModelDefinition(SageMakerDefinition):
    """A SageMaker model (CreateModel): an inference image plus a model artifact.

    :param role: execution role the model's containers run as.
    :param image: a :class:`ContainerImage`, or an image URI string / JSONPath token (e.g. the
        training task's ``$.steps.Train.Image``).
    :param model_data_url: S3 URI of ``model.tar.gz``, static or JSONPath (e.g. ``$.steps.Train.ModelArtifacts``).
    :param environment: container environment. Default: - none.
    :param network: VPC and isolation. Default: - no VPC, no isolation.
    """

    api = MODEL

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role: iam.IRole,
        image: ContainerImage | str,
        model_data_url: str,
        environment: Mapping[str, str] | None = None,
        network: NetworkConfig | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        _lowercase_prefix(problems, name_prefix)
        network = network or NetworkConfig()
        validate_network(problems, network)
        super().__init__(scope, id, name_prefix=name_prefix, role=role, tags=tags, problems=problems)
        self.image = image
        self.image_uri = image.bind(self).image_uri if isinstance(image, ContainerImage) else image
        self.model_data_url = model_data_url
        self.environment = dict(environment or {})
        self.network = network
        self._check_request()
        grant_role(self, role, image if isinstance(image, ContainerImage) else None, None, [])

    def render_request(self) -> dict[str, Any]:
        container: dict[str, Any] = {"Image": self.image_uri, "ModelDataUrl": self.model_data_url}
        if self.environment:
            container["Environment"] = self.environment
        request: dict[str, Any] = {
            "ModelName": self._name(),
            "ExecutionRoleArn": self.role.role_arn if self.role else None,
            "PrimaryContainer": container,
            "EnableNetworkIsolation": self.network.enable_network_isolation,
            "Tags": self._tags(),
        }
        vpc = self.network.vpc_config()
        if vpc:
            request["VpcConfig"] = vpc
        return request

    def result_selector(self) -> dict[str, Any]:
        return {"ModelArn.$": "$.ModelArn", "ModelName.$": _NAME_FROM_ARN.format("$.ModelArn")}

    def model_name_path(self, state_id: str | None = None) -> str:
        return f"$.steps.{state_id or self.node.id}.ModelName"


@dataclass(frozen=True)
class ServerlessConfig:
    """Serverless inference: memory 1024-6144 MB in 1 GB steps, 1-200 concurrent invocations."""

    memory_size_mb: int = 2048
    max_concurrency: int = 5


@dataclass(frozen=True)
class DataCapture:
    """Capture requests and responses to S3 for monitoring.

    :param destination_s3_uri: e.g. the data bucket's ``data-capture/`` prefix.
    :param sampling_percentage: 0-100. Default: 100.
    :param capture_modes: Default: Input and Output.
    :param kms_key: Default: - the bucket's default encryption.
    """

    destination_s3_uri: str
    sampling_percentage: int = 100
    capture_modes: Sequence[Literal["Input", "Output"]] = ("Input", "Output")
    kms_key: kms.IKey | None = None


class EndpointConfigDefinition(SageMakerDefinition):
    """An endpoint configuration (CreateEndpointConfig) with one production variant.

    :param model_name: the model, static or JSONPath (e.g. ``ModelDefinition.model_name_path()``).
    :param instance_type: Default: ``ml.m5.large`` (ignored with ``serverless``).
    :param initial_instance_count: Default: 1.
    :param serverless: serverless variant instead of instances. Default: - instances.
    :param data_capture: Default: - no capture.
    :param kms_key: encrypts the instances' storage volume. Default: - AWS-managed.
    :param variant_name: Default: ``AllTraffic``.
    """

    api = ENDPOINT_CONFIG

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_name: str,
        instance_type: str = "ml.m5.large",
        initial_instance_count: int = 1,
        serverless: ServerlessConfig | None = None,
        data_capture: DataCapture | None = None,
        kms_key: kms.IKey | None = None,
        variant_name: str = "AllTraffic",
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        _lowercase_prefix(problems, name_prefix)
        # Instance types, counts, serverless and capture limits, the variant name: from the model.
        if serverless is not None:
            if isinstance(serverless.memory_size_mb, int) and serverless.memory_size_mb % 1024:
                # CreateEndpointConfig ServerlessConfig: "1024 MB, 2048 MB, 3072 MB, 4096 MB, 5120 MB, or 6144 MB".
                problems.add("serverless.memory_size_mb", serverless.memory_size_mb, "must be a multiple of 1024")
            if kms_key is not None:
                problems.conflict(["kms_key", "serverless"], "serverless endpoints have no volume to encrypt")
        super().__init__(scope, id, name_prefix=name_prefix, role=None, tags=tags, problems=problems)
        self.model_name = model_name
        self.instance_type = instance_type
        self.initial_instance_count = initial_instance_count
        self.serverless = serverless
        self.data_capture = data_capture
        self.kms_key = kms_key
        self.variant_name = variant_name
        self._check_request()

    def render_request(self) -> dict[str, Any]:
        variant: dict[str, Any] = {"VariantName": self.variant_name, "ModelName": self.model_name}
        if self.serverless is not None:
            variant["ServerlessConfig"] = {
                "MemorySizeInMB": self.serverless.memory_size_mb,
                "MaxConcurrency": self.serverless.max_concurrency,
            }
        else:
            variant.update(
                {
                    "InstanceType": self.instance_type,
                    "InitialInstanceCount": self.initial_instance_count,
                    "InitialVariantWeight": 1,
                }
            )
        request: dict[str, Any] = {
            "EndpointConfigName": self._name(),
            "ProductionVariants": [variant],
            "Tags": self._tags(),
        }
        if self.kms_key is not None:
            request["KmsKeyId"] = self.kms_key.key_arn
        if self.data_capture is not None:
            capture: dict[str, Any] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": self.data_capture.sampling_percentage,
                "DestinationS3Uri": self.data_capture.destination_s3_uri,
                "CaptureOptions": [{"CaptureMode": m} for m in self.data_capture.capture_modes],
            }
            if self.data_capture.kms_key is not None:
                capture["KmsKeyId"] = self.data_capture.kms_key.key_arn
            request["DataCaptureConfig"] = capture
        return request

    def result_selector(self) -> dict[str, Any]:
        return {
            "EndpointConfigArn.$": "$.EndpointConfigArn",
            "EndpointConfigName.$": _NAME_FROM_ARN.format("$.EndpointConfigArn"),
        }

    def config_name_path(self, state_id: str | None = None) -> str:
        return f"$.steps.{state_id or self.node.id}.EndpointConfigName"

    def extra_policy_statements(self) -> list[iam.PolicyStatement]:
        """With a KMS key, the caller must be able to let SageMaker use it (CreateGrant)."""
        keys = [k for k in (self.kms_key, self.data_capture.kms_key if self.data_capture else None) if k]
        if not keys:
            return []
        return [
            iam.PolicyStatement(
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[k.key_arn for k in keys],
                conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
            )
        ]


@dataclass(frozen=True)
class BlueGreenDeployment:
    """Blue/green update with automatic rollback when any of ``alarm_names`` fires.

    :param traffic: ``ALL_AT_ONCE`` (default), ``CANARY`` or ``LINEAR``.
    :param canary_percent: traffic share of the canary / each linear step. Default: 10.
    :param wait: time between traffic shifts. Default: 5 minutes.
    :param termination_wait: keep the old fleet this long after shifting. Default: 5 minutes.
    :param alarm_names: CloudWatch alarms that trigger the rollback.
    """

    alarm_names: Sequence[str] = field(default_factory=list)
    traffic: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"] = "ALL_AT_ONCE"
    canary_percent: int = 10
    wait: Duration = field(default_factory=lambda: Duration.minutes(5))
    termination_wait: Duration = field(default_factory=lambda: Duration.minutes(5))

    def render(self) -> dict[str, Any]:
        routing: dict[str, Any] = {"Type": self.traffic, "WaitIntervalInSeconds": int(self.wait.to_seconds())}
        size = {"Type": "CAPACITY_PERCENT", "Value": self.canary_percent}
        if self.traffic == "CANARY":
            routing["CanarySize"] = size
        elif self.traffic == "LINEAR":
            routing["LinearStepSize"] = size
        out: dict[str, Any] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": routing,
                "TerminationWaitInSeconds": int(self.termination_wait.to_seconds()),
            }
        }
        if self.alarm_names:
            out["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in self.alarm_names]}
        return out


class EndpointDeployment(sfn.StateMachineFragment):
    """Create the endpoint if it does not exist, update it if it does, then wait until InService.

    The endpoint name is stable (endpoints are long-lived; each run brings a new endpoint config).
    States (prefixed with the construct id): ``<id>Describe`` → ``<id>Create`` or ``<id>Update`` →
    ``<id>Wait`` → ``<id>Poll`` → ``<id>Check``. The deployment fails on ``Failed`` /
    ``OutOfService``, when a blue/green update rolled back (the endpoint came back InService on
    another config), or after ``max_wait``.

    :param endpoint_name: the endpoint's name (1-63, letters, digits, hyphens).
    :param endpoint_config_name: the config to deploy, static or JSONPath.
    :param endpoint_config_prefix: name prefix of the configs it may deploy (for IAM).
    :param deployment: blue/green policy for updates. Default: - SageMaker's default update.
    :param poll_interval: Default: 30 seconds.
    :param max_wait: Default: 1 hour.
    """

    api = ENDPOINT

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        endpoint_config_name: str,
        endpoint_config_prefix: str,
        deployment: BlueGreenDeployment | None = None,
        poll_interval: Duration | None = None,
        max_wait: Duration | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        poll_interval = poll_interval or Duration.seconds(30)
        max_wait = max_wait or Duration.hours(1)
        if not 5 <= poll_interval.to_seconds() <= 3600:
            problems.add("poll_interval", poll_interval.to_human_string(), "between 5 seconds and 1 hour")
        if max_wait.to_seconds() < poll_interval.to_seconds():
            problems.add("max_wait", max_wait.to_human_string(), "must be at least poll_interval")
        if deployment is not None and isinstance(deployment.canary_percent, int) and deployment.canary_percent > 99:
            # The model allows 1-100 %; a canary or linear step of all traffic leaves nothing to shift.
            problems.add("deployment.canary_percent", deployment.canary_percent, "at most 99 %")
        tag_list = [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]
        create_request: dict[str, Any] = {"EndpointName": endpoint_name, "EndpointConfigName": endpoint_config_name}
        if tag_list:
            create_request["Tags"] = tag_list
        update_request: dict[str, Any] = {"EndpointName": endpoint_name, "EndpointConfigName": endpoint_config_name}
        if deployment is not None:
            update_request["DeploymentConfig"] = deployment.render()
        # Names, tags, traffic routing, waits (<= 3600 s) and alarms (<= 10): from the model.
        check_request(problems, "sagemaker", "CreateEndpoint", create_request)
        check_request(problems, "sagemaker", "UpdateEndpoint", update_request)
        if isinstance(endpoint_config_prefix, str) and not is_token(endpoint_config_prefix):
            problems.name("endpoint_config_prefix", endpoint_config_prefix, max_len=63, what="endpoint config prefix")
        problems.raise_if_any()
        super().__init__(scope, id)
        self.endpoint_name = endpoint_name
        self.max_polls = max(1, int(max_wait.to_seconds() // poll_interval.to_seconds()))
        stack = Stack.of(self)
        endpoint_arn = sagemaker_arn(self, "endpoint", endpoint_name.lower())
        config_arn = sagemaker_arn(self, "endpoint-config", f"{endpoint_config_prefix}-*")
        result = f"$.steps.{id}"

        describe_statements = [iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint"], resources=[endpoint_arn])]
        describe = SageMakerTask(
            self,
            f"{id}Describe",
            resource=f"arn:{stack.partition}:states:::aws-sdk:sagemaker:describeEndpoint",
            parameters={"EndpointName": endpoint_name},
            policy_statements=describe_statements,
            result_selector={"EndpointStatus.$": "$.EndpointStatus"},
            result_path=f"{result}.Existing",
        )
        describe.add_retry(
            errors=["SageMaker.ThrottlingException"], max_attempts=3, jitter_strategy=sfn.JitterType.FULL
        )
        create = SageMakerTask(
            self,
            f"{id}Create",
            resource=integration_arn(self, "createEndpoint", sync=False),
            parameters=sfn.FieldUtils.render_object(create_request) or {},
            policy_statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:CreateEndpoint", "sagemaker:AddTags"], resources=[endpoint_arn, config_arn]
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        update = SageMakerTask(
            self,
            f"{id}Update",
            resource=integration_arn(self, "updateEndpoint", sync=False),
            parameters=sfn.FieldUtils.render_object(update_request) or {},
            policy_statements=[
                iam.PolicyStatement(actions=["sagemaker:UpdateEndpoint"], resources=[endpoint_arn, config_arn])
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        for task in (create, update):
            task.add_retry(
                errors=RETRYABLE_ERRORS,
                interval=Duration.seconds(10),
                max_attempts=4,
                jitter_strategy=sfn.JitterType.FULL,
            )
        # DescribeEndpoint on a missing endpoint fails (unmodeled ValidationException): create it.
        describe.add_catch(
            create,
            errors=["SageMaker.SageMakerException", "SageMaker.ValidationException"],
            result_path=sfn.JsonPath.DISCARD,
        )

        count = sfn.Pass(self, f"{id}StartPolling", parameters={"Polls": 0}, result_path=f"{result}.Progress")
        wait = sfn.Wait(self, f"{id}Wait", time=sfn.WaitTime.duration(poll_interval))
        poll = SageMakerTask(
            self,
            f"{id}Poll",
            resource=f"arn:{stack.partition}:states:::aws-sdk:sagemaker:describeEndpoint",
            parameters={"EndpointName": endpoint_name},
            policy_statements=describe_statements,
            result_selector={
                "EndpointStatus.$": "$.EndpointStatus",
                "EndpointConfigName.$": "$.EndpointConfigName",
                "EndpointArn.$": "$.EndpointArn",
                "Details.$": "States.JsonToString($)",
            },
            result_path=f"{result}.Endpoint",
        )
        poll.add_retry(errors=["SageMaker.ThrottlingException"], max_attempts=5, jitter_strategy=sfn.JitterType.FULL)
        bump = sfn.Pass(
            self,
            f"{id}CountPoll",
            parameters={"Polls": sfn.JsonPath.math_add(sfn.JsonPath.number_at(f"{result}.Progress.Polls"), 1)},
            result_path=f"{result}.Progress",
        )
        status = f"{result}.Endpoint.EndpointStatus"
        failed = sfn.Fail(
            self, f"{id}Failed", error="EndpointDeploymentFailed", cause_path=f"{result}.Endpoint.Details"
        )
        rolled_back = sfn.Fail(
            self,
            f"{id}RolledBack",
            error="EndpointDeploymentRolledBack",
            cause="The endpoint is InService on a different endpoint config: the update was rolled back.",
        )
        timed_out = sfn.Fail(
            self,
            f"{id}TimedOut",
            error="EndpointDeploymentTimedOut",
            cause=f"Not InService after {self.max_polls} polls",
        )
        done = sfn.Pass(self, f"{id}InService")
        in_service = sfn.Condition.string_equals(status, "InService")
        same_config = (
            sfn.Condition.string_equals_json_path(
                f"{result}.Endpoint.EndpointConfigName", _path_of(stack, endpoint_config_name)
            )
            if is_token(endpoint_config_name)
            else sfn.Condition.string_equals(f"{result}.Endpoint.EndpointConfigName", endpoint_config_name)
        )
        check = (
            sfn.Choice(self, f"{id}Check")
            .when(sfn.Condition.and_(in_service, same_config), done)
            .when(in_service, rolled_back)
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals(status, "Failed"), sfn.Condition.string_equals(status, "OutOfService")
                ),
                failed,
            )
            .when(sfn.Condition.number_greater_than_equals(f"{result}.Progress.Polls", self.max_polls), timed_out)
            .otherwise(wait)
        )
        describe.next(update)
        create.next(count)
        update.next(count)
        count.next(wait)
        wait.next(poll)
        poll.next(bump)
        bump.next(check)
        self._start = describe
        self._ends: list[sfn.INextable] = [done]
        self.tasks = [describe, create, update, poll]

    @property
    def start_state(self) -> sfn.State:
        return self._start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return self._ends

    @typed
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on this endpoint only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint"],
            resource_arns=[sagemaker_arn(self, "endpoint", self.endpoint_name.lower())],
        )


def _path_of(stack: Stack, token: str) -> str:
    """The JSONPath behind a ``sfn.JsonPath.string_at`` token."""
    rendered = sfn.FieldUtils.render_object({"v": token}) or {}
    path = rendered.get("v.$")
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"endpoint_config_name must be a literal or a JSONPath reference, got {token!r}")
    return path
