"""Stack updates in the emulator as the CDK CLI drives them on AWS (moto in this process, with the
emulator's CloudFormation plug-ins), the container path contract for job scripts, and how ``sm-local``
finds a CDK CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sm_constructs.local.aws import cloudformation
from sm_constructs.local.cli.project import cdk_cli_version, find_cdk

ROOT = Path(__file__).resolve().parent.parent
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _template(prefix: str, *, extra_topic: bool = False) -> str:
    """Shaped like a CDK stack: the BootstrapVersion SSM parameter, a role and a managed policy."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b/{prefix}*"}],
    }
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "Policy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": document, "Roles": [{"Ref": "Role"}]},
        },
    }
    if extra_topic:
        resources["Topic"] = {"Type": "AWS::SNS::Topic"}
    parameters = {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/v"}}
    return json.dumps({"Parameters": parameters, "Resources": resources})


@pytest.fixture(scope="module")
def aws():
    cloudformation.install()
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("ssm").put_parameter(Name="/cdk-bootstrap/v", Value="30", Type="String")
        yield session


def _policy_resources(iam) -> list[str]:
    (policy,) = iam.list_policies(Scope="Local")["Policies"]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
    return [s["Resource"] for s in version["PolicyVersion"]["Document"]["Statement"]]


def test_change_sets_update_a_stack_as_the_cdk_cli_runs_them(aws):
    cfn, iam = aws.client("cloudformation"), aws.client("iam")
    name = "cdk-deploy-change-set"
    cfn.create_change_set(StackName="App", ChangeSetName=name, TemplateBody=_template("raw/"), ChangeSetType="CREATE")
    cfn.execute_change_set(StackName="App", ChangeSetName=name)

    # the CLI's next deploy: delete the old change set (gone after execution: no error), wait for it
    # to be reported missing (ChangeSetNotFound), then create and execute an UPDATE reusing parameters
    cfn.delete_change_set(StackName="App", ChangeSetName=name)
    with pytest.raises(ClientError) as missing:
        cfn.describe_change_set(StackName="App", ChangeSetName=name)
    assert missing.value.response["Error"]["Code"] == "ChangeSetNotFound"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404  # as botocore's model says
    cfn.create_change_set(
        StackName="App",
        ChangeSetName=name,
        TemplateBody=_template("models/", extra_topic=True),
        ChangeSetType="UPDATE",
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    cfn.execute_change_set(StackName="App", ChangeSetName=name)
    assert cfn.describe_stacks(StackName="App")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    resources = {r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName="App")["StackResourceSummaries"]}
    assert resources == {"Role", "Policy", "Topic"}
    assert _policy_resources(iam) == ["arn:aws:s3:::b/models/*"]  # a new default version, in place
    assert len(iam.list_policies(Scope="Local")["Policies"]) == 1

    # --method=direct: UpdateStack with the previous (defaulted) parameter value
    cfn.update_stack(
        StackName="App",
        TemplateBody=_template("evaluation/"),
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    assert _policy_resources(iam) == ["arn:aws:s3:::b/evaluation/*"]

    # cdk destroy: the policy is detached and deleted before its role
    cfn.delete_stack(StackName="App")
    (summary,) = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "App"]
    assert summary["StackStatus"] == "DELETE_COMPLETE"
    assert iam.list_roles()["Roles"] == [] and iam.list_policies(Scope="Local")["Policies"] == []


def test_a_role_s_trust_and_inline_policies_change_in_place(aws):
    cfn, iam = aws.client("cloudformation"), aws.client("iam")

    def template(service: str, inline: str) -> str:
        trust = json.loads(json.dumps(TRUST))
        trust["Statement"][0]["Principal"]["Service"] = service
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": inline, "Resource": "*"}]}
        role = {"AssumeRolePolicyDocument": trust, "Policies": [{"PolicyName": "p", "PolicyDocument": policy}]}
        return json.dumps({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": role}}})

    cfn.create_stack(StackName="Roles", TemplateBody=template("sagemaker.amazonaws.com", "s3:GetObject"))
    cfn.update_stack(StackName="Roles", TemplateBody=template("states.amazonaws.com", "s3:PutObject"))
    (role,) = iam.list_roles()["Roles"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == "states.amazonaws.com"
    inline = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="p")["PolicyDocument"]
    assert inline["Statement"][0]["Action"] == "s3:PutObject"
    cfn.delete_stack(StackName="Roles")


def test_a_type_the_emulator_adds_answers_moto_from_its_declaration():
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    from sm_constructs.local import patches

    class Group(cloudformation.ResourceModel):
        TYPE = "AWS::SageMaker::ModelPackageGroup"
        NAME_PROPERTY = "ModelPackageGroupName"
        ATTRIBUTES = {"ModelPackageGroupArn": "arn"}
        arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"

    assert (Group.cloudformation_type(), Group.cloudformation_name_type()) == (Group.TYPE, "ModelPackageGroupName")
    assert Group.has_cfn_attr("ModelPackageGroupArn") and not Group.has_cfn_attr("ModelPackageGroupName")
    assert Group().get_cfn_attribute("ModelPackageGroupArn") == Group.arn
    with pytest.raises(UnformattedGetAttTemplateException):  # moto's error for an invalid Fn::GetAtt
        Group().get_cfn_attribute("ModelPackageGroupName")
    generated = patches.Change("Stack-Group-ABC", {"Properties": {}}, "123456789012", "us-east-1", "Group")
    assert Group.named(generated) == {"ModelPackageGroupName": "Stack-Group-ABC"}
    given = patches.Change("Stack-Group-ABC", {"Properties": {"ModelPackageGroupName": "g"}}, "1", "r", "Group")
    assert Group.named(given) == {"ModelPackageGroupName": "g"}


def test_change_set_stacks_export_and_import_values_as_cloudformation_allows(aws):
    """Lake exports its bucket's ARN, Training imports it (both by change sets, as the CDK CLI deploys);
    while imported, the export can neither be removed nor Lake deleted (Template Reference, Fn::ImportValue)."""
    cfn, s3 = aws.client("cloudformation"), aws.client("s3")
    export = "Lake:ExportsOutputFnGetAttLakeArn"

    def deploy(stack: str, template: dict, kind: str = "CREATE") -> dict:
        cfn.create_change_set(
            StackName=stack, ChangeSetName="cs", TemplateBody=json.dumps(template), ChangeSetType=kind
        )
        cfn.execute_change_set(StackName=stack, ChangeSetName="cs")
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]

    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "lake-x"}}
    lake = {
        "Resources": {"Lake": bucket},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Lake", "Arn"]}, "Export": {"Name": export}}},
    }
    assert deploy("Lake", lake)["StackStatus"] == "CREATE_COMPLETE"
    assert [(e["Name"], e["Value"]) for e in cfn.list_exports()["Exports"]] == [(export, "arn:aws:s3:::lake-x")]
    topic = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": {"Fn::Select": [5, {"Fn::Split": [":", {"Fn::ImportValue": export}]}]}},
    }
    training = {"Resources": {"Topic": topic}}
    assert deploy("Training", training)["StackStatus"] == "CREATE_COMPLETE"
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in aws.client("sns").list_topics()["Topics"]] == ["lake-x"]

    # a second stack cannot export the same name
    clash = {
        "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"O": {"Value": "v", "Export": {"Name": export}}},
    }
    other = deploy("Other", clash)
    assert other["StackStatus"] == "ROLLBACK_COMPLETE"
    assert export in other["StackStatusReason"] and "already exported by stack Lake" in other["StackStatusReason"]
    cfn.delete_stack(StackName="Other")

    # the imported export cannot be removed: the update is refused and Lake keeps it
    updated = deploy("Lake", {"Resources": {"Lake": bucket}}, kind="UPDATE")
    assert updated["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert updated["StackStatusReason"] == f"Export {export} cannot be deleted as it is in use by Training"
    assert [e["Name"] for e in cfn.list_exports()["Exports"]] == [export]

    # nor can Lake be deleted while Training imports it; after Training, it can
    cfn.delete_stack(StackName="Lake")
    refused = cfn.describe_stacks(StackName="Lake")["Stacks"][0]
    assert refused["StackStatus"] == "DELETE_FAILED"
    assert refused["StackStatusReason"] == f"Export {export} cannot be deleted as it is in use by Training"
    assert s3.head_bucket(Bucket="lake-x")
    cfn.delete_stack(StackName="Training")
    cfn.delete_stack(StackName="Lake")
    assert cfn.list_exports()["Exports"] == []
    assert not [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"] in ("Lake", "Training")]


@pytest.mark.parametrize("mapping", ["namespace", "python-only"])
def test_job_scripts_see_the_container_paths(tmp_path, monkeypatch, mapping):
    """A script with hard-coded ``/opt/ml/...`` paths reads and writes the job's directory, either way."""
    from sm_constructs.local.jobs.namespace import MAPPING_ENV
    from sm_constructs.local.jobs.runner import JobRunner

    monkeypatch.setenv(MAPPING_ENV, mapping)

    opt_ml = tmp_path / "opt" / "ml"
    (opt_ml / "processing" / "input").mkdir(parents=True)
    (opt_ml / "processing" / "input" / "a.csv").write_text("x\n1\n2\n")
    script = """
import glob, os, pathlib, shutil
rows = sum(1 for _ in open(glob.glob("/opt/ml/processing/input/*.csv")[0]))
os.makedirs("/opt/ml/processing/output/n", exist_ok=True)
pathlib.Path("/opt/ml/processing/output/n/rows.txt").write_text(str(rows))
shutil.copy("/opt/ml/processing/input/a.csv", "/opt/ml/processing/output/a.csv")
print(sorted(os.listdir("/opt/ml/processing/output")), os.path.exists("/opt/ml/processing/output/n/rows.txt"))
"""
    contract = JobRunner._contract(tmp_path)
    env = {**os.environ, **contract.env}
    argv = contract.command([sys.executable, "-c", script])
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["['a.csv',", "'n']", "True"]
    assert (opt_ml / "processing" / "output" / "n" / "rows.txt").read_text() == "3"
    assert not Path("/opt/ml/processing/output").exists()


def test_sm_local_finds_the_app_s_cdk_cli_or_says_which_it_fetches(tmp_path, monkeypatch):
    node_bin = ROOT / "node_modules" / ".bin"
    said: list[str] = []
    monkeypatch.delenv("SM_LOCAL_CDK", raising=False)
    # the app's own node_modules first
    (tmp_path / "node_modules" / ".bin").mkdir(parents=True)
    (tmp_path / "node_modules" / ".bin" / "cdk").write_text("")
    monkeypatch.setenv("PATH", f"{node_bin}{os.pathsep}/usr/bin:/bin")
    assert find_cdk(tmp_path, say=said.append) == [str(tmp_path / "node_modules" / ".bin" / "cdk")]
    # else cdk on PATH
    bare = tmp_path / "bare"
    bare.mkdir()
    assert find_cdk(bare, say=said.append) == [str(node_bin / "cdk")]
    assert said == []  # Node 22 from node_modules: nothing to say
    # else the tested version through npx, said so
    npx_only = tmp_path / "npx"
    npx_only.mkdir()
    for tool in ("node", "npx"):
        (npx_only / tool).symlink_to(node_bin / tool if (node_bin / tool).exists() else f"/usr/bin/{tool}")
    monkeypatch.setenv("PATH", str(npx_only))
    command = find_cdk(bare, say=said.append)
    assert command[-1] == f"aws-cdk@{cdk_cli_version()}" and "npx" in said[-1]
    assert cdk_cli_version() == json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    # no Node at all: how to get it
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(RuntimeError, match=r"needs Node\.js 22"):
        find_cdk(bare, say=said.append)
