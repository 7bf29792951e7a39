"""A SageMaker notebook instance for data exploration, locked down by default."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast, get_args, runtime_checkable

import jsii
from aws_cdk import ArnFormat, Aspects, IAspect, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct

from ._flags import key_policy, pin_feature_flags
from ._iam import ManagedPolicyRole, service_of_this_account
from ._iam_facts import PROCESSING, SAGEMAKER_PRINCIPAL, TRAINING, TRANSFORM
from ._kms import new_key
from ._nag import acknowledge
from ._validation import Problems, check_fields, is_token, service_shapes, typed
from .jobs._base import RUN_SUFFIX_CHARS
from .jobs._task import named_arn, sagemaker_arn
from .jobs.refs import check_imported_name, name_from_arn
from .lifecycle import autostop_script
from .network import DEFAULT_INTERFACE_ENDPOINTS, MlVpc, given_subnets
from .roles import grant_pass_role
from .storage import Access, DataPrefix, MlDataBucket, grant_data_access

__all__ = [
    "DEFAULT_DATA_ACCESS",
    "DEFAULT_IDLE_TIMEOUT_MINUTES",
    "DEFAULT_PLATFORM",
    "MAX_SCRIPT_CHARS",
    "INotebookInstance",
    "ImportedNotebookInstance",
    "LifecycleScript",
    "NotebookInstance",
    "autostop_script",
]

#: Amazon Linux 2023 with JupyterLab 4: the newest platform CloudFormation's resource schema
#: accepts (SageMaker's API already lists ``notebook-al2023-v2``; CloudFormation does not yet).
DEFAULT_PLATFORM = "notebook-al2023-v1"
#: Idle minutes after which a notebook stops itself unless told otherwise.
DEFAULT_IDLE_TIMEOUT_MINUTES = 60
#: SageMaker's limit on each lifecycle script, after base64 encoding (botocore's model, 16384).
MAX_SCRIPT_CHARS: int = service_shapes("sagemaker")["shapes"]["NotebookInstanceLifecycleConfigContent"]["max"]

#: Default data access of the notebook role, per bucket prefix: explore raw data, write
#: processed data and code, read what the pipeline produced.
DEFAULT_DATA_ACCESS: Mapping[str, Access] = {
    DataPrefix.RAW: "read_write",
    DataPrefix.PROCESSED: "read_write",
    DataPrefix.CODE: "read_write",
    DataPrefix.BATCH: "read_write",
    DataPrefix.MODELS: "read",
    DataPrefix.EVALUATION: "read",
}
#: The jobs a notebook may start: their create/describe/stop actions and ARN types come from the API table.
_JOB_APIS = (PROCESSING, TRAINING, TRANSFORM)
_BACKGROUND_MARKER = "SM_CONSTRUCTS_BACKGROUND"
#: Characters a bash lifecycle script cannot carry: C0 controls (NUL, CR ...) except tab and newline, and DEL.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_JOB_LOG_GROUPS = ("ProcessingJobs", "TrainingJobs", "TransformJobs")
_CODECOMMIT_URL = re.compile(r"^https://git-codecommit\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


@dataclass(frozen=True)
class LifecycleScript:
    """A lifecycle shell script (run as root by bash when the notebook is created or started).

    SageMaker fails the create/start when a script runs over 5 minutes, so start long work (conda
    environments, big downloads) in the background (:meth:`in_background` does that).
    Each script may be at most 16,384 characters once base64-encoded.

    :param content: the script's text.
    """

    content: str

    @classmethod
    def from_inline(cls, text: str) -> LifecycleScript:
        return cls(text)

    @classmethod
    def from_file(cls, path: str | Path) -> LifecycleScript:
        """The script in ``path`` (read at synth and embedded in the template)."""
        return cls(Path(path).read_text())

    @classmethod
    def in_background(cls, text: str, *, log_file: str = "/var/log/sm-lifecycle-background.log") -> LifecycleScript:
        """``text`` run detached with ``nohup``, so the hook returns at once: for work that may take
        longer than SageMaker's 5-minute limit. Its output goes to ``log_file``."""
        if _BACKGROUND_MARKER in text.splitlines():
            problems = Problems("LifecycleScript.in_background", "")
            problems.add(
                "text", _BACKGROUND_MARKER, "the script must not contain this line: it ends the background part"
            )
            problems.raise_if_any()
        body = text.rstrip("\n")
        return cls(
            f"#!/bin/bash\nnohup bash >{log_file} 2>&1 <<'{_BACKGROUND_MARKER}' &\n{body}\n{_BACKGROUND_MARKER}\n"
        )

    def encoded(self) -> str:
        return base64.b64encode(self.content.encode()).decode()


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """What a notebook's props come to, once checked: its name, the job prefix, the start script, the subnet."""

    name: str
    slug: str
    job_name_prefix: str
    start_script: LifecycleScript | None
    #: The subnet of the given VPC (None: the notebook makes its own network).
    subnet_id: str | None


@runtime_checkable
class INotebookInstance(Protocol):
    """A SageMaker notebook instance, defined in this app or imported."""

    @property
    def notebook_instance_name(self) -> str: ...

    @property
    def notebook_arn(self) -> str: ...


@jsii.implements(iam.IGrantable)
class ImportedNotebookInstance(Construct):
    """A notebook instance made outside this app (``NotebookInstance.from_notebook_instance_*``).

    A grantee through its ``role`` when given; without one, grants to it add nothing and warn
    (aws-cdk's ``UnknownPrincipal``).

    :param notebook_instance_name: its name, as it was created.
    :param notebook_arn: its ARN. Default: - built from the name in this stack's account and Region.
    :param role: its role, so that resources can grant to the notebook
        (``pipeline.grant_start_execution(notebook)``). Default: - none: grants to it add nothing.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        notebook_instance_name: str,
        notebook_arn: str | None = None,
        role: iam.IRole | None = None,
    ) -> None:
        check_imported_name(
            type(self).__name__,
            scope,
            id,
            "notebook_instance_name",
            notebook_instance_name,
            "notebook instance name",
            "NotebookInstanceName",
        )
        super().__init__(scope, id)
        self.notebook_instance_name = notebook_instance_name
        self.notebook_arn = notebook_arn or named_arn(self, "notebook-instance", notebook_instance_name)
        self.role = role

    @property
    def grant_principal(self) -> iam.IPrincipal:
        if self.role is not None:
            return self.role.grant_principal
        # aws-cdk's principal for grantees without a known role: grants to it warn and add nothing.
        return cast(iam.IPrincipal, iam.UnknownPrincipal(resource=self))


@jsii.implements(iam.IGrantable)
class NotebookInstance(Construct):
    """A SageMaker notebook instance for exploring data and starting jobs, secure by default.

    Defaults, each overridable: placed in a private subnet with its own security group that
    allows HTTPS out only (an :class:`MlVpc` without internet is created when no ``vpc`` is
    given), no direct internet access, no root access, IMDSv2 only, the volume encrypted with a
    customer-managed key with rotation, the current Amazon Linux 2023 platform.

    The notebook has its own role, not the execution role, with explicit, scoped grants: the data
    prefixes in ``data_access``; create, describe and stop processing / training / transform jobs
    named ``<job_name_prefix>-*`` that run as the execution role (``iam:PassRole`` on that role
    only, to SageMaker only); stop itself (auto-stop); its logs in
    ``/aws/sagemaker/NotebookInstances`` and reading job logs. The notebook is an ``iam.IGrantable``:
    resources grant the rest of the workflow to it (``pipeline.grant_start_execution(notebook)``,
    ``deployment.grant_invoke(notebook)``), adding their AWS service's endpoint to the VPC the
    notebook created.

    The notebook has a fixed name: a change that replaces it (subnet, key, platform, ...) needs a
    new ``notebook_instance_name``.

    :param data_bucket: the project's data bucket: an :class:`MlDataBucket` or any ``s3.IBucket``
        (e.g. ``s3.Bucket.from_bucket_name``; grants then cover the bucket's key only if the
        imported bucket carries it).
    :param execution_role: the role jobs started from the notebook run as (any ``iam.IRole``,
        e.g. ``iam.Role.from_role_arn`` for an existing execution role).
    :param role: the notebook's own role; grants are added to it. Default: - a new role trusted
        by SageMaker for this account only.
    :param instance_type: Default: ``ml.t3.medium``.
    :param volume_size_gb: 5 to 16384. Default: 20.
    :param vpc: Default: - a new :class:`MlVpc` (isolated subnets, endpoints, flow logs).
    :param subnet_selection: which subnets of ``vpc``; the first is used. Default: - the VPC's
        isolated subnets, else its private subnets with egress.
    :param https_egress_to: where the security group lets HTTPS out. In a VPC without a route to
        the internet (such as :class:`MlVpc`) anywhere reaches only the endpoints and S3's gateway
        endpoint, whose region-specific prefix list an environment-agnostic stack cannot look up;
        in a VPC with NAT, tighten this (e.g. the VPC CIDR and the S3 prefix list).
        Default: - HTTPS to anywhere.
    :param encryption_key: the volume's key. Default: - a new key with rotation.
    :param idle_timeout_minutes: stop the notebook after this many idle minutes (>= 5), by an
        embedded checker that needs no internet: a forgotten notebook bills by the hour and keeps a
        role with data access running. ``None`` never stops it automatically.
        Default: :data:`DEFAULT_IDLE_TIMEOUT_MINUTES` (60).
    :param on_start: script run at every start (after the auto-stop setup). Default: - none.
    :param on_create: script run once, at creation. Default: - none.
    :param default_code_repository: an https git URL or a SageMaker code repository name, cloned
        at start. Without internet only CodeCommit works (its endpoint is added to the created
        VPC). Default: - none.
    :param job_name_prefix: jobs the notebook may create and stop are named ``<prefix>-...``;
        lower case (SageMaker puts names lower-cased into some ARNs). Default: - the notebook name.
    :param data_access: bucket prefix → ``"read"``, ``"write"`` or ``"read_write"``.
        Default: :data:`DEFAULT_DATA_ACCESS`.
    :param root_access: Default: False (users cannot become root or change the instance).
    :param direct_internet_access: SageMaker's own internet path around your VPC; enabling it
        fails cdk-nag's SageMaker rules. Default: False.
    :param platform_identifier: Default: :data:`DEFAULT_PLATFORM`.
    :param notebook_instance_name: Default: - ``<stack name>-<id>``, lower-cased.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data_bucket: MlDataBucket | s3.IBucket,
        execution_role: iam.IRole,
        role: iam.IRole | None = None,
        instance_type: str = "ml.t3.medium",
        volume_size_gb: int = 20,
        vpc: ec2.IVpc | None = None,
        subnet_selection: ec2.SubnetSelection | None = None,
        https_egress_to: Sequence[ec2.IPeer] | None = None,
        encryption_key: kms.IKey | None = None,
        idle_timeout_minutes: int | None = DEFAULT_IDLE_TIMEOUT_MINUTES,
        on_start: LifecycleScript | None = None,
        on_create: LifecycleScript | None = None,
        default_code_repository: str | None = None,
        job_name_prefix: str | None = None,
        data_access: Mapping[str, Access] | None = None,
        root_access: bool = False,
        direct_internet_access: bool = False,
        platform_identifier: str = DEFAULT_PLATFORM,
        notebook_instance_name: str | None = None,
    ) -> None:
        plan = self._plan(
            scope,
            id,
            notebook_instance_name=notebook_instance_name,
            instance_type=instance_type,
            volume_size_gb=volume_size_gb,
            platform_identifier=platform_identifier,
            default_code_repository=default_code_repository,
            idle_timeout_minutes=idle_timeout_minutes,
            job_name_prefix=job_name_prefix,
            on_start=on_start,
            on_create=on_create,
            data_access=data_access,
            vpc=vpc,
            subnet_selection=subnet_selection,
            direct_internet_access=direct_internet_access,
        )
        super().__init__(scope, id)
        pin_feature_flags(self)
        self.notebook_instance_name = plan.name
        self.job_name_prefix = plan.job_name_prefix
        self.execution_role = execution_role
        self.network: MlVpc | None = None
        self.vpc, subnet_id = self._build_network(vpc, plan.subnet_id, default_code_repository)
        self.security_group = self._build_security_group(plan.name, https_egress_to)
        self.encryption_key: kms.IKey = encryption_key or new_key(
            self, "Key", description=f"Notebook {plan.name} volume", policy=key_policy()
        )
        self.role: iam.IRole = role or ManagedPolicyRole(
            self,
            "Role",
            assumed_by=service_of_this_account(SAGEMAKER_PRINCIPAL),
            description=f"Notebook {plan.name}: data exploration and job submission",
        )
        self._grant_notebook_work(data_bucket, data_access or DEFAULT_DATA_ACCESS)
        self.lifecycle_config = self._build_lifecycle(plan, on_create)
        self.cfn_notebook = sagemaker.CfnNotebookInstance(
            self,
            "Resource",
            notebook_instance_name=plan.name,
            instance_type=instance_type,
            role_arn=self.role.role_arn,
            subnet_id=subnet_id,
            security_group_ids=[self.security_group.security_group_id],
            direct_internet_access="Enabled" if direct_internet_access else "Disabled",
            root_access="Enabled" if root_access else "Disabled",
            kms_key_id=self.encryption_key.key_id,
            volume_size_in_gb=volume_size_gb,
            platform_identifier=platform_identifier,
            instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"
            ),
            lifecycle_config_name=(
                self.lifecycle_config.attr_notebook_instance_lifecycle_config_name if self.lifecycle_config else None
            ),
            default_code_repository=default_code_repository,
        )
        # The notebook must never start before its permissions exist, including grants made after
        # construction (grant_* methods, users' own grants): resolved when the app is synthesized.
        Aspects.of(self.cfn_notebook).add(_WaitForRolePolicies(self))

    # ---- validate and plan ------------------------------------------------------------------
    @classmethod
    def _plan(
        cls,
        scope: Construct,
        id: str,
        *,
        notebook_instance_name: str | None,
        instance_type: str,
        volume_size_gb: int,
        platform_identifier: str,
        default_code_repository: str | None,
        idle_timeout_minutes: int | None,
        job_name_prefix: str | None,
        on_start: LifecycleScript | None,
        on_create: LifecycleScript | None,
        data_access: Mapping[str, Access] | None,
        vpc: ec2.IVpc | None,
        subnet_selection: ec2.SubnetSelection | None,
        direct_internet_access: bool,
    ) -> _Plan:
        """Every prop checked (all problems raised together) and what the build steps derive from them."""
        problems = Problems.for_construct(cls.__name__, scope, id)
        name = notebook_instance_name or _default_name(scope, id)
        # CloudFormation creates the notebook with CreateNotebookInstance: the same rules apply.
        check_fields(
            problems,
            "sagemaker",
            "CreateNotebookInstanceInput",
            {
                "NotebookInstanceName": ("notebook_instance_name", name),
                "InstanceType": ("instance_type", instance_type),
                "VolumeSizeInGB": ("volume_size_gb", volume_size_gb),
                "PlatformIdentifier": ("platform_identifier", platform_identifier),
                "DefaultCodeRepository": ("default_code_repository", default_code_repository),
            },
        )
        if idle_timeout_minutes is not None:
            problems.int_range("idle_timeout_minutes", idle_timeout_minutes, 5, 7 * 24 * 60, " minutes")
        # Names known only at deploy time cannot be lower-cased or cut: derive from the construct instead.
        slug = _slug(_default_name(scope, id) if is_token(name) else name)
        name_max = min(api.name_max for api in _JOB_APIS)  # the jobs the notebook may start
        prefix = job_name_prefix or slug[: name_max - RUN_SUFFIX_CHARS].rstrip("-")
        problems.name("job_name_prefix", prefix, max_len=name_max, reserve=RUN_SUFFIX_CHARS, what="job name prefix")
        if not is_token(prefix) and isinstance(prefix, str) and prefix != prefix.lower():
            problems.add(
                "job_name_prefix", prefix, "use lower case: SageMaker lower-cases names in job ARNs, IAM matches case"
            )
        start_script = _start_script(on_start, idle_timeout_minutes)
        # Characters and emptiness are the user's script's (as written); the size is what SageMaker gets.
        for field, given, script in (("on_start", on_start, start_script), ("on_create", on_create, on_create)):
            if script is None or given is None:
                continue
            size = len(script.encoded())
            control = _CONTROL_CHARS.search(given.content)
            if control is not None:
                problems.add(
                    field,
                    given.content,
                    f"contains the control character {control.group()!r} at offset {control.start()}: bash refuses a "
                    "script with a NUL byte as binary and reads a carriage return as part of the command; keep "
                    "tabs and '\\n' line ends only",
                )
            if not given.encoded():
                problems.add(field, given.content, "a lifecycle script must not be empty")
            elif size > MAX_SCRIPT_CHARS:
                with_autostop = (
                    " (including the auto-stop setup)" if field == "on_start" and idle_timeout_minutes else ""
                )
                problems.add(
                    field,
                    f"<{size} chars base64{with_autostop}>",
                    f"SageMaker allows {MAX_SCRIPT_CHARS} chars per lifecycle script after base64 encoding; "
                    "move the bulk into a file on S3 or the code repository and fetch it from the script",
                )
        cls._check_code_repository(problems, default_code_repository, vpc, direct_internet_access)
        for key, mode in (data_access or {}).items():
            problems.s3_prefix("data_access", key)
            problems.one_of(f"data_access[{key!r}]", mode, get_args(Access))
        subnet_ids = given_subnets(problems, vpc, subnet_selection)
        subnet_id = subnet_ids[0] if subnet_ids else None
        problems.raise_if_any()
        return _Plan(name=name, slug=slug, job_name_prefix=prefix, start_script=start_script, subnet_id=subnet_id)

    # ---- build steps ------------------------------------------------------------------------
    def _build_network(
        self, vpc: ec2.IVpc | None, subnet_id: str | None, code_repository: str | None
    ) -> tuple[ec2.IVpc, str]:
        """The given VPC and subnet, or a new :class:`MlVpc` (with CodeCommit's endpoint when cloning from it)."""
        if vpc is not None:
            assert subnet_id is not None  # chosen by _plan
            return vpc, subnet_id
        endpoints = None
        if code_repository is not None and _CODECOMMIT_URL.match(code_repository):
            endpoints = [*DEFAULT_INTERFACE_ENDPOINTS, ec2.InterfaceVpcEndpointAwsService.CODECOMMIT_GIT]
        self.network = MlVpc(self, "Network", interface_endpoints=endpoints)
        created = self.network.vpc
        return created, created.select_subnets(**self.network.subnet_selection._values).subnet_ids[0]

    def _build_security_group(self, name: str, https_egress_to: Sequence[ec2.IPeer] | None) -> ec2.SecurityGroup:
        """HTTPS out only (to ``https_egress_to``, by default anywhere), nothing in."""
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description=f"Notebook {name}: HTTPS out only, nothing in",
        )
        for peer in https_egress_to if https_egress_to is not None else [ec2.Peer.any_ipv4()]:
            group.add_egress_rule(peer, ec2.Port.tcp(443), "HTTPS to VPC endpoints and S3")
        return group

    def _build_lifecycle(
        self, plan: _Plan, on_create: LifecycleScript | None
    ) -> sagemaker.CfnNotebookInstanceLifecycleConfig | None:
        """The lifecycle configuration, when there is a start script (auto-stop included) or a create script."""
        if plan.start_script is None and on_create is None:
            return None
        return sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "Lifecycle",
            notebook_instance_lifecycle_config_name=f"{plan.slug[:53].rstrip('-')}-lifecycle",
            on_start=[{"content": plan.start_script.encoded()}] if plan.start_script else None,
            on_create=[{"content": on_create.encoded()}] if on_create else None,
        )

    # ---- validation helpers ---------------------------------------------------------------
    @staticmethod
    def _check_code_repository(
        problems: Problems, url: str | None, vpc: ec2.IVpc | None, direct_internet_access: bool
    ) -> None:
        if url is None or is_token(url):
            return
        if url.startswith("http://"):
            problems.add("default_code_repository", url, "use an https:// git URL")
        elif (
            url.startswith("https://") and not _CODECOMMIT_URL.match(url) and vpc is None and not direct_internet_access
        ):
            problems.conflict(
                ["default_code_repository", "vpc"],
                f"{url} cannot be cloned from the created VPC, which has no internet path: use a CodeCommit "
                "repository, give a vpc with a NAT gateway, or clone it yourself",
            )

    # ---- imports ------------------------------------------------------------------------------
    @staticmethod
    def from_notebook_instance_name(scope: Construct, id: str, notebook_instance_name: str) -> INotebookInstance:
        """A notebook instance made outside this app, by name, in this stack's account and Region."""
        return ImportedNotebookInstance(scope, id, notebook_instance_name=notebook_instance_name)

    @staticmethod
    def from_notebook_instance_arn(scope: Construct, id: str, notebook_arn: str) -> INotebookInstance:
        """A notebook instance made outside this app, by ARN; its name is the ARN's (SageMaker writes it lower-case)."""
        name = name_from_arn("ImportedNotebookInstance", scope, id, "notebook_arn", notebook_arn, "notebook-instance")
        return ImportedNotebookInstance(scope, id, notebook_instance_name=name, notebook_arn=notebook_arn)

    #: A notebook instance made outside this app, by name, ARN and role (:class:`ImportedNotebookInstance`'s props).
    from_notebook_instance_attributes = staticmethod(ImportedNotebookInstance)

    # ---- grants --------------------------------------------------------------------------
    @property
    def notebook_arn(self) -> str:
        return named_arn(self, "notebook-instance", self.notebook_instance_name)

    def _grant_notebook_work(self, bucket: MlDataBucket | s3.IBucket, access: Mapping[str, Access]) -> None:
        stack = Stack.of(self)
        grant_data_access(bucket, self.role, access)
        self.encryption_key.grant_encrypt_decrypt(self.role)
        job_arns = [sagemaker_arn(self, api.arn_type, f"{self.job_name_prefix}-*") for api in _JOB_APIS]
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=[f"sagemaker:{action}" for api in _JOB_APIS for action in (api.operation, api.describe, api.stop)]
            + ["sagemaker:AddTags"],
            resource_arns=job_arns,
        )
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=[f"sagemaker:List{api.operation.removeprefix('Create')}s" for api in _JOB_APIS],
            resource_arns=["*"],
        )
        grant_pass_role(self.execution_role, self.role)
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"],
            resource_arns=[self.notebook_arn],
        )

        def log_group(group: str) -> str:
            return stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"/aws/sagemaker/{group}",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )

        own_logs = log_group("NotebookInstances")
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resource_arns=[own_logs, f"{own_logs}:log-stream:*"],
        )
        job_logs = [log_group(group) for group in _JOB_LOG_GROUPS]
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
            resource_arns=[*job_logs, *(f"{arn}:log-stream:*" for arn in job_logs)],
        )
        arn_head = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:"
        acknowledge(
            self.role,
            [
                "AwsSolutions-IAM5[Resource::*]",
                *(
                    f"AwsSolutions-IAM5[Resource::{arn_head.format('sagemaker')}{api.arn_type}/{self.job_name_prefix}-*]"
                    for api in _JOB_APIS
                ),
                *(
                    f"AwsSolutions-IAM5[Resource::{arn_head.format('logs')}log-group:/aws/sagemaker/{group}:log-stream:*]"
                    for group in ("NotebookInstances", *_JOB_LOG_GROUPS)
                ),
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            ],
            f"Jobs are limited to names starting '{self.job_name_prefix}-' (their names are chosen at run time); "
            "List* job calls have no resource type; log streams are named by SageMaker at run time inside the "
            "notebook and job log groups; the KMS wildcards are the key-usage family on the notebook's own key.",
        )

    # ---- iam.IGrantable: resource grants go to the notebook's role --------------------------------
    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The notebook's role: ``pipeline.grant_start_execution(notebook)``,
        ``deployment.grant_invoke(notebook)`` and ``data.grant_read(notebook, prefix)`` grant to it."""
        return self.role.grant_principal

    def reach_service(self, service: ec2.InterfaceVpcEndpointAwsService) -> None:
        """Make ``service`` reachable from the notebook: an interface endpoint in the VPC the notebook
        created; nothing in a VPC of yours (make sure it reaches ``service``)."""
        if self.network is not None:
            self.network.add_interface_endpoint(service)


@jsii.implements(IAspect)
class _WaitForRolePolicies:
    """Make the notebook depend on its role's policies (the role's children), not the role itself
    (already a reference: a DependsOn on it is redundant)."""

    def __init__(self, owner: NotebookInstance) -> None:
        self._owner = owner

    def visit(self, node: IConstruct) -> None:
        notebook = self._owner.cfn_notebook
        if node.node.path != notebook.node.path:
            return
        role_resource = self._owner.role.node.default_child
        for child in self._owner.role.node.children:
            if role_resource is None or child.node.path != role_resource.node.path:
                notebook.node.add_dependency(child)


def _start_script(on_start: LifecycleScript | None, idle_minutes: int | None) -> LifecycleScript | None:
    """SageMaker takes one start script: the auto-stop setup first (so an ``exit`` in the user's
    script cannot skip it), then the user's script."""
    parts = []
    if idle_minutes is not None and isinstance(idle_minutes, int) and idle_minutes >= 5:
        parts.append(autostop_script(idle_minutes))
    if on_start is not None:
        parts.append(on_start.content)
    return LifecycleScript("\n".join(parts)) if parts else None


def _slug(text: str) -> str:
    """Lower-case letters, digits and single inner hyphens: valid in every SageMaker name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "notebook"


def _default_name(scope: Construct, id: str) -> str:
    stack_name = Stack.of(scope).stack_name
    raw = f"{stack_name}-{id}" if not is_token(stack_name) else id
    return _slug(raw)[:63].rstrip("-")
