"""Typed references between definitions, and imports of SageMaker resources made outside the app.

A definition that needs another one's result (the model a transform job uses, the config an
endpoint deploys) takes the object, not a JSONPath string: the object renders its own reference,
a JSONPath token into its task's result (``$.steps.<id>.<field>``) when it is created by this
workflow, or a fixed name when it was imported with ``from_*``. A plain string where an object is
expected fails at synth and says what to pass.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from aws_cdk import Arn, ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._iam_facts import (
    ANY_RESOURCE,
    DESCRIBE_MODEL_PACKAGE_ACTIONS,
    DESCRIBE_MODEL_PACKAGE_GROUP_ACTIONS,
    LIST_MODEL_PACKAGES_ACTIONS,
)
from .._memo import statement
from .._validation import WHAT_TO_PASS, Problems, arn_resource_name, check_value, is_token, looks_like_jsonpath, typed
from ..network import reach_service
from ._task import named_arn, sagemaker_arn
from .training import TrainingDefinition
from .tuning import TuningDefinition

__all__ = [
    "EndpointReference",
    "IEndpointConfigRef",
    "IEndpointRef",
    "IModelPackageGroup",
    "IModelPackageVersion",
    "IModelRef",
    "ImportedEndpoint",
    "ImportedEndpointConfig",
    "ImportedModel",
    "ImportedModelPackageGroup",
    "ModelPackageGroupReference",
    "check_imported_name",
    "check_model_source",
    "name_from_arn",
]


@runtime_checkable
class IModelRef(Protocol):
    """A SageMaker model that a request can name (CreateEndpointConfig, CreateTransformJob)."""

    @property
    def model_name(self) -> str:
        """The model's name: a JSONPath token read at run time, or a fixed name."""
        ...


@runtime_checkable
class IEndpointConfigRef(Protocol):
    """An endpoint configuration that an endpoint can be created or updated with."""

    @property
    def config_name(self) -> str:
        """The config's name: a JSONPath token read at run time, or a fixed name."""
        ...

    @property
    def config_arn(self) -> str:
        """ARN of the config, or the ARN pattern of every config this reference may name (for IAM)."""
        ...

    @property
    def variant_name(self) -> str:
        """The production variant the config defines (autoscaling registers it)."""
        ...

    @property
    def is_serverless(self) -> bool:
        """Whether the variant is serverless (it scales by itself: no autoscaling)."""
        ...


@runtime_checkable
class IEndpointRef(Protocol):
    """A SageMaker endpoint that can be invoked."""

    @property
    def endpoint_name(self) -> str: ...

    @property
    def endpoint_arn(self) -> str: ...

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant: ...


@runtime_checkable
class IModelPackageGroup(Protocol):
    """A Model Registry group that model versions are registered in."""

    @property
    def group_name(self) -> str: ...

    @property
    def group_arn(self) -> str: ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant: ...


@runtime_checkable
class IModelPackageVersion(Protocol):
    """One version in a Model Registry group, that a model can be created from (``ModelPackageName``)."""

    @property
    def model_package_arn(self) -> str:
        """The version's ARN: a JSONPath token read at run time, or a fixed ARN."""
        ...

    @property
    def group(self) -> IModelPackageGroup:
        """The group the version belongs to (IAM is scoped to its versions)."""
        ...


# What the construction-time type checks (``_validation.typed``) say to pass instead of, say, a string.
WHAT_TO_PASS.update(
    {
        IModelRef: "the ModelDefinition, or ModelDefinition.from_model_name(scope, id, name) for a model made "
        "outside this app",
        IEndpointConfigRef: "the EndpointConfigDefinition, or EndpointConfigDefinition.from_config_name(scope, id, "
        "name) for a config made outside this app",
        IEndpointRef: "the EndpointDeployment, or EndpointDeployment.from_endpoint_name(scope, id, name)",
        IModelPackageGroup: "the ModelPackageGroup, or ModelPackageGroup.from_group_name(scope, id, name) for an "
        "existing group",
        TrainingDefinition: "the TrainingDefinition (or TuningDefinition) whose model this is",
        TuningDefinition: "the TrainingDefinition (or TuningDefinition) whose model this is",
        IModelPackageVersion: "the ModelRegistrationDefinition, or a ModelPackageVersion(group, arn)",
    }
)


def check_model_source(
    problems: Problems,
    training: Any,
    image: Any,
    model_data_url: Any,
) -> None:
    """Either the training that made the model, or its image and artifact; never JSONPath strings.

    Only what the request cannot show: the artifact URI's and image's own rules are checked with
    the rendered request (botocore's model).
    """
    if training is not None:
        if model_data_url is not None:
            problems.conflict(
                ["training", "model_data_url"], "the artifact is the training job's; give one or the other"
            )
    else:
        if image is None:
            problems.add("image", None, "give the training definition (training=...) or the inference image")
        if model_data_url is None:
            problems.add(
                "model_data_url", None, "give the training definition (training=...) or the model artifact URI"
            )
    for field, value in (("image", image), ("model_data_url", model_data_url)):
        if looks_like_jsonpath(value):
            problems.add(
                field,
                value,
                "a JSONPath string would be sent literally, not read at run time; pass training=<the "
                "TrainingDefinition> (or a token such as sfn.JsonPath.string_at(...))",
            )


def check_imported_name(kind: str, scope: Construct, id: str, field: str, name: str, what: str, shape: str) -> None:
    """An imported resource's name: not empty, and within the API model's ``shape`` (length, pattern)."""
    problems = Problems.for_construct(kind, scope, id)
    if name == "":
        problems.add(field, name, f"the {what} is required: an empty name names no resource")
    else:
        check_value(problems, field, "sagemaker", shape, name)
    problems.raise_if_any()


def name_from_arn(kind: str, scope: Construct, id: str, field: str, arn: str, resource_type: str) -> str:
    """The name in a SageMaker ARN ``arn:<partition>:sagemaker:<region>:<account>:<type>/<name>``.

    SageMaker writes names into ARNs lower-cased (SageMaker API Reference, e.g. ``EndpointArn``), so
    a name read from an ARN is the lower-case form: for a mixed-case name, import with both (the
    ``from_*_attributes`` methods). A fixed ARN must be SageMaker's and of ``resource_type``.
    """
    if is_token(arn) and sfn.JsonPath.is_encoded_json_path(arn):  # read at run time: split by Step Functions
        return sfn.JsonPath.array_get_item(sfn.JsonPath.string_split(arn, "/"), 1)
    if is_token(arn):  # a CloudFormation value: split at deploy time
        return str(Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name)
    problems = Problems.for_construct(kind, scope, id)
    name = arn_resource_name(problems, field, arn, service="sagemaker", resource=resource_type)
    problems.raise_if_any()
    return name


class ImportedModel(Construct):
    """A model created outside this app, by name (``ModelDefinition.from_model_name``).

    The name may also be read at run time (``sfn.JsonPath.string_at("$.input.modelName")``); a
    fixed name is checked here against the API model's ModelName, and where it is used.

    :param model_name: the model's name, as it was created.
    :param model_arn: its ARN. Default: - built from the name in this stack's account and Region.
    """

    @typed
    def __init__(self, scope: Construct, id: str, *, model_name: str, model_arn: str | None = None) -> None:
        check_imported_name(type(self).__name__, scope, id, "model_name", model_name, "model name", "ModelName")
        super().__init__(scope, id)
        self._model_name = model_name
        self._model_arn = model_arn

    @property
    def model_arn(self) -> str:
        return self._model_arn or named_arn(self, "model", self._model_name)

    @property
    def model_name(self) -> str:
        return self._model_name


class ImportedEndpointConfig(Construct):
    """An endpoint config created outside this app, by name (``EndpointConfigDefinition.from_config_name``).

    A fixed name is checked here against the API model, and in the CreateEndpoint / UpdateEndpoint requests.

    :param config_name: the config's name, as it was created.
    :param config_arn: its ARN. Default: - built from the name in this stack's account and Region.
    :param variant_name: its production variant. Default: ``AllTraffic``.
    :param serverless: whether the variant is serverless (no autoscaling then). Default: ``False``.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config_name: str,
        config_arn: str | None = None,
        variant_name: str = "AllTraffic",
        serverless: bool = False,
    ) -> None:
        kind = type(self).__name__
        check_imported_name(kind, scope, id, "config_name", config_name, "endpoint config name", "EndpointConfigName")
        check_imported_name(kind, scope, id, "variant_name", variant_name, "production variant name", "VariantName")
        super().__init__(scope, id)
        self._config_name = config_name
        self._config_arn = config_arn or named_arn(self, "endpoint-config", config_name)
        self._variant_name = variant_name
        self._serverless = serverless

    @property
    def config_name(self) -> str:
        return self._config_name

    @property
    def config_arn(self) -> str:
        return self._config_arn

    @property
    def variant_name(self) -> str:
        return self._variant_name

    @property
    def is_serverless(self) -> bool:
        return self._serverless


class EndpointReference:
    """What every endpoint reference has (:class:`IEndpointRef`): its name, its ARN and the invoke grant."""

    _endpoint_name: str
    _endpoint_arn: str

    @property
    def endpoint_name(self) -> str:
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        return self._endpoint_arn

    @typed
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on this endpoint only; a grantee in a VPC it created gets the
        SageMaker runtime endpoint (:func:`~sm_constructs.network.reach_service`)."""
        reach_service(grantee, ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )


class ImportedEndpoint(EndpointReference, Construct):
    """An endpoint created outside this app, by name (``EndpointDeployment.from_endpoint_name``).

    :param endpoint_name: the endpoint's name, as it was created.
    :param endpoint_arn: its ARN. Default: - built from the name in this stack's account and Region.
    """

    @typed
    def __init__(self, scope: Construct, id: str, *, endpoint_name: str, endpoint_arn: str | None = None) -> None:
        check_imported_name(
            type(self).__name__, scope, id, "endpoint_name", endpoint_name, "endpoint name", "EndpointName"
        )
        super().__init__(scope, id)
        self._endpoint_name = endpoint_name
        self._endpoint_arn = endpoint_arn or named_arn(self, "endpoint", endpoint_name)


class ModelPackageGroupReference:
    """What every model package group has (:class:`IModelPackageGroup`): its name, its ARN and the read grant."""

    _group_name: str
    _group_arn: str

    @property
    def group_name(self) -> str:
        return self._group_name

    @property
    def group_arn(self) -> str:
        return self._group_arn

    @typed
    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Describe the group and its versions (the group ARN and ``model-package/<group>/*``) and list the
        versions (e.g. for an approval dashboard or a notebook). ``sagemaker:ListModelPackages`` takes no
        resource ARN, so it is granted on ``*``, which cdk-nag reports as ``AwsSolutions-IAM5[Resource::*]``."""
        described = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[*DESCRIBE_MODEL_PACKAGE_GROUP_ACTIONS, *DESCRIBE_MODEL_PACKAGE_ACTIONS],
            resource_arns=[self.group_arn, group_versions_arn(self, self)],  # type: ignore[arg-type]
        )
        listed = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(LIST_MODEL_PACKAGES_ACTIONS), resource_arns=[ANY_RESOURCE]
        )
        return described.combine(listed)


class ImportedModelPackageGroup(ModelPackageGroupReference, Construct):
    """A model package group created outside this stack (``ModelPackageGroup.from_group_name``).

    The groups this library creates are retained when their stack is deleted; a new stack
    registers into the same group by importing it.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        group_name: str,
        account: str | None = None,
        region: str | None = None,
        group_arn: str | None = None,
    ) -> None:
        check_imported_name(
            type(self).__name__, scope, id, "group_name", group_name, "model package group name", "EntityName"
        )
        super().__init__(scope, id)
        self._group_name = group_name
        self._versions_arn: str | None = None
        if group_arn is not None:
            # its versions are in the group's own account and Region (read from the ARN)
            self._group_arn = group_arn
            parts = Arn.split(group_arn, ArnFormat.SLASH_RESOURCE_NAME)
            self._versions_arn = Stack.of(self).format_arn(
                service="sagemaker",
                resource="model-package",
                resource_name=f"{group_name}/*",
                account=parts.account,
                region=parts.region,
                partition=parts.partition,
            )
        elif account is None and region is None:
            self._group_arn = sagemaker_arn(self, "model-package-group", group_name)
        else:
            # a group shared by another account (its ModelPackageGroupPolicy): ARNs in that account
            stack = Stack.of(self)
            owner, where = account or stack.account, region or stack.region
            self._group_arn = stack.format_arn(
                service="sagemaker",
                resource="model-package-group",
                resource_name=group_name,
                account=owner,
                region=where,
            )
            self._versions_arn = stack.format_arn(
                service="sagemaker",
                resource="model-package",
                resource_name=f"{group_name}/*",
                account=owner,
                region=where,
            )


def group_versions_arn(scope: Construct, group: IModelPackageGroup) -> str:
    """ARN pattern of every version in ``group`` (``model-package/<group>/*``): in ``scope``'s stack, or in
    the account that shares the group (:class:`ImportedModelPackageGroup` with an account)."""
    if isinstance(group, ImportedModelPackageGroup) and group._versions_arn is not None:
        return group._versions_arn
    return sagemaker_arn(scope, "model-package", f"{group.group_name}/*")


def describe_versions_statement(scope: Construct, group: IModelPackageGroup) -> iam.PolicyStatement:
    """Reading a version of ``group``, or creating a model from one: DescribeModelPackage on its versions."""
    return statement(scope, actions=list(DESCRIBE_MODEL_PACKAGE_ACTIONS), resources=[group_versions_arn(scope, group)])
