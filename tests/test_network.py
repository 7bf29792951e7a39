import json

import pytest
from aws_cdk import Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.network import DEFAULT_INTERFACE_ENDPOINTS, MlVpc


@pytest.fixture(scope="module")
def template():
    app = new_app()
    stack = new_stack(app)
    MlVpc(stack, "Net")
    add_nag_packs(app)
    app.synth()  # raises on any unacknowledged cdk-nag finding
    return template_of(stack)


def _interface_endpoints(template):
    return [
        e["Properties"]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]


def test_no_internet_path(template):
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::VPCGatewayAttachment", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    assert template.find_resources("AWS::EC2::Route") == {}


def test_two_isolated_subnets_of_22(template):
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert sorted(s["Properties"]["CidrBlock"] for s in subnets.values()) == ["10.42.0.0/22", "10.42.4.0/22"]
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.42.0.0/16"})


def test_default_endpoints(template):
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})
    interface = _interface_endpoints(template)
    assert len(interface) == len(DEFAULT_INTERFACE_ENDPOINTS) == 4
    assert all(e["PrivateDnsEnabled"] for e in interface)
    services = json.dumps([e["ServiceName"] for e in interface])
    for name in (".sagemaker.api", ".sagemaker.runtime", ".sts", ".logs"):
        assert name in services, name
    # every interface endpoint sits in both subnets behind the endpoints' group only
    for endpoint in interface:
        assert len(endpoint["SubnetIds"]) == 2 and len(endpoint["SecurityGroupIds"]) == 1


def test_endpoint_security_group_allows_https_from_vpc_only(template):
    (group,) = [
        g["Properties"]
        for g in template.find_resources("AWS::EC2::SecurityGroup").values()
        if "interface endpoints" in g["Properties"]["GroupDescription"]
    ]
    assert group["SecurityGroupIngress"] == [
        {
            "CidrIp": "10.42.0.0/16",
            "Description": "HTTPS from the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    # allow_all_outbound=False renders aws-cdk's "disallow all" placeholder rule
    assert [r["CidrIp"] for r in group["SecurityGroupEgress"]] == ["255.255.255.255/32"]


def test_flow_logs_encrypted_and_retained(template):
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    (group,) = template.find_resources("AWS::Logs::LogGroup").values()
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["Properties"]["KmsKeyId"]["Fn::GetAtt"][1] == "Arn"
    assert group["DeletionPolicy"] == "Retain"
    (key,) = template.find_resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "Retain"
    logs_in_region = {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    logs_of_account = Match.object_like(
        {
            "Principal": {"Service": logs_in_region},
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Match.any_value()}},
        }
    )
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([logs_of_account])}})


def test_default_security_group_closed(template):
    template.has_resource_properties(
        "Custom::VpcRestrictDefaultSG",
        {"DefaultSecurityGroupId": {"Fn::GetAtt": [Match.any_value(), "DefaultSecurityGroup"]}},
    )


def test_cfn_lint_clean(template):
    assert cfn_lint(template.to_json()) == []


def test_overrides():
    stack = new_stack()
    key = kms.Key(stack, "MyKey", enable_key_rotation=True)
    net = MlVpc(
        stack,
        "Net",
        cidr="10.9.0.0/24",
        interface_endpoints=[ec2.InterfaceVpcEndpointAwsService.ECR],
        flow_log_retention=logs.RetentionDays.THREE_MONTHS,
        encryption_key=key,
        restrict_default_security_group=False,
    )
    same = net.add_interface_endpoint(ec2.InterfaceVpcEndpointAwsService.ECR)
    net.add_interface_endpoint(ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS)
    t = template_of(stack)
    t.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.9.0.0/24"})
    # a /24 over 2 AZs: two /25 subnets
    assert sorted(s["Properties"]["CidrBlock"] for s in t.find_resources("AWS::EC2::Subnet").values()) == [
        "10.9.0.0/25",
        "10.9.0.128/25",
    ]
    services = json.dumps([e["ServiceName"] for e in _interface_endpoints(t)])
    assert len(_interface_endpoints(t)) == 2 and ".ecr.api" in services and ".states" in services
    assert same.node.path == net.interface_endpoints[0].node.path
    t.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})
    t.resource_count_is("AWS::KMS::Key", 1)
    t.resource_count_is("Custom::VpcRestrictDefaultSG", 0)
    t.resource_count_is("AWS::Lambda::Function", 0)


def test_no_interface_endpoints():
    stack = new_stack()
    MlVpc(stack, "Net", interface_endpoints=[])
    t = template_of(stack)
    assert _interface_endpoints(t) == []
    t.resource_count_is("AWS::EC2::VPCEndpoint", 1)  # the S3 gateway stays


def test_three_azs_with_an_environment():
    stack = Stack(new_app(), "Env", env=Environment(account="111111111111", region="eu-west-1"))
    MlVpc(stack, "Net", max_azs=3)
    template_of(stack).resource_count_is("AWS::EC2::Subnet", 3)


def test_more_than_two_azs_without_region_warns():
    stack = new_stack()
    MlVpc(stack, "Net", max_azs=3)
    Annotations.from_stack(stack).has_warning("/Test/Net", Match.string_like_regexp("max_azs=3 .* 2 AZs"))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"max_azs": 0}, r"max_azs=0 is invalid: must be between 1 and 6"),
        ({"max_azs": 7}, r"max_azs=7 is invalid"),
        ({"cidr": "10.0.0.0/8"}, r"cidr='10.0.0.0/8' is invalid: the VPC netmask must be between /16 and /26"),
        ({"cidr": "nope"}, r"cidr='nope' is invalid: must be an IPv4 CIDR"),
        ({"cidr": "10.0.0.1/16"}, r"cidr='10.0.0.1/16' is invalid: must be an IPv4 CIDR .*host bits"),
        ({"cidr": "8.8.0.0/16"}, r"cidr='8.8.0.0/16' is invalid: use a private"),
        ({"cidr": "10.0.0.0/26", "max_azs": 6}, r"cidr and max_azs conflict: .*minimum /28"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ConstructValidationError, match=r"MlVpc 'Test/Net': " + match):
        MlVpc(new_stack(), "Net", **kwargs)


def test_bad_input_reported_together_before_any_resource():
    stack = new_stack()
    with pytest.raises(ConstructValidationError, match="2 problems") as err:
        MlVpc(stack, "Net", max_azs=0, cidr="nope")
    assert {"max_azs", "cidr"} == {p.split("=")[0] for p in err.value.problems}
    assert stack.node.try_find_child("Net") is None
