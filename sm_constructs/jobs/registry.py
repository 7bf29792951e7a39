"""Model registry: a model package group and the definition that registers each new model version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._flags import pin_feature_flags
from .._iam_facts import MODEL_PACKAGE, MODEL_PACKAGE_UPDATE
from .._memo import statement
from .._validation import Problems, check_request, traced, typed
from ._base import SageMakerDefinition, sagemaker_arn
from .monitoring import DataQualityBaselineDefinition
from .refs import (
    IModelPackageGroup,
    IModelPackageVersion,
    ImportedModelPackageGroup,
    ModelPackageGroupReference,
    check_model_source,
    group_versions_arn,
    name_from_arn,
)
from .training import TrainingDefinition
from .tuning import TuningDefinition

__all__ = ["ModelApprovalDefinition", "ModelPackageGroup", "ModelPackageVersion", "ModelRegistrationDefinition"]

ApprovalStatus = Literal["PendingManualApproval", "Approved", "Rejected"]


class ModelPackageGroup(ModelPackageGroupReference, Construct):
    """A SageMaker Model Registry group: the versioned history of one model.

    There is no L2 for it in aws-cdk-lib; the L1 is exposed as :attr:`cfn_group`. The group is
    RETAINed by default: it is the audit trail of every model that was ever registered.

    :param group_name: the group's name (SageMaker's EntityName rules).
    :param description: Default: - none.
    :param removal_policy: Default: ``RemovalPolicy.RETAIN`` (the audit trail outlives the stack).
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        group_name: str,
        description: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        # The same rules as the API call CloudFormation makes for the group (name pattern, description length).
        check_request(
            problems,
            "sagemaker",
            "CreateModelPackageGroup",
            {
                "ModelPackageGroupName": traced(group_name, "group_name"),
                "ModelPackageGroupDescription": traced(description, "description"),
            },
        )
        problems.raise_if_any()
        super().__init__(scope, id)
        pin_feature_flags(self)
        self._group_name = group_name
        self.cfn_group = sagemaker.CfnModelPackageGroup(
            self,
            "Resource",
            model_package_group_name=group_name,
            model_package_group_description=description,
        )
        self.cfn_group.apply_removal_policy(removal_policy)
        self._group_arn = self.cfn_group.attr_model_package_group_arn

    @staticmethod
    def from_group_name(
        scope: Construct, id: str, group_name: str, *, account: str | None = None, region: str | None = None
    ) -> IModelPackageGroup:
        """A group that exists already, by name: e.g. one a deleted stack retained, or another team's.

        :param account: the account that owns the group and shares it through its resource policy
            (see :class:`~sm_constructs.ReleaseSource`). Default: - this stack's account.
        :param region: the group's region. Default: - this stack's region.
        """
        return ImportedModelPackageGroup(scope, id, group_name=group_name, account=account, region=region)

    @staticmethod
    def from_group_arn(scope: Construct, id: str, group_arn: str) -> IModelPackageGroup:
        """A group that exists already, by ARN (``...:model-package-group/<name>``)."""
        name = name_from_arn("ImportedModelPackageGroup", scope, id, "group_arn", group_arn, "model-package-group")
        return ImportedModelPackageGroup(scope, id, group_name=name, group_arn=group_arn)

    @staticmethod
    def from_group_attributes(
        scope: Construct, id: str, *, group_name: str, group_arn: str | None = None
    ) -> IModelPackageGroup:
        """A group that exists already, by name and ARN.

        :param group_name: the group's name, as it was created.
        :param group_arn: its ARN. Default: - built from the name in this stack's account and Region.
        """
        return ImportedModelPackageGroup(scope, id, group_name=group_name, group_arn=group_arn)


class ModelRegistrationDefinition(SageMakerDefinition):
    """Registers a trained model as a new version in a :class:`ModelPackageGroup` (CreateModelPackage).

    Step Functions has no optimized integration for it, so the task uses the AWS SDK integration.
    The version starts as ``PendingManualApproval`` by default: a person (or a later automation)
    approves it before production deploys from the registry.

    :param group: the model package group: a :class:`ModelPackageGroup`, or an existing one
        (:meth:`ModelPackageGroup.from_group_name`).
    :param training: the training or tuning definition whose model is registered; its image and
        artifact are read from that task's result at run time. Default: - none; then ``image`` and
        ``model_data_url`` are required.
    :param image: inference image URI. Default: - the image the ``training`` job ran.
    :param model_data_url: S3 URI of the model artifact (static or a token). Default: - the
        ``training`` job's artifact.
    :param approval_status: initial status. Default: ``PendingManualApproval``.
    :param content_types: request content types. Default: ``["text/csv"]``.
    :param response_types: response MIME types. Default: ``["text/csv"]``.
    :param evaluation_report_uri: S3 URI of the evaluation report, attached as model-quality
        statistics. Default: - none attached.
    :param data_quality_baseline: the baseline of the training data, registered as the version's
        ``DriftCheckBaselines.ModelDataQuality`` (statistics and constraints): a
        :class:`ModelDeployment` with monitoring monitors the version against it. Default: - none.
    :param description: version description. Default: - none.
    :param realtime_instance_types: instance types the version supports for endpoints. Default: ``["ml.m5.large"]``.
    :param transform_instance_types: instance types for batch transform. Default: ``["ml.m5.large"]``.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = MODEL_PACKAGE
    run_suffix = False  # versions of the group are numbered by SageMaker

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        group: IModelPackageGroup,
        training: TrainingDefinition | TuningDefinition | None = None,
        image: str | None = None,
        model_data_url: str | None = None,
        approval_status: ApprovalStatus = "PendingManualApproval",
        content_types: Sequence[str] = ("text/csv",),
        response_types: Sequence[str] = ("text/csv",),
        evaluation_report_uri: str | None = None,
        data_quality_baseline: DataQualityBaselineDefinition | None = None,
        description: str | None = None,
        realtime_instance_types: Sequence[str] = ("ml.m5.large",),
        transform_instance_types: Sequence[str] = ("ml.m5.large",),
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        # Status, URIs, instance types, content types and the description: from the model.
        check_model_source(problems, training, image, model_data_url)
        problems.raise_if_any()  # nothing to render without the model's image and artifact
        super().__init__(scope, id, name_prefix=group.group_name, role=None, tags=tags, problems=problems)
        self._group = group
        self.training = training
        self.image: str = image if image is not None else training.image_uri  # type: ignore[union-attr]
        self.model_data_url: str = (
            training.model_data_url if training is not None else model_data_url  # type: ignore[assignment]
        )
        self.approval_status = approval_status
        self.content_types = list(content_types)
        self.response_types = list(response_types)
        self.evaluation_report_uri = evaluation_report_uri
        self.data_quality_baseline = data_quality_baseline
        self.description = description
        self.realtime_instance_types = list(realtime_instance_types)
        self.transform_instance_types = list(transform_instance_types)
        self._check_request()

    def _default_prefix(self, scope: Construct, id: str) -> str:  # pragma: no cover - group name always given
        return id.lower()

    def render_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "ModelPackageGroupName": self.group.group_name,
            "ModelApprovalStatus": self.approval_status,
            "InferenceSpecification": {
                "Containers": [{"Image": self.image, "ModelDataUrl": self.model_data_url}],
                "SupportedContentTypes": self.content_types,
                "SupportedResponseMIMETypes": self.response_types,
                "SupportedRealtimeInferenceInstanceTypes": self.realtime_instance_types,
                "SupportedTransformInstanceTypes": self.transform_instance_types,
            },
            "Tags": self._tags(),
        }
        if self.description:
            request["ModelPackageDescription"] = self.description
        if self.evaluation_report_uri:
            request["ModelMetrics"] = {
                "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": self.evaluation_report_uri}}
            }
        if self.data_quality_baseline is not None:
            baseline = self.data_quality_baseline
            request["DriftCheckBaselines"] = {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": baseline.statistics_uri},
                    "Constraints": {"ContentType": "application/json", "S3Uri": baseline.constraints_uri},
                }
            }
        return request

    def result_selector(self) -> dict[str, Any]:
        return {"ModelPackageArn.$": "$.ModelPackageArn"}

    @property
    def model_package_arn(self) -> str:
        """This run's new version, read at run time from the registration task's result."""
        return self.state_output("ModelPackageArn")

    @property
    def group(self) -> IModelPackageGroup:
        """The group the version is registered in."""
        return self._group

    def resource_arn_pattern(self) -> str:
        return group_versions_arn(self, self.group)

    def policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            statement(
                self,
                actions=MODEL_PACKAGE.resource_actions(sync=False, tagged=bool(self.render_request().get("Tags"))),
                resources=[
                    self.resource_arn_pattern(),
                    sagemaker_arn(self, "model-package-group", self.group.group_name),
                ],
            )
        ]


class ModelPackageVersion:
    """A version of ``group`` named at run time, e.g. the one an approval event carries.

    ``ModelPackageVersion(group, sfn.JsonPath.string_at("$.detail.ModelPackageArn"))`` lets a
    :class:`~sm_constructs.ModelDefinition` (``model_package=``) or a
    :class:`ModelApprovalDefinition` act on it; IAM is scoped to the group's versions.

    :param group: the group the version is in (IAM is scoped to its versions).
    :param model_package_arn: the version's ARN, usually a JSONPath token.
    """

    def __init__(self, group: IModelPackageGroup, model_package_arn: str) -> None:
        self._group = group
        self._model_package_arn = model_package_arn

    @property
    def group(self) -> IModelPackageGroup:
        return self._group

    @property
    def model_package_arn(self) -> str:
        return self._model_package_arn


class ModelApprovalDefinition(SageMakerDefinition):
    """Sets a model version's approval status (UpdateModelPackage), e.g. when a quality gate passed.

    Approving a version is what releases it: the registry sends "SageMaker Model Package State
    Change" to EventBridge, which a :class:`~sm_constructs.ModelDeployment` listens to.

    :param version: the version: the :class:`ModelRegistrationDefinition` of the same run, or a
        :class:`ModelPackageVersion`.
    :param status: Default: ``Approved``.
    :param approval_description: why. Default: - none.
    """

    api = MODEL_PACKAGE_UPDATE

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        version: IModelPackageVersion,
        status: Literal["Approved", "Rejected"] = "Approved",
        approval_description: str | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        # Status and description: from the model (UpdateModelPackage).
        super().__init__(scope, id, name_prefix=version.group.group_name, role=None, problems=problems)
        self.version = version
        self.status = status
        self.approval_description = approval_description
        self._check_request()

    def render_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "ModelPackageArn": self.version.model_package_arn,
            "ModelApprovalStatus": self.status,
        }
        if self.approval_description:
            request["ApprovalDescription"] = self.approval_description
        return request

    def result_selector(self) -> dict[str, Any]:
        return {"ModelPackageArn.$": "$.ModelPackageArn"}

    def resource_arn_pattern(self) -> str:
        return group_versions_arn(self, self.version.group)

    def policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            statement(
                self,
                actions=MODEL_PACKAGE_UPDATE.resource_actions(sync=False, tagged=False),
                resources=[self.resource_arn_pattern()],
            )
        ]
