import base64
import json
import subprocess
import sys

import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match
from hypothesis import given, settings
from hypothesis import strategies as st
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.network import MlVpc
from sm_constructs.notebook import DEFAULT_PLATFORM, LifecycleScript, NotebookInstance, autostop_script
from sm_constructs.roles import SageMakerExecutionRole
from sm_constructs.state_machine import MlStateMachine
from sm_constructs.storage import MlDataBucket


def _deps(stack):
    return MlDataBucket(stack, "Data"), SageMakerExecutionRole(stack, "Exec")


@pytest.fixture(scope="module")
def built():
    app = new_app()
    stack = new_stack(app)
    data, role = _deps(stack)
    nb = NotebookInstance(stack, "Notebook", data_bucket=data, execution_role=role, idle_timeout_minutes=60)
    sm = MlStateMachine(stack, "Sm", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    nb.grant_start_pipeline(sm.state_machine)
    nb.grant_invoke_endpoint("churn")
    add_nag_packs(app)
    app.synth()  # raises on unacknowledged cdk-nag findings
    return nb, stack, sm


@pytest.fixture(scope="module")
def template(built):
    return template_of(built[1])


def test_secure_defaults(template):
    template.has_resource_properties(
        "AWS::SageMaker::NotebookInstance",
        {
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
            "KmsKeyId": Match.any_value(),
            "SubnetId": Match.any_value(),
            "SecurityGroupIds": [Match.any_value()],
            "PlatformIdentifier": DEFAULT_PLATFORM,
            "VolumeSizeInGB": 20,
            "InstanceType": "ml.t3.medium",
        },
    )
    template.resource_count_is("AWS::EC2::NatGateway", 0)


def test_security_group_allows_only_https_out(template):
    groups = [
        g["Properties"]
        for g in template.find_resources("AWS::EC2::SecurityGroup").values()
        if "Notebook" in g["Properties"]["GroupDescription"]
    ]
    (group,) = groups
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


def test_autostop_is_embedded_and_valid(template, tmp_path):
    (config,) = template.find_resources("AWS::SageMaker::NotebookInstanceLifecycleConfig").values()
    (start,) = config["Properties"]["OnStart"]
    script = base64.b64decode(start["Content"]).decode()
    assert len(start["Content"]) <= 16384
    assert "--idle-minutes 60" in script
    for fetcher in ("curl", "wget", "pip install", "github"):
        assert fetcher not in script
    path = tmp_path / "on_start.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    checker = script.split("<<'SM_CONSTRUCTS_AUTOSTOP'\n", 1)[1].split("SM_CONSTRUCTS_AUTOSTOP", 1)[0]
    compile(checker, "autostop.py", "exec")


def test_autostop_idle_logic(tmp_path):
    import datetime as dt

    from sm_constructs.lifecycle import autostop

    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    state = tmp_path / "state"
    busy = [{"kernel": {"execution_state": "busy", "last_activity": "2026-01-01T00:00:00.000Z"}}]
    idle = [{"kernel": {"execution_state": "idle", "last_activity": "2026-01-01T11:00:00.000Z"}}]
    assert autostop.idle_since(busy, now, state) == now
    assert autostop.idle_since(idle, now, state) == dt.datetime(2026, 1, 1, 11, 0, tzinfo=dt.UTC)
    assert autostop.idle_since([], now, state) == now  # first time without sessions: starts the clock
    later = now + dt.timedelta(hours=2)
    assert autostop.idle_since([], later, state) == now


def test_role_is_scoped(template):
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    text = json.dumps(policies)
    assert "sagemaker:CreateProcessingJob" in text and "processing-job/test-notebook-*" in text
    assert "iam:PassRole" in text and "sagemaker.amazonaws.com" in text
    assert "sagemaker:StopNotebookInstance" in text
    template.resource_count_is("AWS::IAM::Policy", 0)
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"] or all(
            "aws:policy" not in json.dumps(a) for a in role["Properties"]["ManagedPolicyArns"]
        )


def test_nag_and_cfn_lint_clean(template):
    # the fixture's synth ran the four cdk-nag packs
    assert cfn_lint(template.to_json()) == []
    text = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy"))
    assert "states:StartExecution" in text and "sagemaker:InvokeEndpoint" in text and "endpoint/churn" in text


def test_overrides():
    stack = new_stack()
    data, role = _deps(stack)
    net = MlVpc(stack, "Net")
    NotebookInstance(
        stack,
        "Nb",
        data_bucket=data,
        execution_role=role,
        vpc=net.vpc,
        instance_type="ml.m5.xlarge",
        volume_size_gb=100,
        root_access=True,
        direct_internet_access=True,
        on_create=LifecycleScript.from_inline("echo hi"),
        default_code_repository="https://github.com/example/repo.git",
        notebook_instance_name="explore",
    )
    t = template_of(stack)
    t.has_resource_properties(
        "AWS::SageMaker::NotebookInstance",
        {
            "RootAccess": "Enabled",
            "DirectInternetAccess": "Enabled",
            "VolumeSizeInGB": 100,
            "NotebookInstanceName": "explore",
            "DefaultCodeRepository": "https://github.com/example/repo.git",
        },
    )
    t.resource_count_is("AWS::EC2::VPC", 1)


def test_all_bad_input_reported_at_once():
    stack = new_stack()
    data, role = _deps(stack)
    with pytest.raises(ConstructValidationError) as err:
        NotebookInstance(
            stack,
            "Nb",
            data_bucket=data,
            execution_role=role,
            instance_type="t3.medium",
            volume_size_gb=2,
            idle_timeout_minutes=3,
            on_start=LifecycleScript("x" * 13000),
            job_name_prefix="x" * 60,
        )
    text = str(err.value)
    assert text.startswith("NotebookInstance 'Test/Nb': 5 problems")
    for part in (
        "instance_type='t3.medium'",
        "volume_size_gb=2",
        "idle_timeout_minutes=3",
        "on_start=",
        "job_name_prefix=",
    ):
        assert part in text


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=-5, max_value=20000),
    itype=st.sampled_from(["ml.t3.medium", "m5.large", "ml.x", "ml.c5.2xlarge"]),
)
def test_volume_and_instance_rules(size, itype):
    from sm_constructs._validation import Problems

    p = Problems("NotebookInstance", "x")
    p.int_range("volume_size_gb", size, 5, 16384)
    p.instance_type("instance_type", itype)
    assert bool(p) == (not 5 <= size <= 16384 or itype in ("m5.large", "ml.x"))


def test_autostop_script_size_fits():
    assert len(base64.b64encode(autostop_script(60).encode())) < 16384
    assert sys.version_info >= (3, 11)
