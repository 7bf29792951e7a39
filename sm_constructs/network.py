"""A private VPC for notebooks and jobs: no internet path at all, AWS APIs through endpoints."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from aws_cdk import Annotations, Aws, CfnResource, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._flags import key_policy, pin_feature_flags
from ._iam import ManagedPolicyRole, service_of_this_account
from ._iam_facts import FLOW_LOGS_PRINCIPAL
from ._kms import new_key
from ._nag import acknowledge_in_packs
from ._validation import Problems, typed

__all__ = ["DEFAULT_INTERFACE_ENDPOINTS", "MlVpc", "ServiceReach", "reach_service"]

#: What a notebook and VPC-attached jobs call from inside the VPC: the SageMaker API (create and
#: watch jobs, stop the notebook), SageMaker runtime (invoke endpoints), STS (the SageMaker SDK
#: resolves the account) and CloudWatch Logs (notebook logs, reading job logs). S3 is the free
#: gateway endpoint. Step Functions is added on demand (a pipeline's start grant to a notebook: :func:`reach_service`).
DEFAULT_INTERFACE_ENDPOINTS: tuple[ec2.InterfaceVpcEndpointAwsService, ...] = (
    ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    ec2.InterfaceVpcEndpointAwsService.STS,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
)


@runtime_checkable
class ServiceReach(Protocol):
    """A grantee that runs inside a VPC (a notebook, a Studio domain or user): a grant whose calls go
    to an AWS service asks it to make that service reachable."""

    def reach_service(self, service: ec2.InterfaceVpcEndpointAwsService) -> None:
        """Make ``service`` reachable from where the grantee runs: an interface endpoint in a VPC
        the grantee created; nothing in a VPC of yours (its endpoints are yours to choose)."""


def reach_service(grantee: object, service: ec2.InterfaceVpcEndpointAwsService) -> None:
    """Make ``service`` reachable from ``grantee`` when it runs in a VPC (:class:`ServiceReach`)."""
    if isinstance(grantee, ServiceReach):
        grantee.reach_service(service)


def given_subnets(problems: Problems, vpc: ec2.IVpc | None, selection: ec2.SubnetSelection | None) -> list[str] | None:
    """The subnets a notebook or Studio domain is placed in when it is given a ``vpc``: those ``selection``
    picks (Default: the VPC's isolated subnets, else its private subnets with egress). None without a
    ``vpc`` (the construct creates an :class:`MlVpc`) and when the selection picks none; the problems
    name the props ``vpc`` and ``subnet_selection``."""
    if vpc is None:
        if selection is not None:
            problems.conflict(["subnet_selection", "vpc"], "subnet_selection selects subnets of the vpc you give")
        return None
    values: dict[str, Any] = dict(selection._values) if selection is not None else {}
    if selection is None:
        values["subnet_type"] = (
            ec2.SubnetType.PRIVATE_ISOLATED if vpc.isolated_subnets else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
    try:
        subnet_ids = list(vpc.select_subnets(**values).subnet_ids)
    except Exception as error:  # jsii reports selection errors as RuntimeError with the CDK message
        problems.add("subnet_selection", values or None, f"selects no subnets of the vpc: {error}")
        return None
    if not subnet_ids:
        problems.add("subnet_selection", values or None, "selects no subnets of the vpc")
        return None
    return subnet_ids


#: Smallest subnet per AZ we hand out (room for ENIs of jobs, endpoints, notebooks).
_SUBNET_MASK = 22
#: AWS subnets are at most /16 and at least /28.
_MIN_VPC_MASK, _MAX_VPC_MASK = 16, 26


def _subnet_mask(network: ipaddress.IPv4Network, azs: int) -> int:
    """An even split of the block over the AZs, but no subnet bigger than /22."""
    return max(_SUBNET_MASK, network.prefixlen + math.ceil(math.log2(azs)))


def _drop_redundant_provider_dependency(stack: Stack) -> None:
    """aws-cdk's provider function for closing default security groups ``DependsOn`` its role, which
    its ``Role`` GetAtt already implies (cfn-lint W3005); drop the duplicate."""
    provider = stack.node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if isinstance(handler, CfnResource):
        handler.add_deletion_override("DependsOn")


def _endpoint_id(service: ec2.InterfaceVpcEndpointAwsService) -> str:
    return "".join(part.capitalize() for part in service.short_name.replace("-", ".").split("."))


class MlVpc(Construct):
    """A minimal private VPC for ML work.

    Isolated subnets only: no internet gateway, no NAT gateway, so nothing inside can reach the
    internet or be reached from it. S3 is reached through a (free) gateway endpoint and the AWS
    APIs through interface endpoints with private DNS, behind a security group that admits HTTPS
    from the VPC only. VPC flow logs go to a KMS-encrypted log group.

    Cost trade-off: each interface endpoint costs about USD 0.01 per hour *per AZ* (≈ USD 7.30 a
    month per AZ, us-east-1) plus USD 0.01 per GB processed, so the defaults (4 endpoints × 2 AZs)
    cost about USD 60 a month; every added endpoint adds ≈ USD 15 a month at 2 AZs. A NAT gateway
    costs about USD 33 a month per AZ plus USD 0.045 per GB and opens a path to the internet.
    Without internet, ``pip install`` / ``conda install`` need a mirror such as CodeArtifact (add
    ``CODEARTIFACT_API`` and ``CODEARTIFACT_REPOSITORIES``), ``docker pull`` from your ECR in a
    notebook needs ``ECR`` and ``ECR_DOCKER``, a CodeCommit repository needs ``CODECOMMIT_GIT``, and
    opening Jupyter from inside the VPC (VPN, Direct Connect) needs ``SAGEMAKER_NOTEBOOK``. SageMaker
    pulls job images itself; jobs need only S3 and whatever their code calls.

    The VPC's default security group is closed (all its rules removed, by aws-cdk's Lambda-backed
    custom resource) so nothing can fall back to it; endpoints, notebooks and jobs get their own.

    :param max_azs: Availability Zones. An environment-agnostic stack (no account/region) gets at
        most 2. Default: 2.
    :param cidr: the VPC's IPv4 block, /16 to /26; each AZ gets one isolated subnet of /22 or an
        even share of the block if that is smaller. Default: ``10.42.0.0/16``.
    :param interface_endpoints: replaces :data:`DEFAULT_INTERFACE_ENDPOINTS`; ``[]`` for none.
        Default: :data:`DEFAULT_INTERFACE_ENDPOINTS`.
    :param flow_log_retention: Default: one year.
    :param encryption_key: for the flow-log group. Default: - a new key with rotation.
    :param restrict_default_security_group: remove the default security group's rules. ``False``
        avoids the custom resource (one small Lambda function per stack). Default: True.
    :param removal_policy: for the flow-log group and its key. Default: RETAIN (audit evidence).
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        max_azs: int = 2,
        cidr: str = "10.42.0.0/16",
        interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService] | None = None,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        encryption_key: kms.IKey | None = None,
        restrict_default_security_group: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        problems.int_range("max_azs", max_azs, 1, 6)
        network: ipaddress.IPv4Network | None = None
        try:
            network = ipaddress.IPv4Network(cidr)
        except (ValueError, TypeError) as error:
            problems.add("cidr", cidr, f"must be an IPv4 CIDR block such as '10.42.0.0/16' ({error})")
        if network is not None:
            if not _MIN_VPC_MASK <= network.prefixlen <= _MAX_VPC_MASK:
                problems.add("cidr", cidr, f"the VPC netmask must be between /{_MIN_VPC_MASK} and /{_MAX_VPC_MASK}")
            elif not network.is_private:
                problems.add("cidr", cidr, "use a private (RFC 1918) range such as 10.0.0.0/8 or 172.16.0.0/12")
            elif isinstance(max_azs, int) and max_azs >= 1 and _subnet_mask(network, max_azs) > 28:
                problems.conflict(
                    ["cidr", "max_azs"],
                    f"{cidr} split over {max_azs} AZs gives subnets smaller than AWS's minimum /28; "
                    "use a bigger block or fewer AZs",
                )
        problems.raise_if_any()
        assert network is not None
        super().__init__(scope, id)
        pin_feature_flags(self)

        stack = Stack.of(self)
        if Token.is_unresolved(stack.region) and max_azs > 2:
            Annotations.of(self).add_warning_v2(
                "sm-constructs:MlVpc.maxAzs",
                f"max_azs={max_azs} but the stack has no region: CDK uses 2 AZs. Give the stack an env for more.",
            )
        subnet_mask = _subnet_mask(network, max_azs)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=subnet_mask
                )
            ],
            restrict_default_security_group=restrict_default_security_group,
        )
        # The VPC's L1 (AWS::EC2::VPC) as this construct's default child, as aws-cdk's own L2s have it.
        self.node.default_child = self.vpc.node.default_child
        self.subnet_selection = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        if restrict_default_security_group:
            _drop_redundant_provider_dependency(stack)
        else:
            acknowledge_in_packs(
                self.vpc,
                "VPCDefaultSecurityGroupClosed",
                "Closing the default security group was turned off (restrict_default_security_group=False); "
                "nothing in this VPC is a member of it (endpoints, notebooks and jobs get their own groups).",
            )

        key = encryption_key or new_key(
            self, "FlowLogKey", removal_policy=removal_policy, description="VPC flow logs", policy=key_policy()
        )
        # CloudWatch Logs may use the key only for log groups of this account and region.
        key.grant_encrypt_decrypt(
            iam.ServicePrincipal(
                f"logs.{Aws.REGION}.amazonaws.com",
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:"
                        f"{Aws.ACCOUNT_ID}:log-group:*"
                    }
                },
            )
        )
        self.flow_log_group = logs.LogGroup(
            self, "FlowLogs", encryption_key=key, retention=flow_log_retention, removal_policy=removal_policy
        )
        flow_log_role = ManagedPolicyRole(self, "FlowLogRole", assumed_by=service_of_this_account(FLOW_LOGS_PRINCIPAL))
        self.flow_log = self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, flow_log_role)
        )

        self.s3_endpoint = self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.endpoints_security_group = ec2.SecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="HTTPS from inside the VPC to the interface endpoints",
        )
        self.endpoints_security_group.add_ingress_rule(
            # The literal block (not the VPC's CidrBlock attribute) so reviewers and cdk-nag can read it.
            ec2.Peer.ipv4(cidr),
            ec2.Port.tcp(443),
            "HTTPS from the VPC",
        )
        self.cidr = cidr
        self._endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for service in DEFAULT_INTERFACE_ENDPOINTS if interface_endpoints is None else interface_endpoints:
            self.add_interface_endpoint(service)

    @property
    def interface_endpoints(self) -> list[ec2.InterfaceVpcEndpoint]:
        """The interface endpoints, in the order they were added."""
        return list(self._endpoints.values())

    def add_interface_endpoint(self, service: ec2.InterfaceVpcEndpointAwsService) -> ec2.InterfaceVpcEndpoint:
        """An interface endpoint with private DNS in every subnet, behind the endpoints' security group.

        Adding a service twice returns the existing endpoint.
        """
        endpoint_id = _endpoint_id(service)
        if endpoint_id not in self._endpoints:
            self._endpoints[endpoint_id] = self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                private_dns_enabled=True,
                security_groups=[self.endpoints_security_group],
                open=False,
                subnets=self.subnet_selection,
            )
        return self._endpoints[endpoint_id]
