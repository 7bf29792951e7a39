"""Stack deletion in the emulator as CloudFormation runs it on AWS: a bare ``MlVpc`` with interface
endpoints, a ``NotebookInstance`` app and a ``StudioDomain`` app are deployed and deleted; what the
stack held is gone from moto (described through the API), retained resources are kept and listed
with the command that deletes them, and a delete that fails leaves the stack ``DELETE_FAILED``.

The VPCs here do not close their default security group (``restrict_default_security_group=False``):
these stacks are created from their templates without publishing assets, and that Lambda-backed
custom resource needs its code asset. A default ``MlVpc``, custom resource included, is deployed through
the CDK CLI by ``tests/test_local_lambda.py``, and deployed and destroyed by ``tests/test_examples.py``.
One emulator for the module (all its tests on one xdist worker).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from apps.studio import StudioStack
from aws_cdk import App, Stack
from aws_cdk import aws_stepfunctions as sfn

from sm_constructs import MlDataBucket, MlStateMachine, MlVpc
from sm_constructs.local.cli import project
from sm_constructs.local.cli.demo import LocalSession, start_server
from sm_constructs.local.server import _free_port
from sm_constructs.notebook import NotebookInstance
from sm_constructs.roles import SageMakerExecutionRole

pytestmark = pytest.mark.xdist_group("emulator-destroy")
BOOTSTRAP_VERSION = "/cdk-bootstrap/hnb659fds/version"


def _templates() -> dict[str, dict[str, Any]]:
    app = App()
    vpc = Stack(app, "BareVpc")
    MlVpc(vpc, "Network", restrict_default_security_group=False)
    notebook = Stack(app, "Notebook")
    data = MlDataBucket(notebook, "Data")
    network = MlVpc(notebook, "Network", restrict_default_security_group=False)
    NotebookInstance(
        notebook,
        "Notebook",
        data_bucket=data,
        execution_role=SageMakerExecutionRole(notebook, "Execution"),
        vpc=network.vpc,
    )
    MlStateMachine(notebook, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(notebook, "Go")))
    StudioStack(app, "Studio", restrict_default_security_group=False)
    assembly = app.synth()
    return {name: assembly.get_stack_by_name(name).template for name in ("BareVpc", "Notebook", "Studio")}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    templates = _templates()
    proc, url = start_server(_free_port(), tmp_path_factory.mktemp("destroy"), 1.0, enforce_iam=False)
    try:
        session = LocalSession(url)
        session.client("ssm").put_parameter(Name=BOOTSTRAP_VERSION, Value="30", Type="String")
        yield session, {name: json.dumps(body) for name, body in templates.items()}, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _deploy(session: Any, name: str, body: str) -> str:
    cfn = session.client("cloudformation")
    stack_id = cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])["StackId"]
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    return str(stack_id)


def _physical(session: Any, name: str, resource_type: str) -> list[str]:
    summaries = session.client("cloudformation").list_stack_resources(StackName=name)["StackResourceSummaries"]
    return [r["PhysicalResourceId"] for r in summaries if r["ResourceType"] == resource_type]


def _left_in(session: Any, vpc_id: str) -> dict[str, list[str]]:
    """What EC2 still holds in the VPC, described through the API."""
    ec2 = session.client("ec2")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=in_vpc)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]],
        "endpoints": [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]],
        "interfaces": [
            n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces(Filters=in_vpc)["NetworkInterfaces"]
        ],
        "route tables": [t["RouteTableId"] for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]],
        "security groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]],
        "flow logs": [
            f["FlowLogId"]
            for f in ec2.describe_flow_logs(Filter=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
        ],
    }


def _status(session: Any, stack_id: str) -> dict[str, Any]:
    return dict(session.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"][0])


def test_a_bare_vpc_with_interface_endpoints_is_deleted_with_its_stack(emulator):
    session, templates, url = emulator
    stack_id = _deploy(session, "BareVpc", templates["BareVpc"])
    (vpc_id,) = _physical(session, "BareVpc", "AWS::EC2::VPC")
    held = _left_in(session, vpc_id)
    assert len(held["endpoints"]) == 5 and len(held["interfaces"]) == 8  # 4 interface endpoints x 2 subnets

    session.client("cloudformation").delete_stack(StackName="BareVpc")

    assert _status(session, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert {kind: ids for kind, ids in _left_in(session, vpc_id).items() if ids} == {}
    # the flow-log group and its key are RETAINed (audit evidence): kept, and listed with their delete command
    retained = project.retained_resources(session.client("cloudformation"), [stack_id], url)
    assert sorted(r.resource_type for r in retained) == ["AWS::KMS::Key", "AWS::Logs::LogGroup"]
    key = next(r for r in retained if r.resource_type == "AWS::KMS::Key")
    group = next(r for r in retained if r.resource_type == "AWS::Logs::LogGroup")
    assert key.physical_id in [k["KeyId"] for k in session.client("kms").list_keys()["Keys"]]
    assert session.client("logs").describe_log_groups(logGroupNamePrefix=group.physical_id)["logGroups"]
    assert key.command.startswith(f"aws --endpoint-url {url} kms schedule-key-deletion --key-id {key.physical_id}")
    assert group.command == f"aws --endpoint-url {url} logs delete-log-group --log-group-name {group.physical_id}"
    assert project.deployed_stacks(session.client("cloudformation"), ["BareVpc"]) == {}


def test_a_notebook_app_is_deleted_notebook_before_its_subnet(emulator):
    session, templates, url = emulator
    stack_id = _deploy(session, "Notebook", templates["Notebook"])
    (vpc_id,) = _physical(session, "Notebook", "AWS::EC2::VPC")
    interfaces = session.client("ec2").describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    assert any("notebook instance" in n["Description"] for n in interfaces["NetworkInterfaces"])
    sfn = session.client("stepfunctions")
    assert len(sfn.list_state_machines()["stateMachines"]) == 1

    session.client("cloudformation").delete_stack(StackName="Notebook")

    assert _status(session, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert {kind: ids for kind, ids in _left_in(session, vpc_id).items() if ids} == {}
    assert session.client("sagemaker").list_notebook_instances()["NotebookInstances"] == []
    # in CloudFormation's order: the notebook (and its interface) went before the subnet it was in
    events = session.client("cloudformation").describe_stack_events(StackName=stack_id)["StackEvents"][::-1]
    order = [(e["ResourceType"], e["ResourceStatus"]) for e in events]
    assert order.index(("AWS::SageMaker::NotebookInstance", "DELETE_COMPLETE")) < order.index(
        ("AWS::EC2::Subnet", "DELETE_IN_PROGRESS")
    )
    # MlStateMachine RETAINs the state machine by default: it is kept and listed
    retained = project.retained_resources(session.client("cloudformation"), [stack_id], url)
    (machine,) = [r for r in retained if r.resource_type == "AWS::StepFunctions::StateMachine"]
    assert [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]] == [machine.physical_id]
    assert machine.command.endswith(f"stepfunctions delete-state-machine --state-machine-arn {machine.physical_id}")
    sfn.delete_state_machine(stateMachineArn=machine.physical_id)


def test_a_retained_studio_domain_keeps_its_subnets_and_the_stack_is_delete_failed(emulator):
    session, templates, _ = emulator
    cfn = session.client("cloudformation")
    stack_id = _deploy(session, "Studio", templates["Studio"])
    (vpc_id,) = _physical(session, "Studio", "AWS::EC2::VPC")
    (domain_id,) = _physical(session, "Studio", "AWS::SageMaker::Domain")

    cfn.delete_stack(StackName="Studio")

    # the domain (RETAIN) keeps its EFS volume's interfaces: its subnets and the VPC cannot be deleted
    stack = _status(session, "Studio")
    assert stack["StackStatus"] == "DELETE_FAILED"
    events = cfn.describe_stack_events(StackName="Studio")["StackEvents"]
    failed = {
        e["LogicalResourceId"]: e["ResourceStatusReason"] for e in events if e["ResourceStatus"] == "DELETE_FAILED"
    }
    subnets = [logical for logical in failed if "Subnet" in logical]
    assert len(subnets) == 2 and all("has dependencies and cannot be deleted" in failed[s] for s in subnets)
    assert stack["StackStatusReason"].startswith("The following resource(s) failed to delete: [")
    assert all(logical in stack["StackStatusReason"] for logical in failed)
    assert list(project.deployed_stacks(cfn, ["Studio"])) == ["Studio"]  # still there: a retry is possible
    assert session.client("sagemaker").describe_domain(DomainId=domain_id)["DomainId"] == domain_id
    assert _left_in(session, vpc_id)["subnets"]
    assert _left_in(session, vpc_id)["endpoints"] == []  # what did not depend on the subnets is gone

    # the way out: delete the domain with its volume, then retry
    session.client("sagemaker").delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Delete"})
    cfn.delete_stack(StackName="Studio")
    assert _status(session, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert {kind: ids for kind, ids in _left_in(session, vpc_id).items() if ids} == {}
    assert project.deployed_stacks(cfn, ["Studio"]) == {}


def test_a_resource_the_emulator_cannot_delete_fails_the_stack_and_a_retry_deletes_the_rest(emulator):
    session, _, url = emulator
    cfn = session.client("cloudformation")
    # an Elastic IP (moto has no delete for it) that depends on a topic: the topic must wait for it
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Address": {"Type": "AWS::EC2::EIP", "Properties": {"Tags": [{"Key": "t", "Value": {"Ref": "Topic"}}]}},
            "Queue": {"Type": "AWS::SQS::Queue"},
        },
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}, "Export": {"Name": "queue-url"}}},
    }
    stack_id = _deploy(session, "Unsupported", json.dumps(template))
    cfn.delete_stack(StackName="Unsupported")

    stack = _status(session, "Unsupported")
    assert (stack["StackStatus"], stack["StackStatusReason"]) == (
        "DELETE_FAILED",
        "The following resource(s) failed to delete: [Address]. ",
    )
    left = {r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]}
    assert left == {"Address", "Topic"}  # the queue is deleted, the topic waits for the address
    assert stack["Outputs"][0]["OutputKey"] == "QueueUrl"  # outputs still read, as on AWS
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    (reason,) = [
        e["ResourceStatusReason"]
        for e in events
        if e["ResourceStatus"] == "DELETE_FAILED" and e["LogicalResourceId"] == "Address"
    ]
    assert "cannot delete AWS::EC2::EIP" in reason
    assert len(session.client("sns").list_topics()["Topics"]) == 1
    assert session.client("sqs").list_queues().get("QueueUrls", []) == []

    # the way out CloudFormation offers a DELETE_FAILED stack: keep what cannot be deleted
    cfn.delete_stack(StackName="Unsupported", RetainResources=["Address"])
    assert _status(session, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert session.client("sns").list_topics()["Topics"] == []
    (kept,) = project.retained_resources(cfn, [stack_id], url)
    assert (kept.logical_id, kept.resource_type, kept.command) == ("Address", "AWS::EC2::EIP", "")


def test_retain_resources_is_for_a_delete_failed_stack_only(emulator):
    session, _, _ = emulator
    cfn = session.client("cloudformation")
    _deploy(session, "Healthy", json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}))
    with pytest.raises(cfn.exceptions.ClientError, match="DELETE_FAILED"):
        cfn.delete_stack(StackName="Healthy", RetainResources=["Queue"])
    assert _status(session, "Healthy")["StackStatus"] == "CREATE_COMPLETE"
    cfn.delete_stack(StackName="Healthy")


def test_sm_local_destroy_of_a_deleted_stack_says_there_is_nothing_to_destroy(emulator, tmp_path, capsys, monkeypatch):
    _, _, url = emulator
    # this directory's emulator is the module's (no cdk.json needed)
    monkeypatch.setattr(project.LocalProject, "running_url", lambda self: url)
    local = project.LocalProject(tmp_path)

    local.destroy("BareVpc")  # deleted by the first test: the CDK CLI is not run

    assert capsys.readouterr().out == "sm-local: nothing to destroy: no stack named BareVpc is deployed\n"
