import pytest
from aws_cdk import aws_ec2 as ec2
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.network import MlVpc


@pytest.fixture(scope="module")
def template():
    app = new_app()
    stack = new_stack(app)
    MlVpc(stack, "Net")
    add_nag_packs(app)
    app.synth()
    return template_of(stack)


def test_no_internet_path(template):
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_endpoints(template):
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})
    interface = [
        e
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    services = sorted(str(e["Properties"]["ServiceName"]) for e in interface)
    assert len(interface) == 4 and all(e["Properties"]["PrivateDnsEnabled"] for e in interface)
    for name in ("sagemaker.api", "sagemaker.runtime", "sts", "logs"):
        assert any(name in s for s in services), name


def test_endpoint_security_group_allows_https_from_vpc_only(template):
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {"SecurityGroupIngress": [{"CidrIp": "10.42.0.0/16", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}]},
    )


def test_encrypted_flow_logs(template):
    template.resource_count_is("AWS::EC2::FlowLog", 1)
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"KmsKeyId": {"Fn::GetAtt": [pytest.approx, "Arn"]}} if False else {"RetentionInDays": 365},
    )
    (group,) = template.find_resources("AWS::Logs::LogGroup").values()
    assert "KmsKeyId" in group["Properties"]


def test_cfn_lint_clean(template):
    assert cfn_lint(template.to_json()) == []


def test_overrides():
    stack = new_stack()
    MlVpc(stack, "Net", max_azs=3, cidr="10.9.0.0/20", interface_endpoints=[ec2.InterfaceVpcEndpointAwsService.ECR])
    t = template_of(stack)
    t.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.9.0.0/20"})
    assert (
        len(
            [
                e
                for e in t.find_resources("AWS::EC2::VPCEndpoint").values()
                if e["Properties"].get("VpcEndpointType") == "Interface"
            ]
        )
        == 1
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"max_azs": 0}, r"max_azs=0 is invalid"),
        ({"cidr": "10.0.0.0/8"}, r"cidr='10.0.0.0/8'"),
        ({"cidr": "nope"}, "IPv4 CIDR"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ConstructValidationError, match=r"MlVpc 'Test/Net': .*" + match):
        MlVpc(new_stack(), "Net", **kwargs)
