"""EC2 networking as a stack deletion meets it on AWS (plug-ins for moto).

What EC2 deletes and refuses, from the operations' documentation in botocore's EC2 model:

* ``DeleteVpcEndpoints``: "When you delete an interface endpoint, we delete its endpoint network
  interfaces", and "When you delete a gateway endpoint, we delete the endpoint routes in the route
  tables" (also: Amazon VPC PrivateLink Guide, "Delete an interface endpoint"). moto kept the
  endpoint, marked ``deleted``, in the VPC;
* ``DeleteSubnet`` fails with ``DependencyViolation`` while network interfaces are in the subnet
  ("You must terminate all running instances in the subnet before you can delete the subnet"; an
  interface is what places an instance, endpoint, notebook or Studio volume there). moto deleted it;
* ``DeleteSecurityGroup``: "If you attempt to delete a security group that is associated with an
  instance or network interface [...] the operation fails with ``DependencyViolation``". moto deleted it;
* ``DeleteVpc``: "you must [...] delete all security groups associated with the VPC (except the
  default one), delete all route tables [...] (except the default one)", endpoints included.

The network interfaces that AWS services create in your subnets (requester-managed interfaces,
Amazon EC2 User Guide, "Requester-managed network interfaces") exist here too, so that a subnet
holding them cannot be deleted:

* a notebook instance in a subnet has one while it exists (SageMaker Developer Guide, "Connect a
  notebook instance in a VPC to external resources": "creates an elastic network interface in your
  VPC"); ``DeleteNotebookInstance`` removes it;
* a Studio domain has one per subnet for its home EFS volume (botocore's SageMaker model,
  ``CreateDomain``: "All traffic between the domain and the Amazon EFS volume is through the
  specified VPC and subnets"). ``DeleteDomain`` keeps the volume unless ``RetentionPolicy`` says
  ``HomeEfsFileSystem: Delete`` ("The default is Retain"), and with it its interfaces.

And moto's CloudFormation can delete the resources an aws-cdk VPC is made of:
``AWS::EC2::VPCEndpoint``, ``RouteTable``, ``SubnetRouteTableAssociation``, ``Route`` and
``FlowLog`` (moto had no delete for them and left them in place).
"""

from __future__ import annotations

from typing import Any

from .. import patches

__all__ = ["install"]

#: Descriptions of the requester-managed interfaces, as the services name theirs.
_NOTEBOOK_ENI = "[DO NOT DELETE] ENI managed by SageMaker for notebook instance {}"
_DOMAIN_ENI = "EFS mount target for {} (SageMaker Studio domain {})"


def _backend(account_id: str, region_name: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account_id][region_name]


def _dependency_violation(message: str) -> Exception:
    from moto.ec2.exceptions import DependencyViolationError

    return DependencyViolationError(message)


def _interfaces_in(backend: Any, *, subnet_id: str | None = None, group_id: str | None = None) -> list[Any]:
    return [
        eni
        for eni in backend.enis.values()
        if (subnet_id is None or eni.subnet.id == subnet_id)
        and (group_id is None or group_id in [g.id for g in eni._group_set])
    ]


def _install_ec2_rules() -> None:
    from moto.ec2.models.security_groups import SecurityGroupBackend
    from moto.ec2.models.subnets import SubnetBackend
    from moto.ec2.models.vpcs import VPCBackend

    original_delete_subnet = SubnetBackend.delete_subnet
    original_delete_group = SecurityGroupBackend.delete_security_group
    original_delete_vpc = VPCBackend.delete_vpc

    def delete_subnet(self: Any, subnet_id: str) -> Any:
        if _interfaces_in(self, subnet_id=subnet_id):
            raise _dependency_violation(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original_delete_subnet(self, subnet_id)

    def delete_security_group(self: Any, name: str | None = None, group_id: str | None = None) -> None:
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None and _interfaces_in(self, group_id=group.id):
            raise _dependency_violation(f"resource {group.id} has a dependent object")
        original_delete_group(self, name=name, group_id=group_id)

    def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> None:
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.pop(vpce_id, None)
            if endpoint is None:
                continue
            if endpoint.vpc_endpoint_type.lower() == "gateway":
                for route_table_id in endpoint.route_table_ids or []:
                    if route_table_id in self.route_tables:
                        self.delete_route(route_table_id, endpoint.destination_prefix_list_id)
            for eni_id in endpoint.network_interface_ids:
                self.enis.pop(eni_id, None)

    def delete_vpc(self: Any, vpc_id: str) -> Any:
        in_vpc = [e.id for e in self.vpc_end_points.values() if e.vpc_id == vpc_id]
        in_vpc += [g.id for g in self.groups.get(vpc_id, {}).values() if g.name != "default"]
        if in_vpc:
            raise _dependency_violation(
                f"The vpc '{vpc_id}' has dependencies and cannot be deleted. ({', '.join(sorted(in_vpc))})"
            )
        return original_delete_vpc(self, vpc_id)

    why = "EC2 refuses to delete what network interfaces or other resources still use, as AWS does"
    patches.replace("moto.ec2.models.subnets:SubnetBackend", "delete_subnet", delete_subnet, why=why)
    patches.replace(
        "moto.ec2.models.security_groups:SecurityGroupBackend", "delete_security_group", delete_security_group, why=why
    )
    patches.replace("moto.ec2.models.vpcs:VPCBackend", "delete_vpc", delete_vpc, why=why)
    patches.replace(
        "moto.ec2.models.vpcs:VPCBackend",
        "delete_vpc_endpoints",
        delete_vpc_endpoints,
        why="DeleteVpcEndpoints deletes the endpoint with its network interfaces and gateway routes",
    )


def _install_cloudformation_deletes() -> None:
    """``delete(account_id, region_name)`` for the VPC resources moto's CloudFormation cannot delete."""

    def endpoint(self: Any, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_vpc_endpoints([self.id])

    def route_table(self: Any, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_route_table(self.id)

    def association(self: Any, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)

    def route(self: Any, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_route(
            self.route_table.id,
            self.destination_cidr_block,
            destination_ipv6_cidr_block=self.destination_ipv6_cidr_block,
            destination_prefix_list_id=getattr(self.destination_prefix_list, "id", None),
        )

    def flow_log(self: Any, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_flow_logs([self.id])

    why = "CloudFormation deletes this type with its stack; moto's model had no delete"
    for owner, fn in (
        ("moto.ec2.models.vpcs:VPCEndPoint", endpoint),
        ("moto.ec2.models.route_tables:RouteTable", route_table),
        ("moto.ec2.models.subnets:SubnetRouteTableAssociation", association),
        ("moto.ec2.models.route_tables:Route", route),
        ("moto.ec2.models.flow_logs:FlowLogs", flow_log),
    ):
        patches.add(owner, "delete", fn, why=why)


def _install_service_interfaces() -> None:
    """The interfaces notebook instances and Studio domains place in their subnets."""
    from moto.ec2.utils import random_private_ip
    from moto.sagemaker.models import SageMakerModelBackend

    create_notebook = SageMakerModelBackend.create_notebook_instance
    delete_notebook = SageMakerModelBackend.delete_notebook_instance
    create_domain = SageMakerModelBackend.create_domain
    delete_domain = SageMakerModelBackend.delete_domain

    def interface(self: Any, subnet_id: str, groups: list[str], description: str) -> str:
        eni = _backend(self.account_id, self.region_name).create_network_interface(
            subnet_id, random_private_ip(), group_ids=groups, description=description
        )
        eni.requester_managed = True
        return str(eni.id)

    def create_notebook_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
        notebook = create_notebook(self, *args, **kwargs)
        if notebook.subnet_id:
            notebook.network_interface_id = interface(  # type: ignore[attr-defined]
                self,
                notebook.subnet_id,
                notebook.security_group_ids or [],
                _NOTEBOOK_ENI.format(notebook.notebook_instance_name),
            )
        return notebook

    def delete_notebook_instance(self: Any, notebook_instance_name: str) -> None:
        eni_id = getattr(self.get_notebook_instance(notebook_instance_name), "network_interface_id", None)
        delete_notebook(self, notebook_instance_name)
        _backend(self.account_id, self.region_name).enis.pop(eni_id, None)

    def create_domain_with_interfaces(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = set(self.domains)
        result = create_domain(self, *args, **kwargs)
        for domain in [d for i, d in self.domains.items() if i not in before]:
            groups = (domain.default_user_settings or {}).get("SecurityGroups", [])
            domain.network_interface_ids = [
                interface(self, subnet_id, groups, _DOMAIN_ENI.format(domain.home_efs_file_system_id, domain.id))
                for subnet_id in domain.subnet_ids or []
            ]
        return result

    def delete_domain_with_interfaces(self: Any, domain_id: str, retention_policy: dict[str, str] | None) -> None:
        domain = self.domains.get(domain_id)
        delete_domain(self, domain_id, retention_policy)
        if domain is not None and (retention_policy or {}).get("HomeEfsFileSystem") == "Delete":
            for eni_id in getattr(domain, "network_interface_ids", []):
                _backend(self.account_id, self.region_name).enis.pop(eni_id, None)

    def notebook_from_cloudformation(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        props = cloudformation_json["Properties"]
        return sagemaker_backends[account_id][region_name].create_notebook_instance(
            notebook_instance_name=resource_name,
            instance_type=props["InstanceType"],
            role_arn=props["RoleArn"],
            subnet_id=props.get("SubnetId"),
            security_group_ids=props.get("SecurityGroupIds"),
            direct_internet_access=props.get("DirectInternetAccess", "Enabled"),
        )

    patches.replace(
        "moto.sagemaker.models:FakeSagemakerNotebookInstance",
        "create_from_cloudformation_json",
        classmethod(notebook_from_cloudformation),
        why="a notebook from CloudFormation is placed in its SubnetId (moto dropped the network properties)",
    )
    owner = "moto.sagemaker.models:SageMakerModelBackend"
    patches.replace(
        owner, "create_notebook_instance", create_notebook_instance, why="a notebook in a subnet has an interface there"
    )
    patches.replace(owner, "delete_notebook_instance", delete_notebook_instance, why="its interface goes with it")
    patches.replace(
        owner, "create_domain", create_domain_with_interfaces, why="a Studio domain's EFS volume has interfaces"
    )
    patches.replace(
        owner, "delete_domain", delete_domain_with_interfaces, why="the interfaces go with the volume, not the domain"
    )


def install() -> None:
    _install_ec2_rules()
    _install_cloudformation_deletes()
    _install_service_interfaces()
    patches.apply()
