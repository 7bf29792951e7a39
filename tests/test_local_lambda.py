"""Lambda functions and Lambda-backed custom resources in the emulator, without Docker.

The app (tests/apps/lambdas) is deployed by the real CDK CLI through ``sm-local``: its ``MlVpc``
gets aws-cdk-lib's ``Custom::VpcRestrictDefaultSG`` (a Node.js handler that needs the runtime's AWS
SDK), and its functions run in subprocesses against the emulator. Replacement and FAILED responses
are driven with CloudFormation templates directly (no synth). One emulator for the module.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import shutil
import signal
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sm_constructs.local.cli.demo import LocalSession
from sm_constructs.local.cli.project import LocalProject

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("emulator-lambda")
FUNCTION = "AWS::Lambda::Function"


@pytest.fixture(scope="session")
def lambdas(tmp_path_factory):
    app = Path(shutil.copytree(ROOT / "tests" / "apps" / "lambdas", tmp_path_factory.mktemp("lambdas") / "app"))
    project = LocalProject(app)
    try:
        project.deploy("Network", "Functions")
        url = project.state()["url"]  # the emulator the deploy started
        yield {"project": project, "session": LocalSession(url), "url": url}
    finally:
        pid = (project.state() or {}).get("pid")
        project.reset()
        if pid:  # reset stops only an emulator that answers sm-local's liveness check in time
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def _physical_id(session, stack: str, resource_type: str, logical_prefix: str = "") -> str:
    resources = session.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    (found,) = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == resource_type and r["LogicalResourceId"].startswith(logical_prefix)
    ]
    return str(found)


def _invoke(session, function: str, payload: object) -> tuple[str | None, object]:
    response = session.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload))
    return response.get("FunctionError"), json.loads(response["Payload"].read())


def test_the_vpc_default_security_group_loses_its_rules(lambdas):
    ec2 = lambdas["session"].client("ec2")
    vpc_id = _physical_id(lambdas["session"], "Network", "AWS::EC2::VPC")

    def default_group(vpc: str) -> dict:
        filters = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        (group,) = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        return group

    untouched = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]  # what the handler starts from
    assert default_group(untouched)["IpPermissionsEgress"]
    group = default_group(vpc_id)
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []


def test_a_python_function_answers_invoke(lambdas):
    function = _physical_id(lambdas["session"], "Functions", FUNCTION, "Echo")
    error, payload = _invoke(lambdas["session"], function, {"n": 1})
    assert error is None
    assert payload == {"echo": {"n": 1}, "function": function}


def test_a_node_function_calls_the_emulator_with_the_runtime_s_sdk(lambdas):
    session = lambdas["session"]
    error, payload = _invoke(session, _physical_id(session, "Functions", FUNCTION, "ListBuckets"), {"k": "v"})
    assert error is None, payload
    assert payload["buckets"] == sorted(b["Name"] for b in session.client("s3").list_buckets()["Buckets"])
    assert payload["buckets"] and payload["event"] == {"k": "v"}


def test_a_function_error_is_reported_as_lambda_reports_it(lambdas):
    session = lambdas["session"]
    client = session.client("lambda")
    function = _physical_id(session, "Functions", FUNCTION, "Echo")
    config = client.get_function_configuration(FunctionName=function)
    client.update_function_configuration(FunctionName=function, Handler="index.missing")
    try:
        error, payload = _invoke(session, function, {})
    finally:
        client.update_function_configuration(FunctionName=function, Handler=config["Handler"])
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.HandlerNotFound"
    assert payload["errorMessage"] == "Handler 'missing' missing on module 'index'"


def test_step_functions_lambda_invoke_runs_the_function(lambdas):
    sfn = lambdas["session"].client("stepfunctions")
    (machine,) = [m for m in sfn.list_state_machines()["stateMachines"] if "CallEcho" in m["name"]]
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps({"x": 2}))
    deadline = time.monotonic() + 120
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.5)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["echo"] == {"x": 2}


def test_a_custom_resource_gets_its_handler_s_data(lambdas):
    session = lambdas["session"]
    assert session.client("ssm").get_parameter(Name="/said")["Parameter"]["Value"] == "hello"  # GetAtt Said
    assert _physical_id(session, "Functions", "AWS::CloudFormation::CustomResource") == "recorded-hello"
    recorded = session.client("ssm").get_parameter(Name="/recorded/Create")["Parameter"]["Value"]
    assert json.loads(recorded)["Greeting"] == "hello"


def test_a_custom_resource_whose_runtime_cannot_run_fails_the_deploy(lambdas):
    project, session = lambdas["project"], lambdas["session"]
    code = project.cdk(lambdas["url"], "deploy", "Broken", "--require-approval", "never", check=False)
    assert code != 0
    cfn = session.client("cloudformation")
    assert cfn.describe_stacks(StackName="Broken")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    (failed,) = [
        e
        for e in cfn.describe_stack_events(StackName="Broken")["StackEvents"]
        if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert failed["LogicalResourceId"].startswith("NeedsJava")
    assert failed["ResourceType"] == "AWS::CloudFormation::CustomResource"
    assert "runtime java21 is not available" in failed["ResourceStatusReason"]
    assert session.client("lambda").list_functions()["Functions"]  # the other stacks' functions remain
    assert not [f for f in session.client("lambda").list_functions()["Functions"] if f["Runtime"] == "java21"]


def _recorder_template(greeting: str, *, fail: bool = False) -> str:
    code = (
        "import json, boto3, cfnresponse\n"
        "def handler(event, context):\n"
        "    props = event['ResourceProperties']\n"
        "    boto3.client('ssm').put_parameter(Name='/direct/' + event['RequestType'],"
        " Value=event.get('PhysicalResourceId', '-'), Type='String', Overwrite=True)\n"
        f"    if {fail!r}:\n"
        "        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason='the greeting is rude')\n"
        "    else:\n"
        "        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, 'greeting-' + props['Greeting'])\n"
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": code},
            },
        },
        "Greeting": {
            "Type": "Custom::Greeting",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}, "Greeting": greeting},
        },
    }
    return json.dumps({"Resources": resources})


def test_a_replaced_custom_resource_gets_delete_for_the_old_physical_id(lambdas):
    session = lambdas["session"]
    cfn, ssm = session.client("cloudformation"), session.client("ssm")
    cfn.create_stack(StackName="Direct", TemplateBody=_recorder_template("hi"), Capabilities=["CAPABILITY_IAM"])
    assert _physical_id(session, "Direct", "Custom::Greeting") == "greeting-hi"
    cfn.update_stack(StackName="Direct", TemplateBody=_recorder_template("hey"), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName="Direct")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert ssm.get_parameter(Name="/direct/Update")["Parameter"]["Value"] == "greeting-hi"
    assert ssm.get_parameter(Name="/direct/Delete")["Parameter"]["Value"] == "greeting-hi"  # the replaced one
    assert _physical_id(session, "Direct", "Custom::Greeting") == "greeting-hey"
    cfn.delete_stack(StackName="Direct")
    assert ssm.get_parameter(Name="/direct/Delete")["Parameter"]["Value"] == "greeting-hey"


def test_a_failed_response_rolls_the_stack_back_with_the_handler_s_reason(lambdas):
    cfn = lambdas["session"].client("cloudformation")
    cfn.create_stack(StackName="Rude", TemplateBody=_recorder_template("hi", fail=True))
    assert cfn.describe_stacks(StackName="Rude")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    (failed,) = [
        e for e in cfn.describe_stack_events(StackName="Rude")["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"
    ]
    assert failed["LogicalResourceId"] == "Greeting"
    assert (
        "Received response status [FAILED] from custom resource. Message returned: the greeting is rude"
        in (failed["ResourceStatusReason"])
    )
    assert not [
        f for f in lambdas["session"].client("lambda").list_functions()["Functions"] if "Rude" in f["FunctionName"]
    ]


def test_destroying_a_stack_sends_its_custom_resources_delete(lambdas):
    lambdas["project"].cdk(lambdas["url"], "destroy", "Functions", "--force")
    recorded = lambdas["session"].client("ssm").get_parameter(Name="/recorded/Delete")["Parameter"]["Value"]
    assert json.loads(recorded)["Greeting"] == "hello"


def test_a_node_function_needing_a_client_the_emulator_lacks_fails_saying_how_to_add_it(lambdas):
    session = lambdas["session"]
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    role = session.client("iam").create_role(RoleName="needs-route53", AssumeRolePolicyDocument=json.dumps(trust))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr(
            "index.js", 'const { Route53 } = require("@aws-sdk/client-route-53");\nexports.handler = async () => 1;\n'
        )
    session.client("lambda").create_function(
        FunctionName="needs-route53",
        Runtime="nodejs22.x",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": code.getvalue()},
    )
    error, payload = _invoke(session, "needs-route53", {})
    assert error == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    message = payload["errorMessage"]
    assert "Cannot find module '@aws-sdk/client-route-53'" in message
    assert "Lambda function needs-route53 needs it" in message and "npm install --prefix" in message


def _ensure_in_another_process(cache: str, ready: Any) -> None:  # pragma: no cover - runs in a child process
    os.environ["XDG_CACHE_HOME"] = cache
    from sm_constructs.local.aws.awslambda import NodeSdk

    ready.wait()
    NodeSdk(say=lambda _message: None).ensure("f")


def test_emulators_starting_together_install_the_node_sdk_once(tmp_path, monkeypatch):
    """Two emulators on one machine that need the runtime's SDK at once share one install: the second waits
    for the first's ``npm ci`` instead of running its own in the same directory."""
    log = tmp_path / "npm.log"
    npm = tmp_path / "bin" / "npm"
    npm.parent.mkdir()
    npm.write_text(f"#!/bin/sh\necho start >> {log}\nsleep 1\necho end >> {log}\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{npm.parent}{os.pathsep}{os.environ['PATH']}")
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    children = [
        context.Process(target=_ensure_in_another_process, args=(str(tmp_path / "cache"), ready)) for _ in range(2)
    ]
    for child in children:
        child.start()
    ready.set()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0]
    assert log.read_text().split() == ["start", "end"]
