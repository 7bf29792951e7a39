"""SageMaker Studio for exploring data: a domain, user profiles and shared spaces, locked down by default.

The same secure defaults as :class:`~sm_constructs.NotebookInstance`, for teams that work in Studio's
JupyterLab and Code Editor spaces instead of a notebook instance. Every CloudFormation resource here
has the same properties as its SageMaker API request (``CreateDomain``, ``CreateUserProfile``,
``CreateSpace``, ``CreateStudioLifecycleConfig``): each construct renders its request once, checks the
static parts against botocore's SageMaker model (:func:`check_api_request`) and emits it unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import jsii
from aws_cdk import CfnResource, CfnTag, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ._kms import new_key
from ._nag import acknowledge
from ._validation import Problems, check_request, is_token, typed
from .jobs._task import sagemaker_arn
from .jobs.refs import check_imported_name, name_from_arn
from .network import MlVpc, given_subnets
from .notebook import DEFAULT_DATA_ACCESS, MAX_SCRIPT_CHARS, LifecycleScript
from .roles import SageMakerExecutionRole
from .storage import Access, MlDataBucket, grant_data_access

__all__ = [
    "DEFAULT_APP_INSTANCE_TYPE",
    "USER_TAG",
    "IStudioDomain",
    "ImportedStudioDomain",
    "StudioApp",
    "StudioDomain",
    "StudioSharedSpace",
    "StudioUserProfile",
    "check_api_request",
]

#: JupyterLab and Code Editor start on the smallest general-purpose instance; users pick bigger
#: ones per space when they need them.
DEFAULT_APP_INSTANCE_TYPE = "ml.t3.medium"
#: The Studio apps configured here (``AppType`` in botocore's SageMaker model).
StudioApp = Literal["JupyterLab", "CodeEditor"]
_APP_SETTINGS = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
#: Tag keys starting with ``aws:`` are reserved for AWS (AWS General Reference, "Tagging AWS resources").
_RESERVED_TAG_PREFIX = "aws:"
#: Tag on every user profile (and, by the domain's tag propagation, on the apps and spaces it
#: creates): the key to split Studio cost by user in Cost Explorer once activated as a cost
#: allocation tag.
USER_TAG = "sm-constructs:user-profile"


# ---- request checks against botocore's SageMaker model --------------------------------------
class _PropNamed(Problems):
    """Problems of a request, reported under the prop each request path comes from."""

    def __init__(self, target: Problems, operation: str, fields: Mapping[str, str]) -> None:
        super().__init__(target.kind, lambda: target.path)
        self._target = target
        self._operation = operation
        self._fields = fields
        self._seen: set[tuple[str, str]] = set()

    def add(self, field: str, value: Any, rule: str) -> None:
        prop = self._fields.get(re.sub(r"\[\d+\]| key '.*'$", "", field))
        if prop is not None:
            # One prop often fills several members (user and space defaults): report it once.
            if (prop, repr(value)) in self._seen:
                return
            self._seen.add((prop, repr(value)))
        self._target.add(f"{prop} ({self._operation}.{field})" if prop else f"{self._operation}.{field}", value, rule)


def check_api_request(
    problems: Problems, operation: str, request: Mapping[str, Any], fields: Mapping[str, str] | None = None
) -> None:
    """Check ``request`` against SageMaker's ``operation`` in botocore's model (:func:`check_request`:
    members, required, enums, lengths, Java patterns, ranges; tokens skipped). ``fields`` maps a
    request path (``DefaultUserSettings.SecurityGroups``, list indexes dropped) to the construct
    prop it comes from, so problems name what the user wrote."""
    check_request(_PropNamed(problems, operation, fields or {}), "sagemaker", operation, request)


#: The request members the ``tags`` prop renders into (for :func:`check_api_request`'s ``fields``).
_TAG_FIELDS = {"Tags": "tags", "Tags.Key": "tags", "Tags.Value": "tags"}


def _tags(problems: Problems, field: str, tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    for key in tags or {}:
        if isinstance(key, str) and key.lower().startswith(_RESERVED_TAG_PREFIX):
            problems.add(f"{field}[{key!r}]", key, "tag keys starting with 'aws:' are reserved for AWS")
    return [{"Key": key, "Value": value} for key, value in (tags or {}).items()]


def _cfn_tags(tags: list[dict[str, str]]) -> list[CfnTag] | None:
    return [CfnTag(key=t["Key"], value=t["Value"]) for t in tags] or None


def _emit(resource: CfnResource, request: Mapping[str, Any], skip: Sequence[str] = ("Tags",)) -> None:
    """The L1's properties are the request: set each one as rendered (tags stay with the L1's tag manager)."""
    for key, value in request.items():
        if key not in skip and value is not None:
            resource.add_property_override(key, value)


# ---- names ------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    """Letters, digits and single inner hyphens: valid in every Studio name."""
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower() or "studio"


def _default_name(scope: Construct, id: str) -> str:
    stack_name = Stack.of(scope).stack_name
    return _slug(f"{stack_name}-{id}" if not is_token(stack_name) else id)[:63].rstrip("-")


# ---- what a Studio user's execution role needs -------------------------------------------------
class _StudioAccess:
    """What :class:`StudioDomain` (its default role) and :class:`StudioUserProfile` (a user's own
    role) are as grantees: ``iam.IGrantable`` through their execution role, in the domain's VPC."""

    execution_role: SageMakerExecutionRole
    data_bucket: MlDataBucket
    domain: StudioDomain

    # ---- iam.IGrantable: resource grants go to the execution role -----------------------------
    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: ``pipeline.grant_start_execution(user)``, ``deployment.grant_invoke(user)``
        and ``data.grant_read(user, prefix)`` grant to it."""
        return self.execution_role.grant_principal

    def reach_service(self, service: ec2.InterfaceVpcEndpointAwsService) -> None:
        """Make ``service`` reachable from Studio: an interface endpoint in the VPC the domain created;
        nothing in a VPC of yours (make sure it reaches ``service``)."""
        if self.domain.network is not None:
            self.domain.network.add_interface_endpoint(service)


def _grant_studio_use(role: SageMakerExecutionRole, domain: StudioDomain, owner: str | None) -> None:
    """What Studio's UI does with the execution role, scoped to one domain.

    After AWS's example in "Give your users access to spaces" (SageMaker developer guide,
    studio-updated-jl-admin-guide-permissions): list and describe; apps in shared spaces (no owner,
    or ``sagemaker:SpaceSharingType`` ``Shared``); create,
    update and delete one's *own* private spaces and their apps (condition
    ``sagemaker:OwnerUserProfileArn``); tags only while creating (``sagemaker:TaggingAction``).
    ``owner`` is a user profile name, or ``None`` for the domain's default role, shared by users
    without a role of their own: the policy variable ``${sagemaker:UserProfileName}`` stands for
    the calling user then.
    """
    domain_id = domain.domain_id
    apps, spaces = domain.resource_arn("app", f"{domain_id}/*"), domain.resource_arn("space", f"{domain_id}/*")
    owner_arn = domain.resource_arn("user-profile", f"{domain_id}/{owner or '${sagemaker:UserProfileName}'}")
    iam.Grant.add_to_principal(
        grantee=role,
        actions=["sagemaker:ListApps", "sagemaker:ListSpaces", "sagemaker:ListUserProfiles", "sagemaker:ListDomains"],
        resource_arns=["*"],
    )
    iam.Grant.add_to_principal(
        grantee=role,
        actions=[
            "sagemaker:DescribeDomain",
            "sagemaker:DescribeUserProfile",
            "sagemaker:DescribeSpace",
            "sagemaker:DescribeApp",
        ],
        resource_arns=[domain.domain_arn, domain.resource_arn("user-profile", f"{domain_id}/*"), spaces, apps],
    )
    for shared in (
        {"Null": {"sagemaker:OwnerUserProfileArn": "true"}},
        {"StringEquals": {"sagemaker:SpaceSharingType": "Shared"}},
    ):
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["sagemaker:CreateApp", "sagemaker:DeleteApp"],
            resource_arns=[apps],
            conditions=shared,
        )
    iam.Grant.add_to_principal(
        grantee=role,
        actions=[
            "sagemaker:CreateSpace",
            "sagemaker:UpdateSpace",
            "sagemaker:DeleteSpace",
            "sagemaker:CreateApp",
            "sagemaker:DeleteApp",
        ],
        resource_arns=[spaces, apps],
        conditions={"ArnLike": {"sagemaker:OwnerUserProfileArn": owner_arn}},
    )
    iam.Grant.add_to_principal(
        grantee=role,
        actions=["sagemaker:AddTags"],
        resource_arns=[spaces, apps],
        conditions={"Null": {"sagemaker:TaggingAction": "false"}},
    )
    role.grant_key(domain.encryption_key)
    head = "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
    ref = f"<{domain.logical_id}.DomainId>"
    acknowledge(
        role,
        [
            "AwsSolutions-IAM5[Resource::*]",
            *(f"AwsSolutions-IAM5[Resource::{head}{kind}/{ref}/*]" for kind in ("app", "space", "user-profile")),
        ],
        "Studio's List* calls have no resource type; apps, spaces and user profiles are named by users at run "
        "time, so they are matched inside this one domain (apps and spaces further limited to shared spaces or "
        "the caller's own by sagemaker:OwnerUserProfileArn).",
    )


# ---- the domain --------------------------------------------------------------------------------
@runtime_checkable
class IStudioDomain(Protocol):
    """A SageMaker Studio domain, defined in this app or imported."""

    @property
    def domain_id(self) -> str: ...

    @property
    def domain_arn(self) -> str: ...


class ImportedStudioDomain(Construct):
    """A Studio domain made outside this app (``StudioDomain.from_domain_*``).

    :param domain_id: its ID (``d-...``).
    :param domain_arn: its ARN. Default: - built from the ID in this stack's account and Region.
    """

    def __init__(self, scope: Construct, id: str, *, domain_id: str, domain_arn: str | None = None) -> None:
        check_imported_name(type(self).__name__, scope, id, "domain_id", domain_id, "domain ID", "DomainId")
        super().__init__(scope, id)
        self.domain_id = domain_id
        self.domain_arn = domain_arn or sagemaker_arn(self, "domain", domain_id)


@jsii.implements(iam.IGrantable)
class StudioDomain(_StudioAccess, Construct):
    """A SageMaker Studio domain for exploring data, secure by default.

    Defaults, each overridable:

    * network: ``VpcOnly`` (no internet path through SageMaker's own VPC) in the isolated subnets of
      an :class:`MlVpc` (created when no ``vpc`` is given), with a security group of ours that
      allows HTTPS out only (``AppSecurityGroupManagement: Customer``; SageMaker adds its own group
      for NFS to the home file system, per botocore's ``UserSettings.SecurityGroups`` docs); Docker
      access in spaces disabled;
    * encryption: a customer-managed KMS key with rotation for the home EFS file system and the
      spaces' EBS volumes (``KmsKeyId``);
    * auth: IAM (users open Studio through presigned URLs their IAM identity may create);
      ``auth_mode="SSO"`` for IAM Identity Center;
    * the default execution role: a :class:`SageMakerExecutionRole` with only what Studio's UI
      needs inside this domain, the KMS key and the data prefixes in ``data_access``;
    * JupyterLab and Code Editor start on ``ml.t3.medium`` and are shut down after
      ``idle_timeout_minutes`` idle (``AppLifecycleManagement``); users may change the timeout of
      their spaces between ``min_idle_timeout_minutes`` and ``max_idle_timeout_minutes``;
    * spaces get 5 GB EBS volumes, at most 100 GB;
    * tags propagate from the domain, user profiles and spaces to the apps they start, for cost
      allocation;
    * the home file system is kept: CloudFormation deletes a domain without a ``RetentionPolicy``
      (its handler sends ``DeleteDomain`` with the domain ID only: ``translateToDeleteRequest`` in
      aws-cloudformation-resource-providers-sagemaker, ``aws-sagemaker-domain``), and SageMaker's
      default for ``RetentionPolicy.HomeEfsFileSystem`` is ``Retain`` (botocore's docs); the domain
      itself and the key are RETAINed too, so the retained file system stays readable.

    :param data_bucket: the project's data bucket.
    :param execution_role: the default execution role (users without their own, shared spaces);
        the Studio permissions above are added to it. Default: - a new
        :class:`SageMakerExecutionRole`.
    :param data_access: bucket prefix → ``"read"``, ``"write"`` or ``"read_write"`` for the default
        execution role. Default: :data:`~sm_constructs.notebook.DEFAULT_DATA_ACCESS`.
    :param vpc: Default: - a new :class:`MlVpc` (isolated subnets, endpoints, flow logs).
    :param subnet_selection: which subnets of ``vpc``. Default: - its isolated subnets, else its
        private subnets with egress.
    :param https_egress_to: where the security group lets HTTPS out (see
        :class:`~sm_constructs.NotebookInstance`). Default: - HTTPS to anywhere.
    :param encryption_key: for EFS and EBS. Default: - a new key with rotation, kept on delete.
    :param auth_mode: ``"IAM"`` or ``"SSO"`` (IAM Identity Center). Default: ``"IAM"``.
    :param direct_internet_access: ``PublicInternetOnly`` (internet through SageMaker's VPC).
        Default: False.
    :param docker_access: let spaces build and run containers. Default: False.
    :param jupyter_lab_instance_type: Default: :data:`DEFAULT_APP_INSTANCE_TYPE`.
    :param code_editor_instance_type: Default: :data:`DEFAULT_APP_INSTANCE_TYPE`.
    :param idle_timeout_minutes: shut an idle JupyterLab / Code Editor app down after this many
        minutes (60 to 525600); ``None`` turns idle shutdown off. Default: 60.
    :param min_idle_timeout_minutes: the least users may set. Default: 60.
    :param max_idle_timeout_minutes: the most users may set. Default: 480.
    :param space_volume_size_gb: a new space's EBS volume. Default: 5.
    :param max_space_volume_size_gb: the most users may give a space. Default: 100.
    :param jupyter_lab_lifecycle: script run at every JupyterLab start (the default lifecycle
        configuration of JupyterLab apps). At most 16,384 chars once base64-encoded. Default: - none.
    :param code_editor_lifecycle: the same for Code Editor. Default: - none.
    :param domain_name: Default: - ``<stack name>-<id>``, lower-cased.
    :param tags: on the domain (propagated to apps). Default: - none.
    :param tag_propagation: Default: True.
    :param removal_policy: for the domain. Default: RETAIN.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data_bucket: MlDataBucket,
        execution_role: SageMakerExecutionRole | None = None,
        data_access: Mapping[str, Access] | None = None,
        vpc: ec2.IVpc | None = None,
        subnet_selection: ec2.SubnetSelection | None = None,
        https_egress_to: Sequence[ec2.IPeer] | None = None,
        encryption_key: kms.IKey | None = None,
        auth_mode: Literal["IAM", "SSO"] = "IAM",
        direct_internet_access: bool = False,
        docker_access: bool = False,
        jupyter_lab_instance_type: str = DEFAULT_APP_INSTANCE_TYPE,
        code_editor_instance_type: str = DEFAULT_APP_INSTANCE_TYPE,
        idle_timeout_minutes: int | None = 60,
        min_idle_timeout_minutes: int = 60,
        max_idle_timeout_minutes: int = 480,
        space_volume_size_gb: int = 5,
        max_space_volume_size_gb: int = 100,
        jupyter_lab_lifecycle: LifecycleScript | None = None,
        code_editor_lifecycle: LifecycleScript | None = None,
        domain_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        tag_propagation: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        name = domain_name or _default_name(scope, id)
        idle_values = (idle_timeout_minutes, min_idle_timeout_minutes, max_idle_timeout_minutes)
        if (
            idle_timeout_minutes is not None
            and all(isinstance(v, int) and not isinstance(v, bool) for v in idle_values)
            and not min_idle_timeout_minutes <= idle_timeout_minutes <= max_idle_timeout_minutes
        ):
            problems.conflict(
                ["min_idle_timeout_minutes", "idle_timeout_minutes", "max_idle_timeout_minutes"],
                f"the default idle timeout {idle_timeout_minutes} must lie between the minimum "
                f"{min_idle_timeout_minutes} and the maximum {max_idle_timeout_minutes} users may choose",
            )
        if (
            isinstance(space_volume_size_gb, int)
            and isinstance(max_space_volume_size_gb, int)
            and space_volume_size_gb > max_space_volume_size_gb
        ):
            problems.conflict(
                ["space_volume_size_gb", "max_space_volume_size_gb"],
                f"the default volume ({space_volume_size_gb} GB) is bigger than the maximum ({max_space_volume_size_gb} GB)",
            )
        for key, mode in (data_access or {}).items():
            problems.s3_prefix("data_access", key)
            problems.one_of(f"data_access[{key!r}]", mode, get_args(Access))
        scripts = {"JupyterLab": jupyter_lab_lifecycle, "CodeEditor": code_editor_lifecycle}
        for app, script in scripts.items():
            _check_script(problems, f"{_prop(app)}_lifecycle", script)
        rendered_tags = _tags(problems, "tags", tags)
        subnet_ids = given_subnets(problems, vpc, subnet_selection)
        # The request's static parts, before anything is created: placeholders stand for what the
        # constructs below provide (tokens are skipped by the check anyway).
        idle = _idle_settings(idle_timeout_minutes, min_idle_timeout_minutes, max_idle_timeout_minutes)
        instance_types = {"JupyterLab": jupyter_lab_instance_type, "CodeEditor": code_editor_instance_type}
        storage = {
            "DefaultEbsStorageSettings": {
                "DefaultEbsVolumeSizeInGb": space_volume_size_gb,
                "MaximumEbsVolumeSizeInGb": max_space_volume_size_gb,
            }
        }
        request = partial(
            _domain_request,
            name=name,
            auth_mode=auth_mode,
            instance_types=instance_types,
            idle=idle,
            storage=storage,
            direct_internet_access=direct_internet_access,
            docker_access=docker_access,
            tag_propagation=tag_propagation,
            tags=rendered_tags,
        )
        draft = request(
            role_arn=None, security_group_id=None, subnet_ids=subnet_ids, vpc_id=None, key_arn=None, lifecycle_arns={}
        )
        check_api_request(problems, "CreateDomain", draft, _DOMAIN_FIELDS)
        problems.raise_if_any()
        super().__init__(scope, id)

        self.domain_name = name
        self.auth_mode = auth_mode
        self.max_space_volume_size_gb = max_space_volume_size_gb
        self.data_bucket = data_bucket
        self.domain = self
        self.network: MlVpc | None = None
        if vpc is None:
            self.network = MlVpc(self, "Network")
            vpc = self.network.vpc
            subnet_ids = vpc.select_subnets(**self.network.subnet_selection._values).subnet_ids
        assert subnet_ids is not None
        self.vpc = vpc

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description=f"Studio domain {name}: HTTPS out only, nothing in",
        )
        for peer in https_egress_to if https_egress_to is not None else [ec2.Peer.any_ipv4()]:
            self.security_group.add_egress_rule(peer, ec2.Port.tcp(443), "HTTPS to VPC endpoints and S3")
        self.encryption_key: kms.IKey = encryption_key or new_key(
            self,
            "Key",
            removal_policy=RemovalPolicy.RETAIN,
            description=f"Studio domain {name}: home file system and space volumes",
        )
        self.execution_role = execution_role or SageMakerExecutionRole(
            self, "ExecutionRole", description=f"Default execution role of Studio domain {name}"
        )

        self.lifecycle_configs: dict[str, sagemaker.CfnStudioLifecycleConfig] = {}
        lifecycle_arns: dict[str, str] = {}
        for app, script in scripts.items():
            if script is not None:
                config = _lifecycle_config(self, f"{app}Lifecycle", name, app, script)
                self.lifecycle_configs[app] = config
                lifecycle_arns[app] = self.resource_arn("studio-lifecycle-config", config.studio_lifecycle_config_name)

        self.request = request(
            role_arn=self.execution_role.role_arn,
            security_group_id=self.security_group.security_group_id,
            subnet_ids=subnet_ids,
            vpc_id=vpc.vpc_id,
            key_arn=self.encryption_key.key_arn,
            lifecycle_arns=lifecycle_arns,
        )
        self.cfn_domain = sagemaker.CfnDomain(
            self,
            "Resource",
            auth_mode=auth_mode,
            domain_name=name,
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(execution_role=self.execution_role.role_arn),
            tags=_cfn_tags(rendered_tags),
        )
        _emit(self.cfn_domain, self.request)
        self.cfn_domain.apply_removal_policy(removal_policy)
        # The lifecycle ARNs are built from their names (a documented ARN format), so the domain
        # waits for them explicitly.
        for config in self.lifecycle_configs.values():
            self.cfn_domain.node.add_dependency(config)

        _grant_studio_use(self.execution_role, self, owner=None)
        grant_data_access(
            self.data_bucket, self.execution_role, data_access if data_access is not None else DEFAULT_DATA_ACCESS
        )

    # ---- imports ------------------------------------------------------------------------------
    @staticmethod
    def from_domain_id(scope: Construct, id: str, domain_id: str) -> IStudioDomain:
        """A domain made outside this app, by its ID (``d-...``), in this stack's account and Region."""
        return ImportedStudioDomain(scope, id, domain_id=domain_id)

    @staticmethod
    def from_domain_arn(scope: Construct, id: str, domain_arn: str) -> IStudioDomain:
        """A domain made outside this app, by ARN (``arn:<partition>:sagemaker:<region>:<account>:domain/<id>``)."""
        domain_id = name_from_arn("ImportedStudioDomain", scope, id, "domain_arn", domain_arn, "domain")
        return ImportedStudioDomain(scope, id, domain_id=domain_id, domain_arn=domain_arn)

    #: A domain made outside this app, by ID and ARN (:class:`ImportedStudioDomain`'s props).
    from_domain_attributes = staticmethod(ImportedStudioDomain)

    @property
    def domain_id(self) -> str:
        return self.cfn_domain.attr_domain_id

    @property
    def domain_arn(self) -> str:
        return self.cfn_domain.attr_domain_arn

    @property
    def logical_id(self) -> str:
        """The domain's logical ID (as cdk-nag names its attributes in findings)."""
        stack = Stack.of(self)
        return str(stack.resolve(stack.get_logical_id(self.cfn_domain)))

    def resource_arn(self, resource: str, name: str) -> str:
        """``arn:<partition>:sagemaker:<region>:<account>:<resource>/<name>``."""
        return sagemaker_arn(self, resource, name)


def _prop(app: str) -> str:
    return {"JupyterLab": "jupyter_lab", "CodeEditor": "code_editor"}[app]


_DOMAIN_FIELDS = {
    "DomainName": "domain_name",
    "AuthMode": "auth_mode",
    **_TAG_FIELDS,
    "SubnetIds": "subnet_selection",
    **{
        f"{where}.{settings}.DefaultResourceSpec.InstanceType": f"{_prop(app)}_instance_type"
        for where in ("DefaultUserSettings", "DefaultSpaceSettings")
        for app, settings in _APP_SETTINGS.items()
    },
    **{
        f"{where}.{settings}.AppLifecycleManagement.IdleSettings.{key}InMinutes": prop
        for where in ("DefaultUserSettings", "DefaultSpaceSettings")
        for settings in _APP_SETTINGS.values()
        for key, prop in (
            ("IdleTimeout", "idle_timeout_minutes"),
            ("MinIdleTimeout", "min_idle_timeout_minutes"),
            ("MaxIdleTimeout", "max_idle_timeout_minutes"),
        )
    },
    **{
        f"{where}.SpaceStorageSettings.DefaultEbsStorageSettings.{key}": prop
        for where in ("DefaultUserSettings", "DefaultSpaceSettings")
        for key, prop in (
            ("DefaultEbsVolumeSizeInGb", "space_volume_size_gb"),
            ("MaximumEbsVolumeSizeInGb", "max_space_volume_size_gb"),
        )
    },
}


def _idle_settings(idle: int | None, low: int, high: int) -> dict[str, Any]:
    if idle is None:
        return {"LifecycleManagement": "DISABLED"}
    return {
        "LifecycleManagement": "ENABLED",
        "IdleTimeoutInMinutes": idle,
        "MinIdleTimeoutInMinutes": low,
        "MaxIdleTimeoutInMinutes": high,
    }


def _domain_request(
    *,
    name: str,
    auth_mode: str,
    role_arn: str | None,
    security_group_id: str | None,
    subnet_ids: list[str] | None,
    vpc_id: str | None,
    key_arn: str | None,
    instance_types: Mapping[str, str],
    idle: Mapping[str, Any],
    storage: Mapping[str, Any],
    lifecycle_arns: Mapping[str, str],
    direct_internet_access: bool,
    docker_access: bool,
    tag_propagation: bool,
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    """``CreateDomain`` as CloudFormation's ``AWS::SageMaker::Domain`` takes it (same member names)."""

    def app_settings(app: str) -> dict[str, Any]:
        arn = lifecycle_arns.get(app)
        spec: dict[str, Any] = {"InstanceType": instance_types[app]}
        settings: dict[str, Any] = {"DefaultResourceSpec": spec, "AppLifecycleManagement": {"IdleSettings": idle}}
        if arn is not None:
            spec["LifecycleConfigArn"] = arn
            settings["LifecycleConfigArns"] = [arn]
        return settings

    groups = [security_group_id] if security_group_id is not None else None
    return {
        "DomainName": name,
        "AuthMode": auth_mode,
        "DefaultUserSettings": {
            "ExecutionRole": role_arn,
            "SecurityGroups": groups,
            "JupyterLabAppSettings": app_settings("JupyterLab"),
            "CodeEditorAppSettings": app_settings("CodeEditor"),
            "SpaceStorageSettings": storage,
        },
        # Shared spaces take these, not the user settings (botocore: UserSettings.SecurityGroups).
        "DefaultSpaceSettings": {
            "ExecutionRole": role_arn,
            "SecurityGroups": groups,
            "JupyterLabAppSettings": app_settings("JupyterLab"),
            "SpaceStorageSettings": storage,
        },
        "DomainSettings": {"DockerSettings": {"EnableDockerAccess": "ENABLED" if docker_access else "DISABLED"}},
        "SubnetIds": subnet_ids,
        "VpcId": vpc_id,
        "AppNetworkAccessType": "PublicInternetOnly" if direct_internet_access else "VpcOnly",
        "AppSecurityGroupManagement": "Customer",
        "KmsKeyId": key_arn,
        "TagPropagation": "ENABLED" if tag_propagation else "DISABLED",
        "Tags": tags or None,
    }


def _check_script(problems: Problems, field: str, script: LifecycleScript | None) -> None:
    """The notebook's lifecycle-script rule: not empty, at most 16,384 chars once base64-encoded."""
    if script is None:
        return
    size = len(script.encoded())
    if size == 0:
        problems.add(field, script.content, "a lifecycle script must not be empty")
    elif size > MAX_SCRIPT_CHARS:
        problems.add(
            field,
            f"<{size} chars base64>",
            f"SageMaker allows {MAX_SCRIPT_CHARS} chars per lifecycle script after base64 encoding; "
            "move the bulk into a file on S3 or a code repository and fetch it from the script",
        )


def _lifecycle_config(
    scope: Construct, id: str, domain_name: str, app: str, script: LifecycleScript
) -> sagemaker.CfnStudioLifecycleConfig:
    """A Studio lifecycle configuration. Its content cannot be updated in place and the name is
    fixed, so the name carries a hash of the content: a changed script becomes a new
    configuration instead of a failed replacement of a named resource."""
    content = script.encoded()
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    name = f"{domain_name[:40].rstrip('-')}-{app.lower()}-{digest}"
    request = {
        "StudioLifecycleConfigName": name,
        "StudioLifecycleConfigContent": content,
        "StudioLifecycleConfigAppType": app,
    }
    problems = Problems.at(StudioDomain.__name__, scope)
    check_api_request(problems, "CreateStudioLifecycleConfig", request)
    problems.raise_if_any()
    return sagemaker.CfnStudioLifecycleConfig(
        scope,
        id,
        studio_lifecycle_config_name=name,
        studio_lifecycle_config_content=content,
        studio_lifecycle_config_app_type=app,
    )


# ---- user profiles -------------------------------------------------------------------------------
@jsii.implements(iam.IGrantable)
class StudioUserProfile(_StudioAccess, Construct):
    """One Studio user, with an execution role of their own.

    The role is a :class:`SageMakerExecutionRole` with what Studio's UI needs in the domain (only
    this user's private spaces), the domain's KMS key, read and write on the user's own data
    prefix, and the prefixes in ``data_access``; nothing of other users'. The profile is tagged
    ``sm-constructs:user-profile=<name>`` plus ``tags``; with the domain's tag propagation the tags
    reach the apps and spaces the user starts, so Studio cost can be split by user and team.

    :param domain: the :class:`StudioDomain`.
    :param user_profile_name: letters, digits and inner hyphens, at most 63.
    :param data_prefix: the user's own prefix in the data bucket. Default: ``users/<name>/``.
    :param data_access: further prefixes → ``"read"``, ``"write"`` or ``"read_write"``.
        Default: - none.
    :param single_sign_on_user_name: the IAM Identity Center user name; required when the domain
        uses ``auth_mode="SSO"``, not allowed with IAM. Default: - none.
    :param tags: cost allocation tags (team, cost centre ...). Default: - only the user tag.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain: StudioDomain,
        user_profile_name: str,
        data_prefix: str | None = None,
        data_access: Mapping[str, Access] | None = None,
        single_sign_on_user_name: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        prefix = data_prefix if data_prefix is not None else f"users/{user_profile_name}/"
        problems.s3_prefix("data_prefix", prefix)
        if isinstance(prefix, str) and not is_token(prefix) and not prefix.strip("/"):
            problems.add("data_prefix", prefix, "a user's prefix must not be the whole bucket")
        for key, mode in (data_access or {}).items():
            problems.s3_prefix("data_access", key)
            problems.one_of(f"data_access[{key!r}]", mode, get_args(Access))
        if domain.auth_mode == "SSO" and single_sign_on_user_name is None:
            problems.add(
                "single_sign_on_user_name", None, "required: the domain authenticates through IAM Identity Center"
            )
        if domain.auth_mode != "SSO" and single_sign_on_user_name is not None:
            problems.add(
                "single_sign_on_user_name",
                single_sign_on_user_name,
                "only for domains with auth_mode='SSO'; this domain uses IAM",
            )
        rendered_tags = _tags(problems, "tags", {USER_TAG: user_profile_name, **(tags or {})})
        request = partial(
            _user_profile_request, name=user_profile_name, sso_user_name=single_sign_on_user_name, tags=rendered_tags
        )
        check_api_request(problems, "CreateUserProfile", request(domain_id=None, role_arn=None), _PROFILE_FIELDS)
        problems.raise_if_any()
        super().__init__(scope, id)

        self.domain = domain
        self.data_bucket = domain.data_bucket
        self.user_profile_name = user_profile_name
        self.data_prefix = prefix
        self.execution_role = SageMakerExecutionRole(
            self,
            "ExecutionRole",
            description=f"Studio user {user_profile_name} in domain {domain.domain_name}: own data prefix only",
        )
        _grant_studio_use(self.execution_role, domain, owner=user_profile_name)
        self.data_bucket.grant_read_write(self.execution_role, prefix)
        grant_data_access(self.data_bucket, self.execution_role, data_access or {})
        self.request = request(domain_id=domain.domain_id, role_arn=self.execution_role.role_arn)
        self.cfn_user_profile = sagemaker.CfnUserProfile(
            self,
            "Resource",
            domain_id=domain.domain_id,
            user_profile_name=user_profile_name,
            tags=_cfn_tags(rendered_tags),
        )
        _emit(self.cfn_user_profile, self.request)

    @property
    def user_profile_arn(self) -> str:
        return self.cfn_user_profile.attr_user_profile_arn


_PROFILE_FIELDS = {
    "UserProfileName": "user_profile_name",
    "SingleSignOnUserValue": "single_sign_on_user_name",
    **_TAG_FIELDS,
}


def _user_profile_request(
    *, domain_id: str | None, name: str, role_arn: str | None, sso_user_name: str | None, tags: list[dict[str, str]]
) -> dict[str, Any]:
    """``CreateUserProfile`` as CloudFormation's ``AWS::SageMaker::UserProfile`` takes it."""
    request: dict[str, Any] = {
        "DomainId": domain_id or "d-placeholder",
        "UserProfileName": name,
        "UserSettings": {"ExecutionRole": role_arn} if role_arn is not None else None,
        "Tags": tags or None,
    }
    if sso_user_name is not None:
        request["SingleSignOnUserIdentifier"] = "UserName"
        request["SingleSignOnUserValue"] = sso_user_name
    return request


# ---- shared spaces ---------------------------------------------------------------------------------
class StudioSharedSpace(Construct):
    """A shared space: one JupyterLab or Code Editor environment that several users of the domain
    open together (real-time collaboration), with the domain's default execution role, security
    group, KMS key and idle shutdown.

    :param domain: the :class:`StudioDomain`.
    :param space_name: letters, digits and inner hyphens, at most 63.
    :param app_type: ``"JupyterLab"`` or ``"CodeEditor"``. Default: ``"JupyterLab"``.
    :param instance_type: Default: :data:`DEFAULT_APP_INSTANCE_TYPE`.
    :param volume_size_gb: the space's EBS volume, at most the domain's ``max_space_volume_size_gb``.
        Default: - the domain's default.
    :param owner: the user profile that owns the space. Default: - none.
    :param display_name: Default: - the space name.
    :param tags: cost allocation tags. Default: - none.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain: StudioDomain,
        space_name: str,
        app_type: StudioApp = "JupyterLab",
        instance_type: str = DEFAULT_APP_INSTANCE_TYPE,
        volume_size_gb: int | None = None,
        owner: StudioUserProfile | None = None,
        display_name: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        problems.one_of("app_type", app_type, get_args(StudioApp))
        if owner is not None and owner.domain is not domain:
            problems.conflict(["owner", "domain"], "the owner must be a user profile of the same domain")
        limit = domain.max_space_volume_size_gb
        if isinstance(volume_size_gb, int) and isinstance(limit, int) and volume_size_gb > limit:
            problems.conflict(
                ["volume_size_gb", "domain"],
                f"{volume_size_gb} GB is more than the domain's max_space_volume_size_gb ({limit} GB)",
            )
        rendered_tags = _tags(problems, "tags", tags)
        settings_key = _APP_SETTINGS.get(app_type, "JupyterLabAppSettings")
        space_settings: dict[str, Any] = {
            "AppType": app_type if app_type in _APP_SETTINGS else None,  # reported above
            settings_key: {"DefaultResourceSpec": {"InstanceType": instance_type}},
        }
        if volume_size_gb is not None:
            space_settings["SpaceStorageSettings"] = {"EbsStorageSettings": {"EbsVolumeSizeInGb": volume_size_gb}}
        request: dict[str, Any] = {
            "DomainId": "d-placeholder",
            "SpaceName": space_name,
            "SpaceDisplayName": display_name,
            "SpaceSettings": space_settings,
            "SpaceSharingSettings": {"SharingType": "Shared"},
            "OwnershipSettings": {"OwnerUserProfileName": owner.user_profile_name} if owner is not None else None,
            "Tags": rendered_tags or None,
        }
        check_api_request(
            problems,
            "CreateSpace",
            request,
            {
                "SpaceName": "space_name",
                "SpaceDisplayName": "display_name",
                f"SpaceSettings.{settings_key}.DefaultResourceSpec.InstanceType": "instance_type",
                "SpaceSettings.SpaceStorageSettings.EbsStorageSettings.EbsVolumeSizeInGb": "volume_size_gb",
                **_TAG_FIELDS,
            },
        )
        problems.raise_if_any()
        super().__init__(scope, id)
        self.domain = domain
        self.space_name = space_name
        request["DomainId"] = domain.domain_id
        self.request = request
        self.cfn_space = sagemaker.CfnSpace(
            self, "Resource", domain_id=domain.domain_id, space_name=space_name, tags=_cfn_tags(rendered_tags)
        )
        _emit(self.cfn_space, request)
        if owner is not None:
            self.cfn_space.node.add_dependency(owner.cfn_user_profile)

    @property
    def space_arn(self) -> str:
        return self.cfn_space.attr_space_arn
