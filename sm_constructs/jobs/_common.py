"""Settings shared by several job kinds: cluster, network, runtime limits and the role grants."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._kms import STACK_JOB_KEY, StackJobKey, resolve_job_key
from .._memo import attribute, stack_memo
from .._nag import acknowledge
from .._validation import Problems, carry, is_token
from ..images import ContainerImage

__all__ = ["CODE_CHANNEL", "ClusterConfig", "NetworkConfig"]

#: Name of the input / channel that carries job code.
CODE_CHANNEL = "code"


@dataclass(frozen=True, kw_only=True)
class ClusterConfig:
    """Instances that run a job.

    :param instance_type: ``ml.*`` type, or a JSONPath token. Default: ``ml.m5.xlarge``.
    :param instance_count: Default: 1.
    :param volume_size_gb: attached storage per instance, 1 to 16384. Default: 30.
    :param volume_kms_key: encrypts the attached ML storage volumes. Default: - the stack's job key
        (``sm_constructs._kms.job_key``), a customer-managed key shared by the stack's job definitions.
        ``None`` leaves the volumes to SageMaker's AWS-managed encryption: needed for instance types with
        only local (NVMe) instance storage, which SageMaker encrypts in hardware and which reject a
        ``VolumeKmsKeyId`` (botocore's SageMaker model, ``ResourceConfig.VolumeKmsKeyId``).
    """

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    volume_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY

    def with_key(self, scope: Construct) -> ClusterConfig:
        """This configuration with its volume key resolved in ``scope``'s stack (the default: the job key)."""
        return dataclasses.replace(self, volume_kms_key=resolve_job_key(scope, self.volume_kms_key))

    @property
    def volume_key(self) -> kms.IKey | None:
        """The volume key of a configuration resolved with :meth:`with_key`."""
        key = self.volume_kms_key
        assert not isinstance(key, StackJobKey), "resolve the cluster's key with with_key(scope) first"
        return key

    def render(self, *, volume_size: bool = True) -> dict[str, Any]:
        """The request's instances (``ClusterConfig``, ``ResourceConfig``); without the volume size for
        ``TransformResources``, which has no such field (botocore's SageMaker model)."""
        out: dict[str, Any] = {"InstanceType": self.instance_type, "InstanceCount": self.instance_count}
        if volume_size:
            out["VolumeSizeInGB"] = self.volume_size_gb
        if self.volume_key is not None:
            out["VolumeKmsKeyId"] = attribute(self.volume_key, "key_arn")
        return out


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Where a job's containers run and what they may reach.

    :param subnets: VPC subnets. Default: - no VPC (SageMaker-managed network).
    :param security_groups: required with ``subnets``. Default: - none.
    :param enable_network_isolation: no network at all from the containers (SageMaker still copies the
        inputs in and the outputs out): code or a dependency that goes rogue cannot send data anywhere.
        Default: - on, unless the job needs the network: training in script mode (its container
        downloads the code from S3, ``sagemaker_submit_directory``). Set False for code that calls
        AWS or the internet itself (better: a VPC without internet access).
    :param encrypt_inter_container_traffic: Default: - on when more than one instance runs.
    """

    subnets: Sequence[ec2.ISubnet] = field(default_factory=list)
    security_groups: Sequence[ec2.ISecurityGroup] = field(default_factory=list)
    enable_network_isolation: bool | None = None
    encrypt_inter_container_traffic: bool | None = None

    def isolation(self, *, needs_network: bool = False) -> bool:
        """Whether the containers run isolated: as set, else unless the job needs the network."""
        if self.enable_network_isolation is not None:
            return self.enable_network_isolation
        return not needs_network

    def vpc_config(self) -> dict[str, Any] | None:
        if not self.subnets:
            return None
        return {
            "SecurityGroupIds": carry([g.security_group_id for g in self.security_groups], self.security_groups),
            "Subnets": carry([s.subnet_id for s in self.subnets], self.subnets),
        }

    def encryption(self, instance_count: int) -> bool:
        if self.encrypt_inter_container_traffic is not None:
            return self.encrypt_inter_container_traffic
        return is_token(instance_count) or instance_count > 1


def render_list(values: Sequence[str]) -> list[str] | str:
    """A string list; with run-time (JSONPath) members it becomes a ``States.Array(...)`` intrinsic."""
    if any(is_token(v) for v in values):
        return sfn.JsonPath.array(*values)
    return carry(list(values), values)


def render_network(network: NetworkConfig, instance_count: int) -> dict[str, Any]:
    """The ``NetworkConfig`` block of processing requests."""
    out: dict[str, Any] = {
        "EnableInterContainerTrafficEncryption": network.encryption(instance_count),
        "EnableNetworkIsolation": network.isolation(),
    }
    vpc = network.vpc_config()
    if vpc:
        out["VpcConfig"] = vpc
    return out


def validate_cluster(problems: Problems, cluster: ClusterConfig, *, volume: bool = True) -> None:
    """What the API model leaves open: training's model allows 0 instances and 0 GB, SageMaker does not.

    Instance types (per API), the processing count and volume limits come from the model.
    """
    count = cluster.instance_count
    if isinstance(count, int) and not isinstance(count, bool) and count < 1:
        problems.add("cluster.instance_count", count, "at least 1 instance")
    if volume:
        problems.int_range("cluster.volume_size_gb", cluster.volume_size_gb, 1, 16384, " GB")


def validate_network(problems: Problems, network: NetworkConfig) -> None:
    """Cross-field rules; the subnet and security group counts (16, 5) come from the model's VpcConfig."""
    if network.subnets and not network.security_groups:
        problems.add("network.security_groups", [], "a VPC job needs at least one security group")
    if network.security_groups and not network.subnets:
        problems.conflict(["network.security_groups", "network.subnets"], "security groups apply to VPC subnets")


def max_runtime_seconds(problems: Problems, max_runtime: Duration, low: int, high: int) -> None:
    """Limits the model does not carry (it has only ``min: 1`` for training and transform runtimes)."""
    if max_runtime.is_unresolved():
        return
    seconds = max_runtime.to_seconds()
    if not low <= seconds <= high:
        problems.add("max_runtime", max_runtime.to_human_string(), f"must be between {low} s and {high} s")


def _grant_asset_read(asset: s3_assets.Asset, role: iam.IRole) -> None:
    asset.grant_read(role)
    acknowledge(
        role,
        [
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
        ],
        "Read-only access to the CDK bootstrap asset bucket, where the job's code is published by cdk deploy.",
    )


def grant_role(
    scope: Construct,
    role: iam.IRole | None,
    image: ContainerImage | None,
    asset: s3_assets.Asset | None,
    keys: Sequence[kms.IKey | StackJobKey | None],
) -> None:
    """What the execution role needs to run a job: pull the image, read the code, use the keys.

    Data access (the job's inputs and outputs) stays an explicit grant of the data bucket, since
    only the caller knows which prefixes a job may touch.
    """
    if role is None:
        return
    if image is not None:
        image.grant_pull(scope, role)
    if asset is not None:
        # A stack's file assets all live in its synthesizer's one bucket, and aws-cdk grants the whole
        # bucket: one grant per role and stack (each asset's grant renders the same statement with
        # tokens of its own, which would fill one managed policy after another).
        stack_memo(scope, ("asset-read", id(role)), lambda _: _grant_asset_read(asset, role))
    for key in keys:
        if key is None or isinstance(key, StackJobKey):
            continue
        if hasattr(role, "grant_key"):
            role.grant_key(key)
        else:
            key.grant_encrypt_decrypt(role)
