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
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._flags import pin_feature_flags
from .._fragment import BuiltFragment
from .._iam_facts import (
    DELETE_ENDPOINT_ACTIONS,
    DESCRIBE_ENDPOINT_ACTIONS,
    ENDPOINT,
    ENDPOINT_CONFIG,
    ENDPOINT_KEY_ACTIONS,
    GRANT_IS_FOR_AWS_RESOURCE,
    MODEL,
    UPDATE_ENDPOINT_ACTIONS,
)
from .._kms import STACK_JOB_KEY, StackJobKey, resolve_job_key
from .._memo import attribute, statement
from .._sfn_errors import SDK_THROTTLING_ERROR, sdk_error_name
from .._validation import Problems, carry, check_request, is_token, traced, typed, whole_seconds
from ..images import ContainerImage
from ._base import RETRYABLE_ERRORS, SageMakerDefinition, SageMakerTask, integration_arn
from ._common import NetworkConfig, grant_role, validate_network
from ._task import named_arn
from .autoscaling import AUTOSCALING_FACTS, EndpointAutoscaling, scaling_states
from .refs import (
    EndpointReference,
    IEndpointConfigRef,
    IEndpointRef,
    IModelPackageVersion,
    IModelRef,
    ImportedEndpoint,
    ImportedEndpointConfig,
    ImportedModel,
    check_model_source,
    describe_versions_statement,
    name_from_arn,
)
from .training import TrainingDefinition
from .tuning import TuningDefinition

__all__ = [
    "AsyncInferenceConfig",
    "BlueGreenDeployment",
    "DataCapture",
    "EndpointConfigDefinition",
    "EndpointDeployment",
    "ModelDefinition",
    "ServerlessConfig",
]

#: The States Language's limit on a state name (Amazon States Language specification, "States").
_MAX_STATE_NAME = 80
# SageMaker ARNs carry names in lower case; lower-case prefixes let the name be read back from the ARN.
_NAME_FROM_ARN = "States.ArrayGetItem(States.StringSplit({}, '/'), 1)"


def _lowercase_prefix(problems: Problems, prefix: str | None) -> None:
    if prefix is not None and not is_token(prefix) and prefix != prefix.lower():
        problems.add("name_prefix", prefix, "use lower case: the name is read back from the (lower-case) ARN")


def _trained(training: TrainingDefinition | TuningDefinition | None) -> TrainingDefinition | None:
    return training.training if isinstance(training, TuningDefinition) else training


def _script_mode(training: TrainingDefinition | TuningDefinition | None) -> bool:
    """A model trained in script mode serves with the same code, downloaded from S3 by its container."""
    trained = _trained(training)
    return trained is not None and trained.entry_point is not None


def _artifact_key(training: TrainingDefinition | TuningDefinition | None) -> kms.IKey | None:
    trained = _trained(training)
    return trained.output_kms_key if trained is not None else None


class ModelDefinition(SageMakerDefinition):
    """A SageMaker model (CreateModel): an inference image plus a model artifact.

    Give the ``training`` (or tuning) definition that produced the model: its artifact and image are
    read from that task's result at run time. For a model trained elsewhere give ``image`` and
    ``model_data_url`` instead. To deploy a version from the Model Registry give ``model_package``:
    the container (image and artifact) is then the one the version holds. The model's name, chosen per run, is :attr:`model_name`; pass this
    object (not a name) to :class:`EndpointConfigDefinition` and ``TransformDefinition``.

    :param role: execution role the model's containers run as.
    :param training: the training or tuning definition whose model this is. Default: - none;
        then ``image`` and ``model_data_url`` are required.
    :param image: a :class:`ContainerImage`, or an image URI string. Default: - the image the
        ``training`` job ran.
    :param model_data_url: S3 URI of ``model.tar.gz`` (static or a token). Default: - the
        ``training`` job's artifact.
    :param model_package: a registered version: the ``ModelRegistrationDefinition`` of the same
        run, or a ``ModelPackageVersion`` (e.g. the one an approval event names). Excludes
        ``training``, ``image`` and ``model_data_url``. The execution ``role`` must be able to pull
        the version's image and read its artifact. Default: - none.
    :param environment: container environment. Default: - none.
    :param network: VPC and isolation. Default: - no VPC; network isolation, except for the model of a
        script-mode training job (its inference container downloads the code from S3).

    :param name_prefix: names are ``<prefix>-<12 hex>``, new per run. Default: - ``<stack name>-<id>``,
        lower-cased and cut to fit.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    _rendered_props = {"image_uri": "image"}
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
        model_package: IModelPackageVersion | None = None,
        environment: Mapping[str, str] | None = None,
        network: NetworkConfig | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        _lowercase_prefix(problems, name_prefix)
        if model_package is None:
            check_model_source(problems, training, image, model_data_url)
            problems.raise_if_any()  # nothing to render without the model's image and artifact
        else:
            given = [n for n, v in (("training", training), ("image", image), ("model_data_url", model_data_url)) if v]
            if given:
                problems.conflict(
                    ["model_package", *given],
                    "the registered version holds the image and artifact; give one or the other",
                )
        network = network or NetworkConfig()
        validate_network(problems, network)
        super().__init__(scope, id, name_prefix=name_prefix, role=role, tags=tags, problems=problems)
        pull: ContainerImage | None = image if isinstance(image, ContainerImage) else None
        if training is not None:
            pull = pull or _trained_image(training)
            model_data_url = training.model_data_url
        self.training = training
        self.image = image
        self.model_package = model_package
        if isinstance(image, ContainerImage):
            self.image_uri = image.bind(self).image_uri
        elif model_package is not None:
            self.image_uri = ""
        else:
            self.image_uri = image if image is not None else training.image_uri  # type: ignore[union-attr]
        self.model_data_url: str = model_data_url  # type: ignore[assignment]
        self.environment = dict(environment or {})
        self.network = network
        self._check_request()
        # The artifact is read with the model's role: the key the training job encrypted it with.
        grant_role(self, role, pull, None, [_artifact_key(training)])

    @staticmethod
    def from_model_name(scope: Construct, id: str, model_name: str) -> IModelRef:
        """A model that exists outside this app, by name (for endpoint configs and transform jobs).

        The name may be read at run time, e.g. ``sfn.JsonPath.string_at("$.input.modelName")``.
        """
        return ImportedModel(scope, id, model_name=model_name)

    @staticmethod
    def from_model_arn(scope: Construct, id: str, model_arn: str) -> IModelRef:
        """A model that exists outside this app, by ARN; its name is the ARN's (SageMaker writes it lower-case)."""
        name = name_from_arn("ImportedModel", scope, id, "model_arn", model_arn, "model")
        return ImportedModel(scope, id, model_name=name, model_arn=model_arn)

    #: A model that exists outside this app, by name and ARN (:class:`~sm_constructs.jobs.refs.ImportedModel`'s props).
    from_model_attributes = staticmethod(ImportedModel)

    @property
    def model_name(self) -> str:
        """This run's model name, read at run time from the model task's result."""
        return self.state_output("ModelName")

    def render_request(self) -> dict[str, Any]:
        container: dict[str, Any]
        if self.model_package is not None:
            container = {"ModelPackageName": self.model_package.model_package_arn}
        else:
            container = {"Image": self.image_uri, "ModelDataUrl": self.model_data_url}
        if self.environment:
            container["Environment"] = self.environment
        request: dict[str, Any] = {
            "ModelName": self._name(),
            "ExecutionRoleArn": attribute(self.role, "role_arn") if self.role else None,
            # A model from a registered version names it in Containers (CreateModel API reference:
            # ContainerDefinition.ModelPackageName), as SageMaker's own deploy-from-registry does.
            **({"Containers": [container]} if self.model_package is not None else {"PrimaryContainer": container}),
            "EnableNetworkIsolation": self.network.isolation(needs_network=_script_mode(self.training)),
            "Tags": self._tags(),
        }
        vpc = self.network.vpc_config()
        if vpc:
            request["VpcConfig"] = vpc
        return request

    def result_selector(self) -> dict[str, Any]:
        return {"ModelArn.$": "$.ModelArn", "ModelName.$": _NAME_FROM_ARN.format("$.ModelArn")}

    def extra_policy_statements(self) -> list[iam.PolicyStatement]:
        """From a registered version: read the version (only those of its group)."""
        if self.model_package is None:
            return []
        return [describe_versions_statement(self, self.model_package.group)]


def _trained_image(training: TrainingDefinition | TuningDefinition) -> ContainerImage:
    return training.training.image if isinstance(training, TuningDefinition) else training.image


@dataclass(frozen=True, kw_only=True)
class ServerlessConfig:
    """Serverless inference: memory 1024-6144 MB in 1 GB steps, 1-200 concurrent invocations.

    :param memory_size_mb: 1024-6144 in steps of 1024. Default: 2048.
    :param max_concurrency: 1-200. Default: 5.
    """

    memory_size_mb: int = 2048
    max_concurrency: int = 5


@dataclass(frozen=True)
class AsyncInferenceConfig:
    """Asynchronous inference: requests are queued, responses written to S3 (payloads up to 1 GB).

    The model's execution role must be able to write ``output_path`` / ``failure_path``, publish
    to the topics and use ``kms_key``.

    :param output_path: S3 URI where responses are written.
    :param failure_path: S3 URI for failed requests' errors. Default: - errors go to ``output_path``.
    :param kms_key: encrypts the responses. Default: - the bucket's default encryption.
    :param success_topic: SNS topic told of each response. Default: - none.
    :param error_topic: SNS topic told of each failure. Default: - none.
    :param max_concurrent_invocations_per_instance: 1-1000. Default: - SageMaker chooses.
    """

    output_path: str
    _: KW_ONLY
    failure_path: str | None = None
    kms_key: kms.IKey | None = None
    success_topic: sns.ITopic | None = None
    error_topic: sns.ITopic | None = None
    max_concurrent_invocations_per_instance: int | None = None

    def render(self) -> dict[str, Any]:
        output: dict[str, Any] = {"S3OutputPath": self.output_path}
        if self.failure_path is not None:
            output["S3FailurePath"] = self.failure_path
        if self.kms_key is not None:
            output["KmsKeyId"] = attribute(self.kms_key, "key_arn")
        notify: dict[str, Any] = {}
        if self.success_topic is not None:
            notify["SuccessTopic"] = self.success_topic.topic_arn
        if self.error_topic is not None:
            notify["ErrorTopic"] = self.error_topic.topic_arn
        if notify:
            output["NotificationConfig"] = notify
        out: dict[str, Any] = {"OutputConfig": output}
        if self.max_concurrent_invocations_per_instance is not None:
            out["ClientConfig"] = {"MaxConcurrentInvocationsPerInstance": self.max_concurrent_invocations_per_instance}
        return out


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
    :param async_inference: queue requests and write responses to S3 instead of answering in the
        call (not with ``serverless``). Default: - real-time.
    :param data_capture: Default: - no capture.
    :param kms_key: encrypts the instances' ML storage volume. Default: - the stack's job key
        (``sm_constructs._kms.job_key``); none for serverless variants, which have no volume. ``None``:
        AWS-managed, needed for instance types with only local (NVMe) storage, which reject a KmsKeyId.
    :param variant_name: Default: ``AllTraffic``.
    :param name_prefix: names are ``<prefix>-<12 hex>``, new per run. Default: - ``<stack name>-<id>``,
        lower-cased and cut to fit.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
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
        async_inference: AsyncInferenceConfig | None = None,
        data_capture: DataCapture | None = None,
        kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
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
            if kms_key is not None and not isinstance(kms_key, StackJobKey):
                problems.conflict(["kms_key", "serverless"], "serverless endpoints have no volume to encrypt")
        if async_inference is not None and serverless is not None:
            problems.conflict(["async_inference", "serverless"], "asynchronous inference runs on instances")
        super().__init__(scope, id, name_prefix=name_prefix, role=None, tags=tags, problems=problems)
        self.model = model
        self.instance_type = instance_type
        self.initial_instance_count = initial_instance_count
        self.serverless = serverless
        self.async_inference = async_inference
        self.data_capture = data_capture
        self.kms_key = resolve_job_key(self, kms_key) if serverless is None else None
        self._variant_name = variant_name
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
            request["KmsKeyId"] = attribute(self.kms_key, "key_arn")
        if self.data_capture is not None:
            capture: dict[str, Any] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": self.data_capture.sampling_percentage,
                "DestinationS3Uri": self.data_capture.destination_s3_uri,
                "CaptureOptions": [{"CaptureMode": m} for m in self.data_capture.capture_modes],
            }
            if self.data_capture.kms_key is not None:
                capture["KmsKeyId"] = attribute(self.data_capture.kms_key, "key_arn")
            request["DataCaptureConfig"] = capture
        if self.async_inference is not None:
            request["AsyncInferenceConfig"] = self.async_inference.render()
        return request

    def result_selector(self) -> dict[str, Any]:
        return {
            "EndpointConfigArn.$": "$.EndpointConfigArn",
            "EndpointConfigName.$": _NAME_FROM_ARN.format("$.EndpointConfigArn"),
        }

    @staticmethod
    def from_config_name(
        scope: Construct, id: str, config_name: str, *, variant_name: str = "AllTraffic"
    ) -> IEndpointConfigRef:
        """An endpoint config that exists outside this app, by name (for :class:`EndpointDeployment`).

        :param variant_name: its production variant. Default: ``AllTraffic``.
        """
        return ImportedEndpointConfig(scope, id, config_name=config_name, variant_name=variant_name)

    @staticmethod
    def from_config_arn(
        scope: Construct, id: str, config_arn: str, *, variant_name: str = "AllTraffic"
    ) -> IEndpointConfigRef:
        """An endpoint config that exists outside this app, by ARN; its name is the ARN's (lower-case).

        :param variant_name: its production variant. Default: ``AllTraffic``.
        """
        name = name_from_arn("ImportedEndpointConfig", scope, id, "config_arn", config_arn, "endpoint-config")
        return ImportedEndpointConfig(scope, id, config_name=name, config_arn=config_arn, variant_name=variant_name)

    #: An endpoint config that exists outside this app, with what this library needs to know of it
    #: (:class:`~sm_constructs.jobs.refs.ImportedEndpointConfig`'s props).
    from_config_attributes = staticmethod(ImportedEndpointConfig)

    @property
    def variant_name(self) -> str:
        """The production variant this config defines."""
        return self._variant_name

    @property
    def is_serverless(self) -> bool:
        """Whether the variant is serverless (``serverless`` given)."""
        return self.serverless is not None

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
                resources=[attribute(self.kms_key, "key_arn")],
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
    :param alarm_names: CloudWatch alarms that trigger the rollback. Default: - none.
    """

    alarm_names: Sequence[str] = field(default_factory=list)
    traffic: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"] = "ALL_AT_ONCE"
    canary_percent: int = 10
    wait: Duration = field(default_factory=lambda: Duration.minutes(5))
    termination_wait: Duration = field(default_factory=lambda: Duration.minutes(5))

    def render(self) -> dict[str, Any]:
        routing: dict[str, Any] = {"Type": self.traffic, "WaitIntervalInSeconds": whole_seconds(self.wait)}
        size = {"Type": "CAPACITY_PERCENT", "Value": self.canary_percent}
        if self.traffic == "CANARY":
            routing["CanarySize"] = size
        elif self.traffic == "LINEAR":
            routing["LinearStepSize"] = size
        out: dict[str, Any] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": routing,
                "TerminationWaitInSeconds": whole_seconds(self.termination_wait),
            }
        }
        if self.alarm_names:
            out["AutoRollbackConfiguration"] = {
                "Alarms": carry([{"AlarmName": a} for a in self.alarm_names], self.alarm_names)
            }
        return out


class EndpointDeployment(EndpointReference, BuiltFragment):
    """Create the endpoint if it does not exist, update it if it does, then wait until InService.

    The endpoint name is stable (endpoints are long-lived; each run brings a new endpoint config).
    Several runs may release to the same endpoint at once. SageMaker refuses ``UpdateEndpoint`` and
    ``DeleteEndpoint`` while the endpoint is ``Creating`` or ``Updating`` ("Cannot update in-progress
    endpoint") and a second ``CreateEndpoint`` for its name, so a deployment that finds the endpoint
    busy, or is refused for that reason, waits (``poll_interval``, at most ``max_wait``) and looks
    again; releases therefore take turns, and the endpoint ends on the config of the last release
    that started its update. A ``Failed`` endpoint accepts only ``DeleteEndpoint`` (DescribeEndpoint,
    SageMaker API reference): with ``replace_failed_endpoint`` the deployment deletes it and creates it
    anew, otherwise it fails with ``EndpointFailed`` and says what to do.

    States (prefixed with the construct id): ``<id>Start`` → ``<id>Describe`` → ``<id>Route`` →
    ``<id>Create`` / ``<id>Update`` / ``<id>Delete`` / ``<id>BusyWait`` → … → ``<id>Wait`` →
    ``<id>Poll`` → ``<id>Check``. After its own update, the deployment fails on ``Failed`` /
    ``OutOfService``, when the update rolled back (the endpoint came back InService on the config it
    had before), or after ``max_wait``; InService on a config of a later release (``<id>Superseded``)
    is a success: this release was in service and a newer one followed it.

    :param endpoint_name: the endpoint's name (1-63, letters, digits, hyphens).
    :param config: the :class:`EndpointConfigDefinition` whose config (made earlier in the same
        run) is deployed, or a config made outside this app
        (:meth:`EndpointConfigDefinition.from_config_name`). IAM is scoped to its name prefix.
    :param deployment: blue/green policy for updates. Default: - SageMaker's default update.
    :param autoscaling: scale the variant once the endpoint is InService (``<id>RegisterScaling`` →
        ``<id>ScalingPolicy``); before an update the variant is deregistered
        (``<id>DeregisterScaling``) so the update or blue/green shift runs on a fixed fleet and the
        new fleet is scaled once InService. Default: - no autoscaling.
    :param poll_interval: Default: 30 seconds.
    :param max_wait: how long to wait for a busy endpoint, and then for the update. Default: 1 hour.
    :param replace_failed_endpoint: delete and re-create an endpoint found ``Failed`` (it serves
        nothing; the role gets ``sagemaker:DeleteEndpoint`` on this endpoint only). Default: false -
        the run fails and names the endpoint to delete.

    :param tags: tags on the endpoint it creates. Default: - none.
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
        autoscaling: EndpointAutoscaling | None = None,
        poll_interval: Duration | None = None,
        max_wait: Duration | None = None,
        replace_failed_endpoint: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        poll_interval = poll_interval or Duration.seconds(30)
        max_wait = max_wait or Duration.hours(1)
        create_request, update_request = self._validate(
            scope,
            id,
            endpoint_name=endpoint_name,
            config=config,
            deployment=deployment,
            autoscaling=autoscaling,
            poll_interval=poll_interval,
            max_wait=max_wait,
            tags=tags or {},
        )
        super().__init__(scope, id)
        pin_feature_flags(self)
        self._endpoint_name = endpoint_name
        self.config = config
        self.replace_failed_endpoint = replace_failed_endpoint
        self.autoscaling = autoscaling
        self.max_polls = max(1, int(max_wait.to_seconds() // poll_interval.to_seconds()))
        self._endpoint_arn = named_arn(self, "endpoint", endpoint_name)

        start, describe, describe_statements = self._build_look(id, endpoint_name)
        create, update = self._build_writes(id, create_request, update_request)
        # DescribeEndpoint on a missing endpoint fails (unmodeled ValidationException): create it.
        describe.add_catch(create, errors=[sdk_error_name("ValidationException")], result_path=f"$.steps.{id}.Existing")
        busy_wait, count_busy, busy_too_long, rejected, refused = self._build_busy(id, endpoint_name, poll_interval)
        for task in (create, update):
            task.add_catch(rejected, errors=["States.ALL"], result_path=refused)
        failed_endpoint = self._build_failed_endpoint(id, endpoint_name)
        update_entry, scaling = self._build_scaling_around(id, update)
        self.tasks = [describe, create, update, *(scaling or ())]
        route = self._build_route(id, update_entry, failed_endpoint, busy_wait, busy_too_long, rejected, refused)
        count_busy.next(describe)
        count, poll, done, superseded = self._build_polling(
            id, endpoint_name, config.config_name, poll_interval, describe_statements
        )
        start.next(describe)
        describe.next(route)
        create.next(count)
        update.next(count)
        self._start = start
        self.tasks.append(poll)
        self._ends = self._build_ends(done, superseded, count, scaling)
        self._check_state_names(scope, id)

    # ---- stages: each returns its entry and exit states -----------------------------------------
    @classmethod
    def _validate(
        cls,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        config: IEndpointConfigRef,
        deployment: BlueGreenDeployment | None,
        autoscaling: EndpointAutoscaling | None,
        poll_interval: Duration,
        max_wait: Duration,
        tags: Mapping[str, str],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Every problem of the props at once; the CreateEndpoint and UpdateEndpoint requests."""
        problems = Problems.for_construct(cls.__name__, scope, id)
        if autoscaling is not None:
            autoscaling.validate(problems)
            if config.is_serverless:
                problems.conflict(["autoscaling", "config.serverless"], "serverless endpoints scale by themselves")
            if is_token(endpoint_name):
                problems.add(
                    "endpoint_name", endpoint_name, "with autoscaling the endpoint name must be fixed at synth"
                )
        # State names are "<id>StartPolling" etc.: their length is checked on the states built.
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", id):
            problems.add("id", id, f"becomes state names such as '{id}StartPolling': letters, digits and '_'")
        if not 5 <= poll_interval.to_seconds() <= 3600:
            problems.add("poll_interval", poll_interval.to_human_string(), "between 5 seconds and 1 hour")
        if max_wait.to_seconds() < poll_interval.to_seconds():
            problems.add("max_wait", max_wait.to_human_string(), "must be at least poll_interval")
        if deployment is not None and isinstance(deployment.canary_percent, int) and deployment.canary_percent > 99:
            # The model allows 1-100 %; a canary or linear step of all traffic leaves nothing to shift.
            problems.add("deployment.canary_percent", deployment.canary_percent, "at most 99 %")
        # Names, tags, traffic routing, waits (<= 3600 s) and alarms (<= 10): from the model, checked on
        # the requests rendered from traced props so that each problem names its prop.
        create_check, update_check = _endpoint_requests(
            traced(endpoint_name, "endpoint_name"),
            traced(config.config_name, "config.config_name"),
            traced(dict(tags), "tags"),
            traced(deployment, "deployment"),
        )
        check_request(problems, "sagemaker", "CreateEndpoint", create_check)
        check_request(problems, "sagemaker", "UpdateEndpoint", update_check)
        problems.raise_if_any()
        return _endpoint_requests(endpoint_name, config.config_name, tags, deployment)

    def _describe_endpoint(
        self,
        state_id: str,
        endpoint_name: str,
        statements: list[iam.PolicyStatement],
        result_path: str,
        *,
        also: Mapping[str, str] | None = None,
    ) -> SageMakerTask:
        """A DescribeEndpoint call (AWS SDK integration) that keeps the endpoint's status, the config it
        serves and the ``also`` fields."""
        return SageMakerTask(
            self,
            state_id,
            resource=integration_arn(self, "describeEndpoint", sync=False, sdk=True),
            parameters={"EndpointName": endpoint_name},
            policy_statements=statements,
            result_selector={
                "EndpointStatus.$": "$.EndpointStatus",
                "EndpointConfigName.$": "$.EndpointConfigName",
                **(also or {}),
            },
            result_path=result_path,
        )

    def _build_look(self, id: str, endpoint_name: str) -> tuple[sfn.Pass, SageMakerTask, list[iam.PolicyStatement]]:
        """``<id>Start`` (the busy count) → ``<id>Describe`` (the endpoint as it is); the describe
        statements, which the poll shares."""
        result = f"$.steps.{id}"
        start = sfn.Pass(self, f"{id}Start", parameters={"Count": 0}, result_path=f"{result}.Busy")
        describe_statements = [statement(self, actions=list(DESCRIBE_ENDPOINT_ACTIONS), resources=[self._endpoint_arn])]
        describe = self._describe_endpoint(f"{id}Describe", endpoint_name, describe_statements, f"{result}.Existing")
        # A missing endpoint and a throttled call report the same name (neither is modeled): two quick
        # retries, then the catch creates the endpoint.
        describe.add_retry(
            errors=[SDK_THROTTLING_ERROR],
            interval=Duration.seconds(1),
            max_attempts=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return start, describe, describe_statements

    def _build_writes(
        self, id: str, create_request: dict[str, Any], update_request: dict[str, Any]
    ) -> tuple[SageMakerTask, SageMakerTask]:
        """``<id>Create`` and ``<id>Update``, each retried on SageMaker's transient errors."""
        endpoint_arn, config_arn = self._endpoint_arn, self.config.config_arn

        def write(
            name: str, action: str, request: dict[str, Any], statements: list[iam.PolicyStatement]
        ) -> SageMakerTask:
            task = SageMakerTask(
                self,
                f"{id}{name}",
                resource=integration_arn(self, action, sync=False),
                parameters=sfn.FieldUtils.render_object(request) or {},
                policy_statements=statements,
                result_path=sfn.JsonPath.DISCARD,
            )
            task.add_retry(
                errors=RETRYABLE_ERRORS,
                interval=Duration.seconds(10),
                max_attempts=4,
                jitter_strategy=sfn.JitterType.FULL,
            )
            return task

        create = write(
            "Create",
            "createEndpoint",
            create_request,
            [
                statement(self, actions=[f"sagemaker:{ENDPOINT.operation}"], resources=[endpoint_arn, config_arn]),
                statement(
                    self,
                    actions=ENDPOINT.resource_actions(sync=False, tagged=bool(create_request.get("Tags")))[1:],
                    resources=[endpoint_arn],
                ),
            ],
        )
        update = write(
            "Update",
            "updateEndpoint",
            update_request,
            [statement(self, actions=list(UPDATE_ENDPOINT_ACTIONS), resources=[endpoint_arn, config_arn])],
        )
        return create, update

    def _build_failed_endpoint(self, id: str, endpoint_name: str) -> sfn.Fail:
        """``<id>EndpointFailed``: a Failed endpoint the deployment may not replace."""
        return sfn.Fail(
            self,
            f"{id}EndpointFailed",
            error="EndpointFailed",
            cause=f"Endpoint {endpoint_name} is Failed and SageMaker accepts only DeleteEndpoint on a failed "
            f"endpoint (its FailureReason says why it failed). Delete it (aws sagemaker delete-endpoint "
            f"--endpoint-name {endpoint_name}) and run again, or set replace_failed_endpoint=True on "
            f"EndpointDeployment {self.node.path} to let the pipeline replace it.",
        )

    def _build_scaling_around(
        self, id: str, update: SageMakerTask
    ) -> tuple[sfn.IChainable, tuple[SageMakerTask, SageMakerTask, SageMakerTask] | None]:
        """With autoscaling: ``<id>DeregisterScaling`` before the update (a fixed fleet for the update),
        the register and policy states for after InService. The update's entry, and those states."""
        if self.autoscaling is None:
            return update, None
        scaling = scaling_states(
            self,
            id,
            self.autoscaling,
            endpoint_name=self._endpoint_name,
            endpoint_arn=self._endpoint_arn,
            variant_name=self.config.variant_name,
            result_path=f"$.steps.{id}.Scaling",
        )
        deregister = scaling[0]
        # Nothing registered yet (first deployment, or scaling added later): go on with the update.
        deregister.add_catch(
            update, errors=[str(AUTOSCALING_FACTS["not_found_error"])], result_path=sfn.JsonPath.DISCARD
        )
        deregister.next(update)
        return deregister, scaling

    def _build_route(
        self,
        id: str,
        update_entry: sfn.IChainable,
        failed_endpoint: sfn.Fail,
        busy_wait: sfn.Wait,
        busy_too_long: sfn.Fail,
        rejected: sfn.Choice,
        refused: str,
    ) -> sfn.Choice:
        """``<id>Route``: update an endpoint in service, handle a Failed one (``<id>Delete`` with
        ``replace_failed_endpoint``), wait while it is busy."""
        result = f"$.steps.{id}"
        existing_status = f"{result}.Existing.EndpointStatus"
        route = sfn.Choice(self, f"{id}Route")
        route.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(existing_status),
                sfn.Condition.or_(
                    sfn.Condition.string_equals(existing_status, "InService"),
                    sfn.Condition.string_equals(existing_status, "OutOfService"),
                ),
            ),
            update_entry,
        )
        if self.replace_failed_endpoint:
            delete = SageMakerTask(
                self,
                f"{id}Delete",
                resource=integration_arn(self, "deleteEndpoint", sync=False, sdk=True),
                parameters={"EndpointName": self._endpoint_name},
                policy_statements=[
                    statement(self, actions=list(DELETE_ENDPOINT_ACTIONS), resources=[self._endpoint_arn])
                ],
                result_path=sfn.JsonPath.DISCARD,
            )
            delete.add_retry(errors=[SDK_THROTTLING_ERROR], max_attempts=3, jitter_strategy=sfn.JitterType.FULL)
            delete.add_catch(rejected, errors=["States.ALL"], result_path=refused)
            delete.next(busy_wait)  # Deleting, then gone: the next look creates it
            route.when(sfn.Condition.string_equals(existing_status, "Failed"), delete)
            self.tasks.append(delete)
        else:
            route.when(sfn.Condition.string_equals(existing_status, "Failed"), failed_endpoint)
        route.when(sfn.Condition.number_greater_than_equals(f"{result}.Busy.Count", self.max_polls), busy_too_long)
        route.otherwise(busy_wait)
        return route

    @staticmethod
    def _build_ends(
        done: sfn.Pass,
        superseded: sfn.Pass,
        count: sfn.Pass,
        scaling: tuple[SageMakerTask, SageMakerTask, SageMakerTask] | None,
    ) -> list[sfn.INextable]:
        """The exits: InService on this release's config (then scaled, with autoscaling), or superseded."""
        if scaling is None:
            return [done, superseded]
        _, register, policy = scaling
        done.next(register)
        register.next(policy)
        # A later release deregistered the target between our register and our policy
        # (ObjectNotFoundException, see AUTOSCALING_FACTS): watch the endpoint again. Back on
        # our config (the later update rolled back or was refused) we scale it again; InService
        # on a later config we stand down as superseded, and the later release scales it.
        policy.add_catch(count, errors=[str(AUTOSCALING_FACTS["not_found_error"])], result_path=sfn.JsonPath.DISCARD)
        # a superseded release leaves scaling to the later one that is in service
        return [policy, superseded]

    def _build_busy(
        self, id: str, endpoint_name: str, poll_interval: Duration
    ) -> tuple[sfn.Wait, sfn.Pass, sfn.Fail, sfn.Choice, str]:
        """A busy endpoint: wait (``<id>BusyWait`` → ``<id>CountBusy``, which the caller sends back to
        its look), at most ``max_polls`` times (``<id>BusyTimedOut``). Returns those states, the
        ``<id>Refused`` choice a refused call is caught into, and the path the refusal is kept at.
        """
        result = f"$.steps.{id}"
        busy_wait = sfn.Wait(self, f"{id}BusyWait", time=sfn.WaitTime.duration(poll_interval))
        count_busy = sfn.Pass(
            self,
            f"{id}CountBusy",
            parameters={"Count": sfn.JsonPath.math_add(sfn.JsonPath.number_at(f"{result}.Busy.Count"), 1)},
            result_path=f"{result}.Busy",
        )
        busy_too_long = sfn.Fail(
            self,
            f"{id}BusyTimedOut",
            error="EndpointDeploymentTimedOut",
            cause=f"Endpoint {endpoint_name} stayed busy (Creating, Updating or Deleting) for {self.max_polls} polls: "
            "another release or change is still in progress; run again when it is InService",
        )
        # SageMaker's refusals that only mean "busy" (ValidationException, message documented in
        # the emulator's endpoint_lifecycle module); any other refusal fails the deployment with its cause.
        refused = f"{result}.Refused"
        rejected = (
            sfn.Choice(self, f"{id}Refused")
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_matches(f"{refused}.Cause", "*Cannot update in-progress endpoint*"),
                    sfn.Condition.string_matches(f"{refused}.Cause", "*Cannot create already existing endpoint*"),
                ),
                busy_wait,
            )
            .otherwise(
                sfn.Fail(
                    self,
                    f"{id}Rejected",
                    error_path=f"{refused}.Error",
                    cause_path=f"{refused}.Cause",
                )
            )
        )
        busy_wait.next(count_busy)
        return busy_wait, count_busy, busy_too_long, rejected, refused

    def _build_polling(
        self,
        id: str,
        endpoint_name: str,
        endpoint_config_name: str,
        poll_interval: Duration,
        describe_statements: list[iam.PolicyStatement],
    ) -> tuple[sfn.Pass, SageMakerTask, sfn.Pass, sfn.Pass]:
        """After our create or update: poll until InService, bounded by ``max_polls``.

        Returns the entry (``<id>StartPolling``), the poll task (for its IAM) and the two exits:
        ``<id>InService`` on this deployment's config, ``<id>Superseded`` on a later release's.
        """
        stack = Stack.of(self)
        result = f"$.steps.{id}"
        count = sfn.Pass(self, f"{id}StartPolling", parameters={"Polls": 0}, result_path=f"{result}.Progress")
        wait = sfn.Wait(self, f"{id}Wait", time=sfn.WaitTime.duration(poll_interval))
        poll = self._describe_endpoint(
            f"{id}Poll",
            endpoint_name,
            describe_statements,
            f"{result}.Endpoint",
            also={"EndpointArn.$": "$.EndpointArn", "Details.$": "States.JsonToString($)"},
        )
        poll.add_retry(errors=[SDK_THROTTLING_ERROR], max_attempts=5, jitter_strategy=sfn.JitterType.FULL)
        bump = sfn.Pass(
            self,
            f"{id}CountPoll",
            parameters={"Polls": sfn.JsonPath.math_add(sfn.JsonPath.number_at(f"{result}.Progress.Polls"), 1)},
            result_path=f"{result}.Progress",
        )
        status = f"{result}.Endpoint.EndpointStatus"
        serving = f"{result}.Endpoint.EndpointConfigName"
        failed = sfn.Fail(
            self, f"{id}Failed", error="EndpointDeploymentFailed", cause_path=f"{result}.Endpoint.Details"
        )
        rolled_back = sfn.Fail(
            self,
            f"{id}RolledBack",
            error="EndpointDeploymentRolledBack",
            cause="The endpoint is InService on the endpoint config it had before: the update was rolled back.",
        )
        timed_out = sfn.Fail(
            self,
            f"{id}TimedOut",
            error="EndpointDeploymentTimedOut",
            cause=f"Not InService after {self.max_polls} polls",
        )
        done = sfn.Pass(self, f"{id}InService")
        superseded = sfn.Pass(self, f"{id}Superseded")
        in_service = sfn.Condition.string_equals(status, "InService")
        same_config = (
            sfn.Condition.string_equals_json_path(serving, _path_of(stack, endpoint_config_name))
            if is_token(endpoint_config_name)
            else sfn.Condition.string_equals(serving, endpoint_config_name)
        )
        # the config the endpoint served when this deployment updated it (absent when it created it)
        previous = f"{result}.Existing.EndpointConfigName"
        back_on_previous = sfn.Condition.and_(
            sfn.Condition.is_present(previous), sfn.Condition.string_equals_json_path(serving, previous)
        )
        check = (
            sfn.Choice(self, f"{id}Check")
            .when(sfn.Condition.and_(in_service, same_config), done)
            .when(sfn.Condition.and_(in_service, back_on_previous), rolled_back)
            .when(in_service, superseded)
            .when(
                sfn.Condition.or_(
                    sfn.Condition.string_equals(status, "Failed"), sfn.Condition.string_equals(status, "OutOfService")
                ),
                failed,
            )
            .when(sfn.Condition.number_greater_than_equals(f"{result}.Progress.Polls", self.max_polls), timed_out)
            .otherwise(wait)
        )
        count.next(wait)
        wait.next(poll)
        poll.next(bump)
        bump.next(check)
        return count, poll, done, superseded

    def _check_state_names(self, scope: Construct, id: str) -> None:
        """Every state this deployment built is named ``<id><suffix>``; the longest must fit the limit."""
        longest = max((c.state_id for c in self.node.children if isinstance(c, sfn.State)), key=len)
        if len(longest) > _MAX_STATE_NAME:
            problems = Problems.for_construct(type(self).__name__, scope, id)
            problems.add(
                "id",
                id,
                f"becomes state names such as '{longest}' ({len(longest)} characters, over the States Language's "
                f"{_MAX_STATE_NAME}): use at most {_MAX_STATE_NAME - len(longest) + len(id)} characters",
            )
            problems.raise_if_any()

    @staticmethod
    def from_endpoint_name(scope: Construct, id: str, endpoint_name: str) -> IEndpointRef:
        """An endpoint that exists outside this app, by name (e.g. to grant invoking it)."""
        return ImportedEndpoint(scope, id, endpoint_name=endpoint_name)

    @staticmethod
    def from_endpoint_arn(scope: Construct, id: str, endpoint_arn: str) -> IEndpointRef:
        """An endpoint that exists outside this app, by ARN; its name is the ARN's (lower-case, and
        InvokeEndpoint matches names case-sensitively: for a mixed-case name use
        :meth:`from_endpoint_attributes`)."""
        name = name_from_arn("ImportedEndpoint", scope, id, "endpoint_arn", endpoint_arn, "endpoint")
        return ImportedEndpoint(scope, id, endpoint_name=name, endpoint_arn=endpoint_arn)

    #: An endpoint that exists outside this app, by name and ARN (:class:`~sm_constructs.jobs.refs.ImportedEndpoint`'s
    #: props).
    from_endpoint_attributes = staticmethod(ImportedEndpoint)


def _endpoint_requests(
    name: str, config_name: str, tags: Mapping[str, str], deployment: BlueGreenDeployment | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The CreateEndpoint and UpdateEndpoint requests of a deployment."""
    tag_list = carry([{"Key": k, "Value": v} for k, v in sorted(tags.items())], tags)
    create: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
    if tag_list:
        create["Tags"] = tag_list
    update: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
    if deployment is not None:
        update["DeploymentConfig"] = deployment.render()
    return create, update


def _path_of(stack: Stack, token: str) -> str:
    """The JSONPath behind a ``sfn.JsonPath.string_at`` token."""
    rendered = sfn.FieldUtils.render_object({"v": token}) or {}
    path = rendered.get("v.$")
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"config.config_name must be a literal or a JSONPath reference, got {token!r}")
    return path
