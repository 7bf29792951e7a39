"""A private VPC for notebooks and jobs: no internet path at all, AWS APIs through endpoints."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._iam import ManagedPolicyRole
from ._nag import acknowledge_in_packs
from ._validation import Problems

__all__ = ["DEFAULT_INTERFACE_ENDPOINTS", "MlVpc"]

#: What a notebook and VPC-attached jobs call: SageMaker API and runtime, STS, CloudWatch Logs.
DEFAULT_INTERFACE_ENDPOINTS: tuple[ec2.InterfaceVpcEndpointAwsService, ...] = (
    ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    ec2.InterfaceVpcEndpointAwsService.STS,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
)


class MlVpc(Construct):
    """A minimal private VPC for ML work.

    Isolated subnets only: no internet gateway, no NAT gateway, so nothing inside can reach the
    internet or be reached from it. S3 is reached through a (free) gateway endpoint and the AWS
    APIs a notebook needs through interface endpoints with private DNS.

    Cost trade-off: each interface endpoint costs about USD 0.01 per hour per AZ (≈ USD 7 a month
    per AZ) plus data processing, so the defaults (4 endpoints × 2 AZs) cost about USD 60 a month —
    far less than a NAT gateway per AZ, and with no internet egress. Without internet, ``pip
    install`` needs a mirror such as CodeArtifact (add its endpoints through
    ``interface_endpoints``); add ECR endpoints if VPC-attached jobs pull images from your ECR.

    VPC flow logs go to a KMS-encrypted log group.

    :param max_azs: Availability Zones. Default: 2.
    :param cidr: Default: ``10.42.0.0/16``.
    :param interface_endpoints: replaces :data:`DEFAULT_INTERFACE_ENDPOINTS`.
    :param flow_log_retention: Default: one year.
    :param encryption_key: for the flow-log group. Default: - a new key with rotation.
    :param restrict_default_security_group: remove the default security group's rules. aws-cdk
        does this with a Lambda-backed custom resource, so it is off by default; nothing here
        uses the default group. Default: False.
    """

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
        restrict_default_security_group: bool = False,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        problems.int_range("max_azs", max_azs, 1, 6)
        if cidr.count(".") != 3 or "/" not in cidr:
            problems.add("cidr", cidr, "must be an IPv4 CIDR block such as '10.42.0.0/16'")
        else:
            mask = int(cidr.split("/")[1]) if cidr.split("/")[1].isdigit() else -1
            if not 16 <= mask <= 24:
                problems.add("cidr", cidr, "the VPC netmask must be between /16 and /24")
        problems.raise_if_any()
        super().__init__(scope, id)

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)
            ],
            restrict_default_security_group=restrict_default_security_group,
        )
        self.subnet_selection = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        if not restrict_default_security_group:
            acknowledge_in_packs(
                self.vpc,
                "VPCDefaultSecurityGroupClosed",
                "Closing the default security group needs a Lambda-backed custom resource; nothing in this VPC "
                "uses the default group (endpoints, notebooks and jobs get their own). Opt in with "
                "restrict_default_security_group=True.",
            )

        key = encryption_key or kms.Key(
            self, "FlowLogKey", enable_key_rotation=True, removal_policy=removal_policy, description="VPC flow logs"
        )
        stack_region = self.vpc.stack.region
        key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{stack_region}.amazonaws.com"))
        self.flow_log_group = logs.LogGroup(
            self, "FlowLogs", encryption_key=key, retention=flow_log_retention, removal_policy=removal_policy
        )
        flow_log_role = ManagedPolicyRole(
            self, "FlowLogRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com")
        )
        self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, flow_log_role)
        )

        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
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
        self.interface_endpoints: list[ec2.InterfaceVpcEndpoint] = []
        for service in interface_endpoints if interface_endpoints is not None else DEFAULT_INTERFACE_ENDPOINTS:
            name = "".join(part.capitalize() for part in service.short_name.replace("-", ".").split("."))
            self.interface_endpoints.append(
                self.vpc.add_interface_endpoint(
                    name,
                    service=service,
                    private_dns_enabled=True,
                    security_groups=[self.endpoints_security_group],
                    open=False,
                    subnets=self.subnet_selection,
                )
            )
