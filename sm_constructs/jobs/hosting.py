"""Hosting: CreateModel, CreateEndpointConfig, and a create-or-update endpoint deployment that waits
until the endpoint is InService."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._flags import pin_feature_flags
from .._iam_facts import (
    DESCRIBE_ENDPOINT_ACTIONS,
    ENDPOINT,
    ENDPOINT_CONFIG,
    ENDPOINT_KEY_ACTIONS,
    GRANT_IS_FOR_AWS_RESOURCE,
    MODEL,
    UPDATE_ENDPOINT_ACTIONS,
)
from .._memo import statement
from .._validation import Problems, check_request, is_token, typed
from ..images import ContainerImage
from ._base import RETRYABLE_ERRORS, SageMakerDefinition, SageMakerTask, integration_arn, sagemaker_arn
from ._common import NetworkConfig, grant_role, validate_network
from .refs import (
    IEndpointConfigRef,
    IEndpointRef,
    IModelRef,
    ImportedEndpoint,
    ImportedEndpointConfig,
    ImportedModel,
    check_model_source,
)
from .training import TrainingDefinition
from .tuning import TuningDefinition

__all__ = [
    "BlueGreenDeployment",
    "DataCapture",
    "EndpointConfigDefinition",
    "EndpointDeployment",
    "ModelDefinition",
    "ServerlessConfig",
]

#: Suffixes of the states an EndpointDeployment adds (``<id><suffix>``).
_DEPLOYMENT_STATES = (
    "Describe",
    "Create",
    "Update",
    "StartPolling",
    "Wait",
    "Poll",
    "CountPoll",
    "Check",
    "Failed",
    "RolledBack",
    "TimedOut",
    "InService",
)
# SageMaker ARNs carry names in lower case; lower-case prefixes let the name be read back from the ARN.
_NAME_FROM_ARN = "States.ArrayGetItem(States.StringSplit({}, '/'), 1)"


def _lowercase_prefix(problems: Problems, prefix: str | None) -> None:
    if prefix is not None and not is_token(prefix) and prefix != prefix.lower():
        problems.add("name_prefix", prefix, "use lower case: the name is read back from the (lower-case) ARN")


class ModelDefinition(SageMakerDefinition):
    """A SageMaker model (CreateModel): an inference image plus a model artifact.

    Give the ``training`` (or tuning) definition that produced the model: its artifact and image are
    read from that task's result at run time. For a model trained elsewhere give ``image`` and
    ``model_data_url`` instead. The model's name, chosen per run, is :attr:`model_name`; pass this
    object (not a name) to :class:`EndpointConfigDefinition` and ``TransformDefinition``.

    :param role: execution role the model's containers run as.
    :param training: the training or tuning definition whose model this is. Default: - none;
        then ``image`` and ``model_data_url`` are required.
    :param image: a :class:`ContainerImage`, or an image URI string. Default: - the image the
        ``training`` job ran.
    :param model_data_url: S3 URI of ``model.tar.gz`` (static or a token). Default: - the
        ``training`` job's artifact.
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
        training: TrainingDefinition | TuningDefinition | None = None,
        image: ContainerImage | str | None = None,
        model_data_url: str | None = None,
        environment: Mapping[str, str] | None = None,
        network: NetworkConfig | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        _lowercase_prefix(problems, name_prefix)
        check_model_source(problems, training, image, model_data_url)
        problems.raise_if_any()  # nothing to render without the model's image and artifact
        network = network or NetworkConfig()
        validate_network(problems, network)
        super().__init__(scope, id, name_prefix=name_prefix, role=role, tags=tags, problems=problems)
        pull: ContainerImage | None = image if isinstance(image, ContainerImage) else None
        if training is not None:
            pull = pull or _trained_image(training)
            model_data_url = training.model_data_url
        self.training = training
        self.image = image
        if isinstance(image, ContainerImage):
            self.image_uri = image.bind(self).image_uri
        else:
            self.image_uri = image if image is not None else training.image_uri  # type: ignore[union-attr]
        self.model_data_url: str = model_data_url  # type: ignore[assignment]
        self.environment = dict(environment or {})
        self.network = network
        self._check_request()
        grant_role(self, role, pull, None, [])

    @staticmethod
    def from_model_name(scope: Construct, id: str, model_name: str) -> IModelRef:
        """A model that exists outside this app, by name (for endpoint configs and transform jobs).

        The name may be read at run time, e.g. ``sfn.JsonPath.string_at("$.input.modelName")``.
        """
        return ImportedModel(scope, id, model_name=model_name)

    @property
    def model_name(self) -> str:
        """This run's model name, read at run time from the model task's result."""
        return self.state_output("ModelName")

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


def _trained_image(training: TrainingDefinition | TuningDefinition) -> ContainerImage:
    return training.training.image if isinstance(training, TuningDefinition) else training.image


@dataclass(frozen=True, kw_only=True)
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
    _: KW_ONLY
    sampling_percentage: int = 100
    capture_modes: Sequence[Literal["Input", "Output"]] = ("Input", "Output")
    kms_key: kms.IKey | None = None


class EndpointConfigDefinition(SageMakerDefinition):
    """An endpoint configuration (CreateEndpointConfig) with one production variant.

    Its name, chosen per run, is :attr:`config_name`; pass this object to :class:`EndpointDeployment`.

    :param model: the :class:`ModelDefinition` to serve, or a model made outside this app
        (:meth:`ModelDefinition.from_model_name`).
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
        model: IModelRef,
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
        self.model = model
        self.instance_type = instance_type
        self.initial_instance_count = initial_instance_count
        self.serverless = serverless
        self.data_capture = data_capture
        self.kms_key = kms_key
        self.variant_name = variant_name
        self._check_request()

    def render_request(self) -> dict[str, Any]:
        variant: dict[str, Any] = {"VariantName": self.variant_name, "ModelName": self.model.model_name}
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

    @staticmethod
    def from_config_name(scope: Construct, id: str, config_name: str) -> IEndpointConfigRef:
        """An endpoint config that exists outside this app, by name (for :class:`EndpointDeployment`)."""
        return ImportedEndpointConfig(scope, id, config_name=config_name)

    @property
    def config_name(self) -> str:
        """This run's endpoint config name, read at run time from the config task's result."""
        return self.state_output("EndpointConfigName")

    @property
    def config_arn(self) -> str:
        """ARN pattern of the configs this definition creates (``endpoint-config/<prefix>-*``)."""
        return self.resource_arn_pattern()

    def extra_policy_statements(self) -> list[iam.PolicyStatement]:
        """With ``kms_key``, whoever creates or updates the endpoint lets SageMaker use it (CreateGrant).

        The pipeline's state machine role makes those calls, so the grant goes with the config.
        The data capture key is used by SageMaker with the model's execution role, not by the caller.
        """
        if self.kms_key is None:
            return []
        return [
            statement(
                self,
                actions=list(ENDPOINT_KEY_ACTIONS),
                resources=[self.kms_key.key_arn],
                conditions={"Bool": {GRANT_IS_FOR_AWS_RESOURCE: True}},
            )
        ]


@dataclass(frozen=True, kw_only=True)
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
    :param config: the :class:`EndpointConfigDefinition` whose config (made earlier in the same
        run) is deployed, or a config made outside this app
        (:meth:`EndpointConfigDefinition.from_config_name`). IAM is scoped to its name prefix.
    :param deployment: blue/green policy for updates. Default: - SageMaker's default update.
    :param poll_interval: Default: 30 seconds.
    :param max_wait: Default: 1 hour.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        config: IEndpointConfigRef,
        deployment: BlueGreenDeployment | None = None,
        poll_interval: Duration | None = None,
        max_wait: Duration | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        # State names are "<id>StartPolling" etc.; the States Language allows 80 characters.
        longest = max(len(s) for s in _DEPLOYMENT_STATES)
        if not re.fullmatch(rf"[A-Za-z][A-Za-z0-9_]{{0,{79 - longest}}}", id):
            problems.add(
                "id",
                id,
                f"becomes state names such as '{id}StartPolling': letters, digits and '_', "
                f"at most {80 - longest} characters",
            )
        endpoint_config_name = config.config_name
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
        problems.raise_if_any()
        super().__init__(scope, id)
        pin_feature_flags(self)
        self._endpoint_name = endpoint_name
        self.config = config
        self.max_polls = max(1, int(max_wait.to_seconds() // poll_interval.to_seconds()))
        stack = Stack.of(self)
        # SageMaker puts endpoint names lower-cased into their ARNs.
        endpoint_arn = self._endpoint_arn = sagemaker_arn(self, "endpoint", endpoint_name.lower())
        config_arn = config.config_arn
        result = f"$.steps.{id}"

        describe_statements = [statement(self, actions=list(DESCRIBE_ENDPOINT_ACTIONS), resources=[endpoint_arn])]
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
                statement(self, actions=[f"sagemaker:{ENDPOINT.operation}"], resources=[endpoint_arn, config_arn]),
                statement(
                    self,
                    actions=ENDPOINT.resource_actions(sync=False, tagged=bool(tag_list))[1:],
                    resources=[endpoint_arn],
                ),
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        update = SageMakerTask(
            self,
            f"{id}Update",
            resource=integration_arn(self, "updateEndpoint", sync=False),
            parameters=sfn.FieldUtils.render_object(update_request) or {},
            policy_statements=[
                statement(self, actions=list(UPDATE_ENDPOINT_ACTIONS), resources=[endpoint_arn, config_arn])
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

    @staticmethod
    def from_endpoint_name(scope: Construct, id: str, endpoint_name: str) -> IEndpointRef:
        """An endpoint that exists outside this app, by name (e.g. to grant invoking it)."""
        return ImportedEndpoint(scope, id, endpoint_name=endpoint_name)

    @property
    def endpoint_name(self) -> str:
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        return self._endpoint_arn

    @typed
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on this endpoint only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )


def _path_of(stack: Stack, token: str) -> str:
    """The JSONPath behind a ``sfn.JsonPath.string_at`` token."""
    rendered = sfn.FieldUtils.render_object({"v": token}) or {}
    path = rendered.get("v.$")
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"config.config_name must be a literal or a JSONPath reference, got {token!r}")
    return path
