import ast
import base64
import datetime as dt
import json
import re
import subprocess
import sys
import time

import pytest
from aws_cdk import CfnParameter
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match
from hypothesis import example, given, settings
from hypothesis import strategies as st
from iam_match import assert_allows, get_att_arn, role_ref, sagemaker_arn, service_arn
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._service_model import service_model
from sm_constructs._validation import ConstructValidationError
from sm_constructs.jobs.hosting import EndpointDeployment
from sm_constructs.lifecycle import AUTOSTOP_MARKER, autostop, autostop_script
from sm_constructs.network import MlVpc
from sm_constructs.notebook import DEFAULT_PLATFORM, MAX_SCRIPT_CHARS, LifecycleScript, NotebookInstance
from sm_constructs.roles import SageMakerExecutionRole
from sm_constructs.state_machine import MlStateMachine
from sm_constructs.storage import MlDataBucket

NOTEBOOK = "AWS::SageMaker::NotebookInstance"
LIFECYCLE = "AWS::SageMaker::NotebookInstanceLifecycleConfig"


def _deps(stack):
    return MlDataBucket(stack, "Data"), SageMakerExecutionRole(stack, "Exec")


@pytest.fixture(scope="module")
def built():
    app = new_app()
    stack = new_stack(app)
    data, role = _deps(stack)
    nb = NotebookInstance(stack, "Notebook", data_bucket=data, execution_role=role)  # stops after 60 idle minutes
    sm = MlStateMachine(stack, "Sm", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    sm.grant_start_and_read(nb)
    EndpointDeployment.from_endpoint_name(stack, "Churn", "churn").grant_invoke(nb)
    add_nag_packs(app)
    app.synth()  # raises on any unacknowledged cdk-nag finding (AwsSolutions, HIPAA, NIST 800-53 R5, PCI DSS)
    return nb, stack


@pytest.fixture(scope="module")
def template(built):
    return template_of(built[1])


def _notebook(template):
    (resource,) = template.find_resources(NOTEBOOK).values()
    return resource


def _start_script(template):
    (config,) = template.find_resources(LIFECYCLE).values()
    (start,) = config["Properties"]["OnStart"]
    return start["Content"], base64.b64decode(start["Content"]).decode()


# ---- secure defaults ----------------------------------------------------------------------
def test_secure_defaults(template):
    template.has_resource_properties(
        NOTEBOOK,
        {
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
            "PlatformIdentifier": DEFAULT_PLATFORM,
            "VolumeSizeInGB": 20,
            "InstanceType": "ml.t3.medium",
            "NotebookInstanceName": "test-notebook",
            "LifecycleConfigName": {"Fn::GetAtt": [Match.any_value(), "NotebookInstanceLifecycleConfigName"]},
        },
    )


def test_default_platform_is_the_newest_al2023_cloudformation_accepts():
    # SageMaker's API model lists the platforms; the default is an Amazon Linux 2023 one it accepts.
    model = service_model("sagemaker")
    pattern = model.shape_for("CreateNotebookInstanceInput").members["PlatformIdentifier"].metadata["pattern"]
    assert re.fullmatch(pattern, DEFAULT_PLATFORM) and DEFAULT_PLATFORM.startswith("notebook-al2023-")


def test_volume_encrypted_with_own_rotating_key(template):
    key_ref = _notebook(template)["Properties"]["KmsKeyId"]["Ref"]
    key = template.to_json()["Resources"][key_ref]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    assert key_ref.startswith("NotebookKey")


def test_in_an_isolated_subnet_of_its_own_vpc(template):
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    subnet_ref = _notebook(template)["Properties"]["SubnetId"]["Ref"]
    assert template.to_json()["Resources"][subnet_ref]["Type"] == "AWS::EC2::Subnet"
    assert "Private" in subnet_ref


def test_security_group_allows_only_https_out(template):
    (group,) = [
        g["Properties"]
        for g in template.find_resources("AWS::EC2::SecurityGroup").values()
        if g["Properties"]["GroupDescription"].startswith("Notebook ")
    ]
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to VPC endpoints and S3",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupIngress" not in group
    (group_id,) = _notebook(template)["Properties"]["SecurityGroupIds"]
    assert group_id["Fn::GetAtt"][0].startswith("NotebookSecurityGroup")


def test_notebook_waits_for_its_permissions(template):
    depends = _notebook(template)["DependsOn"]
    policies = [k for k in template.find_resources("AWS::IAM::ManagedPolicy") if k.startswith("NotebookRole")]
    assert policies and set(policies) <= set(depends)


# ---- auto-stop ----------------------------------------------------------------------------
def test_autostop_is_embedded_and_valid_bash_and_python(template, tmp_path):
    encoded, script = _start_script(template)
    assert len(encoded) <= MAX_SCRIPT_CHARS
    assert script.startswith("#!/bin/bash\n")
    assert "--idle-minutes 60" in script and "systemctl enable --now sm-autostop.timer" in script
    # nothing is fetched: no downloaders and no URL other than the local Jupyter server
    for fetcher in ("curl", "wget", "pip install", "github", "git clone"):
        assert fetcher not in script
    assert set(re.findall(r"https?://[^\s\"']+", script)) == {"https://localhost:8443/api/sessions"}
    path = tmp_path / "on_start.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    checker = script.split(f"<<'{AUTOSTOP_MARKER}'\n", 1)[1].split(f"\n{AUTOSTOP_MARKER}\n", 1)[0]
    compile(checker, "autostop.py", "exec")
    # it may run under the notebook's system Python: no syntax newer than 3.7, no project imports
    ast.parse(checker, feature_version=(3, 7))
    assert "sm_constructs" not in checker
    (tmp_path / "autostop.py").write_text(checker)
    usage = subprocess.run(
        [sys.executable, str(tmp_path / "autostop.py"), "--help"], check=True, capture_output=True, text=True
    )
    assert "--idle-minutes" in usage.stdout
    assert "import boto3" in checker and "stop_notebook_instance" in checker


def test_autostop_setup_runs_before_the_users_script():
    script = autostop_script(30) + "\n" + "exit 0\n"
    assert script.index("sm-autostop.timer") < script.index("exit 0")


def test_background_script_returns_at_once_and_runs_to_the_end(tmp_path):
    done, log = tmp_path / "done", tmp_path / "background.log"
    script = LifecycleScript.in_background(f"sleep 2\necho finished > {done}\n", log_file=str(log))
    path = tmp_path / "start.sh"
    path.write_text(script.content)
    started = time.monotonic()
    subprocess.run(["bash", str(path)], check=True, timeout=10)
    assert time.monotonic() - started < 1.5 and not done.exists()
    for _ in range(50):
        if done.exists():
            break
        time.sleep(0.1)
    assert done.read_text() == "finished\n"
    with pytest.raises(
        ConstructValidationError,
        match="text='SM_CONSTRUCTS_BACKGROUND' is invalid: the script must not contain this line",
    ):
        LifecycleScript.in_background("echo\nSM_CONSTRUCTS_BACKGROUND\n")


def test_autostop_idle_logic(tmp_path):
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    state = tmp_path / "dir" / "state"
    busy = [{"kernel": {"execution_state": "busy", "last_activity": "2026-01-01T00:00:00.000Z"}}]
    idle = [{"kernel": {"execution_state": "idle", "last_activity": "2026-01-01T11:00:00.000000Z"}}]
    assert autostop.idle_since(busy, now, state) == now
    assert autostop.idle_since(idle, now, state) == dt.datetime(2026, 1, 1, 11, 0, tzinfo=dt.UTC)
    assert autostop.idle_since([], now, state) == now  # first check without sessions starts the clock
    later = now + dt.timedelta(hours=2)
    assert autostop.idle_since([], later, state) == now
    assert autostop.idle_since(busy, later, state) == later and not state.exists()  # activity resets it


def test_autostop_main_stops_only_when_idle_long_enough(tmp_path, monkeypatch):
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "ResourceName": "explore",
                "ResourceArn": "arn:aws:sagemaker:eu-west-1:111111111111:notebook-instance/explore",
            }
        )
    )
    stopped = []
    monkeypatch.setattr(autostop, "METADATA", metadata)
    monkeypatch.setattr(autostop, "STATE", tmp_path / "state")
    monkeypatch.setattr(autostop, "stop_notebook", lambda name, region: stopped.append((name, region)))
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    sessions = [{"kernel": {"execution_state": "idle", "last_activity": old}}]
    monkeypatch.setattr(autostop, "fetch_sessions", lambda: sessions)
    autostop.main(["--idle-minutes", "120"])
    assert stopped == []
    autostop.main(["--idle-minutes", "60", "--dry-run"])
    assert stopped == []
    autostop.main(["--idle-minutes", "60"])
    assert stopped == [("explore", "eu-west-1")]


# ---- the notebook's role ------------------------------------------------------------------
def test_role_is_its_own_and_scoped(template):
    own = role_ref("NotebookRole")
    jobs = [sagemaker_arn(f"{kind}/test-notebook-*") for kind in ("processing-job", "training-job", "transform-job")]
    verbs = [
        f"sagemaker:{v}{k}Job" for v in ("Create", "Describe", "Stop") for k in ("Processing", "Training", "Transform")
    ]
    assert_allows(template, ["sagemaker:AddTags", *verbs], jobs, roles=own)
    assert_allows(
        template,
        ["sagemaker:ListProcessingJobs", "sagemaker:ListTrainingJobs", "sagemaker:ListTransformJobs"],
        "*",
        roles=own,
    )
    assert_allows(
        template,
        ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance"],
        sagemaker_arn("notebook-instance/test-notebook"),
        roles=own,
    )
    own_logs = service_arn("logs", "log-group:/aws/sagemaker/NotebookInstances")
    own_streams = service_arn("logs", "log-group:/aws/sagemaker/NotebookInstances:log-stream:*")
    assert_allows(
        template,
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        [own_logs, own_streams],
        roles=own,
    )
    job_logs = [
        service_arn("logs", f"log-group:/aws/sagemaker/{group}{stream}")
        for group in ("ProcessingJobs", "TrainingJobs", "TransformJobs")
        for stream in ("", ":log-stream:*")
    ]
    assert_allows(
        template, ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"], job_logs, roles=own
    )
    template.resource_count_is("AWS::IAM::Policy", 0)
    with_managed = template.find_resources("AWS::IAM::Role", {"Properties": {"ManagedPolicyArns": Match.any_value()}})
    # no AWS-managed policy on any role of ours (aws-cdk's provider role for closing the default group has one)
    assert all(k.startswith("CustomVpcRestrictDefaultSG") for k in with_managed), sorted(with_managed)
    role_id = _notebook(template)["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert role_id.startswith("NotebookRole")


def test_pass_role_only_execution_role_only_to_sagemaker(template):
    assert_allows(
        template,
        ["iam:PassRole"],
        get_att_arn("Exec"),
        {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        roles=role_ref("NotebookRole"),
    )
    for policy in template.find_resources("AWS::IAM::ManagedPolicy").values():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "iam:PassRole" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]):
                assert "Condition" in s and s["Resource"] != "*", s


def test_data_access_through_bucket_prefix_grants(template):
    bucket = get_att_arn("DataBucket")

    def under(prefix):
        return {"Fn::Join": ["", [bucket, f"/{prefix}*"]]}

    own = role_ref("NotebookRole")
    read = ["s3:GetBucket*", "s3:GetObject*", "s3:List*"]
    write = ["s3:Abort*", "s3:DeleteObject*", "s3:PutObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention"]
    write += ["s3:PutObjectTagging", "s3:PutObjectVersionTagging"]
    assert_allows(
        template,
        sorted(read + write),
        [bucket, *(under(p) for p in ("batch/", "code/", "processed/", "raw/"))],
        roles=own,
    )
    assert_allows(template, read, [bucket, under("evaluation/"), under("models/")], roles=own)
    text = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy", {"Properties": {"Roles": own}}))
    assert "checkpoints/" not in text


def test_pipeline_and_endpoint_grants(template):
    own = role_ref("NotebookRole")
    sm = {"Ref": Match.string_like_regexp("^Sm")}
    assert_allows(
        template, ["states:DescribeStateMachine", "states:ListExecutions", "states:StartExecution"], sm, roles=own
    )
    executions = {"Fn::Join": ["", Match.array_with([":execution:", ":*"])]}
    assert_allows(
        template,
        ["states:DescribeExecution", "states:DescribeStateMachineForExecution", "states:GetExecutionHistory"],
        executions,
        roles=own,
    )
    assert_allows(
        template,
        ["sagemaker:InvokeEndpoint"],
        sagemaker_arn("endpoint/churn"),
        roles=own,
    )
    # the notebook created its VPC, so the Step Functions endpoint was added for the pipeline grant
    services = json.dumps(
        [e["Properties"]["ServiceName"] for e in template.find_resources("AWS::EC2::VPCEndpoint").values()]
    )
    assert ".states" in services


def test_nag_and_cfn_lint_clean(template):
    # the module fixture's synth ran the four cdk-nag packs
    assert cfn_lint(template.to_json()) == []


# ---- overrides ----------------------------------------------------------------------------
def test_overrides(tmp_path):
    stack = new_stack()
    data, execution = _deps(stack)
    net = MlVpc(stack, "Net")
    key = kms.Key(stack, "VolumeKey", enable_key_rotation=True)
    role = iam.Role(stack, "MyRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    start = tmp_path / "start.sh"
    start.write_text("#!/bin/bash\necho from-file\n")
    nb = NotebookInstance(
        stack,
        "Nb",
        data_bucket=data,
        execution_role=execution,
        role=role,
        vpc=net.vpc,
        subnet_selection=ec2.SubnetSelection(subnet_group_name="Private"),
        https_egress_to=[ec2.Peer.ipv4("10.42.0.0/16"), ec2.Peer.prefix_list("pl-63a5400a")],
        encryption_key=key,
        instance_type="ml.m5.xlarge",
        volume_size_gb=100,
        root_access=True,
        direct_internet_access=True,
        platform_identifier="notebook-al2-v3",
        on_start=LifecycleScript.from_file(start),
        on_create=LifecycleScript.from_inline("echo hi"),
        default_code_repository="https://github.com/example/repo.git",
        notebook_instance_name="explore",
        job_name_prefix="churn",
        data_access={"raw/": "read"},
        idle_timeout_minutes=None,
    )
    t = template_of(stack)
    t.has_resource_properties(
        NOTEBOOK,
        {
            "RootAccess": "Enabled",
            "DirectInternetAccess": "Enabled",
            "VolumeSizeInGB": 100,
            "InstanceType": "ml.m5.xlarge",
            "PlatformIdentifier": "notebook-al2-v3",
            "NotebookInstanceName": "explore",
            "DefaultCodeRepository": "https://github.com/example/repo.git",
            "KmsKeyId": {"Ref": stack.resolve(stack.get_logical_id(key.node.default_child))},
            "RoleArn": {"Fn::GetAtt": [stack.resolve(stack.get_logical_id(role.node.default_child)), "Arn"]},
        },
    )
    t.resource_count_is("AWS::EC2::VPC", 1)
    t.resource_count_is("AWS::KMS::Key", 3)  # data bucket, flow logs, the given volume key
    assert nb.network is None and nb.role.role_arn == role.role_arn
    (config,) = t.find_resources(LIFECYCLE).values()
    assert base64.b64decode(config["Properties"]["OnStart"][0]["Content"]).decode() == start.read_text()
    assert base64.b64decode(config["Properties"]["OnCreate"][0]["Content"]).decode() == "echo hi"
    assert config["Properties"]["NotebookInstanceLifecycleConfigName"] == "explore-lifecycle"
    (group,) = [
        g["Properties"]
        for g in t.find_resources("AWS::EC2::SecurityGroup").values()
        if g["Properties"]["GroupDescription"].startswith("Notebook ")
    ]
    assert [r["CidrIp"] for r in group["SecurityGroupEgress"]] == ["10.42.0.0/16"]
    # prefix-list rules are rendered as their own resources
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupEgress", {"DestinationPrefixListId": "pl-63a5400a", "FromPort": 443}
    )
    # grants to a plain iam.Role land in its DefaultPolicy
    jobs = [sagemaker_arn(f"{kind}/churn-*") for kind in ("processing-job", "training-job", "transform-job")]
    verbs = [
        f"sagemaker:{v}{k}Job" for v in ("Create", "Describe", "Stop") for k in ("Processing", "Training", "Transform")
    ]
    assert_allows(t, ["sagemaker:AddTags", *verbs], jobs, policy_type="AWS::IAM::Policy", roles=role_ref("MyRole"))
    bucket = get_att_arn("DataBucket")
    assert_allows(
        t,
        ["s3:GetBucket*", "s3:GetObject*", "s3:List*"],
        [bucket, {"Fn::Join": ["", [bucket, "/raw/*"]]}],
        policy_type="AWS::IAM::Policy",
        roles=role_ref("MyRole"),
    )
    assert "processed/*" not in json.dumps(t.find_resources("AWS::IAM::Policy"))


def test_notebook_name_known_only_at_deploy_time():
    stack = new_stack()
    data, execution = _deps(stack)
    name = CfnParameter(stack, "NotebookName").value_as_string
    nb = NotebookInstance(
        stack, "Nb", data_bucket=data, execution_role=execution, notebook_instance_name=name, idle_timeout_minutes=30
    )
    assert nb.job_name_prefix == "test-nb"
    t = template_of(stack)
    t.has_resource_properties(NOTEBOOK, {"NotebookInstanceName": {"Ref": "NotebookName"}})
    t.has_resource_properties(LIFECYCLE, {"NotebookInstanceLifecycleConfigName": "test-nb-lifecycle"})
    own = sagemaker_arn("notebook-instance/")  # the self-stop statement names the deploy-time notebook
    own["Fn::Join"][1].append({"Ref": "NotebookName"})
    assert_allows(t, ["sagemaker:DescribeNotebookInstance", "sagemaker:StopNotebookInstance"], own)


def test_no_lifecycle_config_without_scripts():
    """Auto-stop turned off explicitly and no scripts: nothing to configure."""
    stack = new_stack()
    data, execution = _deps(stack)
    NotebookInstance(stack, "Nb", data_bucket=data, execution_role=execution, idle_timeout_minutes=None)
    t = template_of(stack)
    t.resource_count_is(LIFECYCLE, 0)
    assert "LifecycleConfigName" not in _notebook(t)["Properties"]


def test_codecommit_repository_adds_its_endpoint():
    stack = new_stack()
    data, execution = _deps(stack)
    url = "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/churn"
    NotebookInstance(stack, "Nb", data_bucket=data, execution_role=execution, default_code_repository=url)
    t = template_of(stack)
    services = json.dumps([e["Properties"]["ServiceName"] for e in t.find_resources("AWS::EC2::VPCEndpoint").values()])
    assert ".git-codecommit" in services


def test_endpoints_grant_invoke_to_the_notebook():
    """An endpoint by ARN, by a deploy-time name, and one defined in the app: each grants the notebook."""
    stack = new_stack()
    data, execution = _deps(stack)
    nb = NotebookInstance(stack, "Nb", data_bucket=data, execution_role=execution)
    for grant in (
        EndpointDeployment.from_endpoint_arn(
            stack, "Fraud", "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/fraud"
        ).grant_invoke(nb),
        EndpointDeployment.from_endpoint_name(
            stack, "Param", CfnParameter(stack, "EndpointName").value_as_string
        ).grant_invoke(nb),
    ):
        assert grant.success
    by_token = sagemaker_arn("endpoint/")
    by_token["Fn::Join"][1].append({"Ref": "EndpointName"})
    assert_allows(
        template_of(stack),
        ["sagemaker:InvokeEndpoint"],
        ["arn:aws:sagemaker:eu-west-1:111111111111:endpoint/fraud", by_token],
        roles=role_ref("NbRole"),
    )


# ---- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"instance_type": "t3.medium"},
            r"instance_type='t3.medium' is invalid: must be one of \d+ values; nearest: 'ml.t3.medium'",
        ),
        (
            {"volume_size_gb": 4},
            r"volume_size_gb=4 is invalid: must be between 5 and 16384 \(SageMaker CreateNotebookInstanceInput",
        ),
        ({"volume_size_gb": 16385}, r"volume_size_gb=16385 is invalid"),
        ({"idle_timeout_minutes": 4}, r"idle_timeout_minutes=4 is invalid: must be between 5 and"),
        (
            {"on_start": LifecycleScript("x" * 12289), "idle_timeout_minutes": None},
            r"on_start='<16388 chars base64>' is invalid: SageMaker allows 16384",
        ),
        ({"on_create": LifecycleScript("")}, r"on_create='' is invalid: a lifecycle script must not be empty"),
        (
            {"job_name_prefix": "x" * 51},
            r"job_name_prefix='x+' is invalid: job name prefix is 51 chars; use at most 50",
        ),
        ({"job_name_prefix": "bad_prefix"}, r"job_name_prefix='bad_prefix' is invalid: job name prefix must match"),
        ({"job_name_prefix": "Churn"}, r"job_name_prefix='Churn' is invalid: use lower case"),
        ({"notebook_instance_name": "my_notebook"}, r"notebook_instance_name='my_notebook' is invalid: [^\n]*$"),
        (
            {"platform_identifier": "notebook-al3-v9"},
            r"platform_identifier='notebook-al3-v9' is invalid: must match \(notebook-al1-v1\|",
        ),
        (
            {"default_code_repository": "http://example.com/r.git"},
            r"default_code_repository=.* use an https:// git URL",
        ),
        (
            {"default_code_repository": "git@github.com:x/y.git"},
            r"default_code_repository='git@github.com:x/y.git' is invalid: must match https://",
        ),
        (
            {"default_code_repository": "https://github.com/example/repo.git"},
            r"default_code_repository and vpc conflict: .* no internet path",
        ),
        ({"data_access": {"/raw": "read"}}, r"data_access='/raw' is invalid: must be a key prefix"),
        ({"data_access": {"raw/": "admin"}}, r"data_access\['raw/'\]='admin' is invalid: must be one of"),
        (
            {"subnet_selection": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)},
            r"subnet_selection and vpc conflict",
        ),
    ],
)
def test_bad_input(kwargs, match):
    stack = new_stack()
    data, execution = _deps(stack)
    with pytest.raises(ConstructValidationError, match=r"^NotebookInstance 'Test/Nb': (.|\n)*" + match):
        NotebookInstance(stack, "Nb", data_bucket=data, execution_role=execution, **kwargs)
    assert stack.node.try_find_child("Nb") is None  # nothing was created


def test_autostop_counts_towards_the_script_limit():
    stack = new_stack()
    data, execution = _deps(stack)
    user_script = LifecycleScript("x" * (MAX_SCRIPT_CHARS * 3 // 4 - 300))
    NotebookInstance(
        stack, "Ok", data_bucket=data, execution_role=execution, on_start=user_script, idle_timeout_minutes=None
    )
    with pytest.raises(ConstructValidationError, match=r"on_start=.*including the auto-stop setup"):
        NotebookInstance(
            stack, "Nb", data_bucket=data, execution_role=execution, on_start=user_script, idle_timeout_minutes=30
        )


def test_subnet_selection_that_selects_nothing():
    stack = new_stack()
    data, execution = _deps(stack)
    net = MlVpc(stack, "Net")
    with pytest.raises(ConstructValidationError, match=r"subnet_selection=.* selects no subnets of the vpc"):
        NotebookInstance(
            stack,
            "Nb",
            data_bucket=data,
            execution_role=execution,
            vpc=net.vpc,
            subnet_selection=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )


def test_all_bad_input_reported_at_once():
    stack = new_stack()
    data, execution = _deps(stack)
    with pytest.raises(ConstructValidationError) as err:
        NotebookInstance(
            stack,
            "Nb",
            data_bucket=data,
            execution_role=execution,
            instance_type="t3.medium",
            volume_size_gb=2,
            idle_timeout_minutes=3,
            on_start=LifecycleScript("x" * 13000),
            job_name_prefix="x" * 60,
        )
    assert str(err.value).startswith("NotebookInstance 'Test/Nb': 5 problems")
    assert [p.split("=")[0] for p in err.value.problems] == [
        "instance_type",
        "volume_size_gb",
        "idle_timeout_minutes",
        "job_name_prefix",
        "on_start",
    ]


@pytest.fixture(scope="module")
def shared_deps():
    stack = new_stack()
    return stack, *_deps(stack)


_NOTEBOOK_TYPES = service_model("sagemaker").shape_for("CreateNotebookInstanceInput").members["InstanceType"].enum


@settings(max_examples=40, deadline=None)
@example(size=0, itype=("{Token[", False))  # text like a token's marker is not a token (aws-cdk's token regex)
@given(
    size=st.integers(min_value=-10, max_value=20000),
    itype=st.one_of(
        st.sampled_from(_NOTEBOOK_TYPES).map(lambda t: (t, True)),
        st.text(max_size=20).filter(lambda t: not t.startswith("ml.")).map(lambda t: (t, False)),
    ),
)
def test_instance_type_and_volume_rules_match_sagemakers(shared_deps, size, itype):
    """Every instance type SageMaker's API lists is accepted, anything not ``ml.*`` is refused,
    and the volume size range is the API's (5-16384 GB)."""
    instance_type, valid_type = itype
    stack, data, execution = shared_deps
    # idle_timeout_minutes=1 is always wrong, so the construct never gets past validation (fast)
    with pytest.raises(ConstructValidationError) as err:
        NotebookInstance(
            stack,
            "Nb",
            data_bucket=data,
            execution_role=execution,
            instance_type=instance_type,
            volume_size_gb=size,
            idle_timeout_minutes=1,
        )
    fields = {p.split("=")[0] for p in err.value.problems}
    assert ("instance_type" in fields) == (not valid_type)
    assert ("volume_size_gb" in fields) == (not 5 <= size <= 16384)
