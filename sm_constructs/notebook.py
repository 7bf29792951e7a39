"""A SageMaker notebook instance for data exploration, locked down by default."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from aws_cdk import ArnFormat, Aws, CfnResource, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._iam import ManagedPolicyRole
from ._nag import acknowledge
from ._validation import Problems, is_token
from .network import MlVpc
from .roles import SageMakerExecutionRole
from .storage import DataPrefix, MlDataBucket

__all__ = ["DEFAULT_PLATFORM", "LifecycleScript", "NotebookInstance"]

#: Amazon Linux 2023 with JupyterLab 4: the current notebook platform.
DEFAULT_PLATFORM = "notebook-al2023-v1"
#: SageMaker's limit on each lifecycle script, after base64 encoding.
MAX_SCRIPT_BYTES = 16384
Access = Literal["read", "write", "read_write"]

#: Default data access of the notebook role, per bucket prefix.
DEFAULT_DATA_ACCESS: Mapping[str, Access] = {
    DataPrefix.RAW: "read_write",
    DataPrefix.PROCESSED: "read_write",
    DataPrefix.CODE: "read_write",
    DataPrefix.BATCH: "read_write",
    DataPrefix.MODELS: "read",
    DataPrefix.EVALUATION: "read",
}
_JOB_KINDS = (("ProcessingJob", "processing-job"), ("TrainingJob", "training-job"), ("TransformJob", "transform-job"))


@dataclass(frozen=True)
class LifecycleScript:
    """A lifecycle shell script. SageMaker stops a notebook whose script runs over 5 minutes,
    so start long work in the background (``nohup ... &``)."""

    content: str

    @classmethod
    def from_inline(cls, text: str) -> LifecycleScript:
        return cls(text)

    @classmethod
    def from_file(cls, path: str | Path) -> LifecycleScript:
        return cls(Path(path).read_text())

    def encoded(self) -> str:
        return base64.b64encode(self.content.encode()).decode()


def autostop_script(idle_minutes: int) -> str:
    """Shell that installs the embedded auto-stop checker as a cron job (no download)."""
    checker = resources.files("sm_constructs.lifecycle").joinpath("autostop.py").read_text()
    return f"""#!/bin/bash
# sm_constructs: stop this notebook after {idle_minutes} idle minutes.
set -euo pipefail
install -d -o ec2-user /home/ec2-user/.sm-constructs
cat > /home/ec2-user/.sm-constructs/autostop.py <<'SM_CONSTRUCTS_AUTOSTOP'
{checker}SM_CONSTRUCTS_AUTOSTOP
PYTHON=/home/ec2-user/anaconda3/envs/JupyterSystemEnv/bin/python
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
echo "*/5 * * * * root $PYTHON /home/ec2-user/.sm-constructs/autostop.py --idle-minutes {idle_minutes} >> /var/log/sm-autostop.log 2>&1" > /etc/cron.d/sm-autostop
"""


class NotebookInstance(Construct):
    """A SageMaker notebook instance for exploring and processing data, secure by default.

    Defaults, each overridable: placed in a private subnet with its own security group (an
    :class:`MlVpc` is created when no ``vpc`` is given), no direct internet access, no root access,
    IMDSv2 only, the volume encrypted with a customer-managed key, the current platform
    (:data:`DEFAULT_PLATFORM`).

    The notebook has its own role, not the execution role, with explicit, scoped grants for the
    work the SageMaker docs describe: read/write data prefixes (``data_access``), create and watch
    processing / training / transform jobs named ``<job_name_prefix>-*`` that run as the
    execution role (``iam:PassRole`` to SageMaker only), and :meth:`grant_start_pipeline` /
    :meth:`grant_invoke_endpoint` for the workflow.

    :param data_bucket: the project's data bucket.
    :param execution_role: the role jobs started from the notebook run as.
    :param instance_type: Default: ``ml.t3.medium``.
    :param volume_size_gb: 5 to 16384. Default: 20.
    :param vpc: Default: - a new :class:`MlVpc`.
    :param subnet_selection: Default: - the VPC's private (isolated, else with-egress) subnets.
    :param encryption_key: volume key. Default: - the data bucket's key, else a new key.
    :param idle_timeout_minutes: stop after this many idle minutes (>= 5). Default: - never.
    :param on_start: extra lifecycle script run at every start. Default: - none.
    :param on_create: lifecycle script run once at creation. Default: - none.
    :param default_code_repository: a git URL (https) or a SageMaker code repository name.
    :param job_name_prefix: jobs the notebook may create. Default: - the notebook name.
    :param data_access: prefix → access. Default: :data:`DEFAULT_DATA_ACCESS`.
    :param root_access: Default: False.
    :param direct_internet_access: Default: False.
    :param platform_identifier: Default: :data:`DEFAULT_PLATFORM`.
    :param notebook_instance_name: Default: - derived from the construct path.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        data_bucket: MlDataBucket,
        execution_role: SageMakerExecutionRole,
        instance_type: str = "ml.t3.medium",
        volume_size_gb: int = 20,
        vpc: ec2.IVpc | None = None,
        subnet_selection: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        idle_timeout_minutes: int | None = None,
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
        problems = Problems.for_construct(type(self).__name__, scope, id)
        name = notebook_instance_name or _default_name(scope, id)
        problems.name("notebook_instance_name", name, max_len=63, what="notebook instance name")
        problems.instance_type("instance_type", instance_type)
        problems.int_range("volume_size_gb", volume_size_gb, 5, 16384, " GB")
        if idle_timeout_minutes is not None:
            problems.int_range("idle_timeout_minutes", idle_timeout_minutes, 5, 7 * 24 * 60, " minutes")
        prefix = job_name_prefix or name[:50].rstrip("-")
        problems.name("job_name_prefix", prefix, max_len=63, reserve=13, what="job name prefix")
        if not re.match(r"^notebook-al[0-9a-z]+-v\d+$", platform_identifier):
            problems.add("platform_identifier", platform_identifier, "must look like 'notebook-al2023-v1'")
        for field, script in (("on_start", on_start), ("on_create", on_create)):
            if script is not None and len(script.encoded()) > MAX_SCRIPT_BYTES:
                problems.add(
                    field,
                    f"<{len(script.encoded())} bytes base64>",
                    f"SageMaker allows {MAX_SCRIPT_BYTES} bytes per lifecycle script after base64 encoding",
                )
        if subnet_selection is not None and vpc is None:
            problems.conflict(["subnet_selection", "vpc"], "subnet_selection selects subnets of the vpc you give")
        if (
            default_code_repository is not None
            and not is_token(default_code_repository)
            and default_code_repository.startswith("http://")
        ):
            problems.add("default_code_repository", default_code_repository, "use an https:// git URL")
        for key in data_access or {}:
            problems.s3_prefix("data_access", key)
        problems.raise_if_any()
        super().__init__(scope, id)

        self.notebook_instance_name = name
        self.job_name_prefix = prefix
        self.execution_role = execution_role
        if vpc is None:
            self.network: MlVpc | None = MlVpc(self, "Network")
            vpc = self.network.vpc
            subnet_selection = self.network.subnet_selection
        else:
            self.network = None
        self.vpc = vpc
        if subnet_selection is not None:
            subnets = vpc.select_subnets(**subnet_selection._values)  # jsii struct fields
        else:
            subnets = vpc.select_subnets(subnet_type=_private_type(vpc))

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=False,
            description=f"Notebook {name}: HTTPS out only (endpoints, S3 gateway)",
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to VPC endpoints and S3")

        self.encryption_key = (
            encryption_key
            or data_bucket.encryption_key
            or kms.Key(self, "Key", enable_key_rotation=True, description=f"Notebook {name} volume")
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description=f"Notebook {name}: data exploration and job submission",
        )
        self._grant_notebook_work(data_bucket, data_access or DEFAULT_DATA_ACCESS)

        scripts_start = [s for s in (on_start,) if s is not None]
        if idle_timeout_minutes is not None:
            scripts_start.append(LifecycleScript(autostop_script(idle_timeout_minutes)))
        self.lifecycle_config: sagemaker.CfnNotebookInstanceLifecycleConfig | None = None
        if scripts_start or on_create is not None:
            merged_start = _merge(scripts_start)
            if merged_start is not None and len(merged_start.encoded()) > MAX_SCRIPT_BYTES:
                late = Problems(type(self).__name__, self.node.path)
                late.add(
                    "on_start",
                    f"<{len(merged_start.encoded())} bytes base64 with auto-stop>",
                    f"with the auto-stop script the start script exceeds SageMaker's {MAX_SCRIPT_BYTES} bytes",
                )
                late.raise_if_any()
            self.lifecycle_config = sagemaker.CfnNotebookInstanceLifecycleConfig(
                self,
                "Lifecycle",
                notebook_instance_lifecycle_config_name=f"{name}-lifecycle"[:63],
                on_start=[{"content": merged_start.encoded()}] if merged_start else None,
                on_create=[{"content": on_create.encoded()}] if on_create else None,
            )

        self.cfn_notebook = sagemaker.CfnNotebookInstance(
            self,
            "Resource",
            notebook_instance_name=name,
            instance_type=instance_type,
            role_arn=self.role.role_arn,
            subnet_id=subnets.subnet_ids[0],
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
        # The notebook must never start before its permissions exist (the role itself is a GetAtt already).
        for policy in self.role.permission_policies:
            self.cfn_notebook.node.add_dependency(policy)

    # ---- grants --------------------------------------------------------------------------
    @property
    def notebook_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="sagemaker", resource="notebook-instance", resource_name=self.notebook_instance_name.lower()
        )

    def _grant_notebook_work(self, bucket: MlDataBucket, access: Mapping[str, Access]) -> None:
        stack = Stack.of(self)
        for prefix, mode in access.items():
            {"read": bucket.grant_read, "write": bucket.grant_write, "read_write": bucket.grant_read_write}[mode](
                self.role, prefix
            )
        self.encryption_key.grant_encrypt_decrypt(self.role)
        job_arns = [
            stack.format_arn(service="sagemaker", resource=arn_type, resource_name=f"{self.job_name_prefix}-*")
            for _, arn_type in _JOB_KINDS
        ]
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[f"sagemaker:{verb}{kind}" for kind, _ in _JOB_KINDS for verb in ("Create", "Describe", "Stop")]
                + ["sagemaker:AddTags"],
                resources=job_arns,
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:ListProcessingJobs", "sagemaker:ListTrainingJobs", "sagemaker:ListTransformJobs"],
                resources=["*"],
            )
        )
        self.execution_role.grant_pass_to_sagemaker(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"],
                resources=[self.notebook_arn],
            )
        )
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                    "logs:GetLogEvents",
                ],
                resources=[log_group, f"{log_group}:log-stream:*"],
            )
        )
        acknowledge(
            self.role,
            [
                "AwsSolutions-IAM5[Resource::*]",
                *(
                    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
                    f"{arn_type}/{self.job_name_prefix}-*]"
                    for _, arn_type in _JOB_KINDS
                ),
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*:log-stream:*]",
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            ],
            f"Jobs are limited to names starting '{self.job_name_prefix}-' (their names are chosen at run time); "
            "List* job calls have no resource type; job and notebook log groups are created by SageMaker under "
            "/aws/sagemaker/; the KMS wildcards are the key-usage family on the notebook's own key.",
        )

    def grant_start_pipeline(self, state_machine: sfn.IStateMachine) -> iam.Grant:
        """Start and watch executions of a pipeline's state machine from the notebook."""
        state_machine.grant_read(self.role)
        findings = ["AwsSolutions-IAM5[Action::states:ListExecutions]"]
        cfn_sm = state_machine.node.default_child
        if isinstance(cfn_sm, CfnResource):
            stack = Stack.of(self)
            ref = json.dumps(
                {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": stack.resolve(stack.get_logical_id(cfn_sm))}]}]},
                separators=(",", ":"),
            )
            findings.append(
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{ref}:*]"
            )
        acknowledge(self.role, findings, "Executions of this one state machine; their names are chosen at start time.")
        return state_machine.grant_start_execution(self.role)

    def grant_invoke_endpoint(self, endpoint_name: str) -> iam.Grant:
        """Invoke one endpoint (by name) from the notebook, e.g. to try the deployed model."""
        arn = Stack.of(self).format_arn(service="sagemaker", resource="endpoint", resource_name=endpoint_name.lower())
        return iam.Grant.add_to_principal(
            grantee=self.role, actions=["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"], resource_arns=[arn]
        )


def _private_type(vpc: ec2.IVpc) -> ec2.SubnetType:
    return ec2.SubnetType.PRIVATE_ISOLATED if vpc.isolated_subnets else ec2.SubnetType.PRIVATE_WITH_EGRESS


def _default_name(scope: Construct, id: str) -> str:
    raw = f"{Stack.of(scope).stack_name}-{id}" if not Stack.of(scope).stack_name.startswith("${") else id
    return re.sub(r"[^a-zA-Z0-9]+", "-", raw).strip("-").lower()[:63].rstrip("-") or "notebook"


def _merge(scripts: Sequence[LifecycleScript]) -> LifecycleScript | None:
    if not scripts:
        return None
    if len(scripts) == 1:
        return scripts[0]
    body = "\n".join(s.content for s in scripts)
    return LifecycleScript(body)
