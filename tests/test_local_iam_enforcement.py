"""The emulator's enforcement, in process against moto's backends (no server, no deploy).

What it reads must be what is deployed: role policies (inline and the default version of each
managed policy), trust policies, bucket default keys and object keys, key policies, endpoint-config
and topic keys. A lookup that silently found nothing would let a call through.
"""

import json
import re

import boto3
import pytest
from moto import mock_aws

from sm_constructs.local.iam.calls import JOB_ACCESS
from sm_constructs.local.iam.enforcement import AccessDenied, Enforcer, PolicyStore

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def aws():
    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        yield session


def _role(aws, name, *, trust_service="sagemaker.amazonaws.com", inline=(), managed=()):
    iam = aws.client("iam")
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": trust_service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    for i, statement in enumerate(inline):
        iam.put_role_policy(RoleName=name, PolicyName=f"inline{i}", PolicyDocument=_doc(statement))
    for i, statement in enumerate(managed):
        policy = iam.create_policy(
            PolicyName=f"{name}-managed{i}", PolicyDocument=_doc({"Effect": "Deny", "Action": "*", "Resource": "*"})
        )
        # the default version is what counts: v2 replaces the deny-all v1
        iam.create_policy_version(PolicyArn=policy["Policy"]["Arn"], PolicyDocument=_doc(statement), SetAsDefault=True)
        iam.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
    return arn


def _enforcer():
    return Enforcer(PolicyStore(ACCOUNT), ACCOUNT)


def _values(role, **extra):
    return {"partition": "aws", "region": REGION, "account": ACCOUNT, "role": role, **extra}


def test_inline_and_default_managed_versions_are_read(aws):
    role = _role(
        aws,
        "Runner",
        inline=[{"Effect": "Allow", "Action": "sagemaker:ListTags", "Resource": "*"}],
        managed=[{"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": "*"}],
    )
    documents = PolicyStore(ACCOUNT).identity_policies(role)
    actions = sorted(s["Action"] for d in documents for s in d["Statement"])
    assert actions == ["sagemaker:CreateModel", "sagemaker:ListTags"]
    assert PolicyStore(ACCOUNT).identity_policies(f"arn:aws:iam::{ACCOUNT}:role/Missing") == []


def test_task_calls_are_checked_in_table_order_with_pass_role_condition(aws):
    execution = _role(aws, "Execution")
    machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m"
    granted = [
        {
            "Effect": "Allow",
            "Action": "sagemaker:CreateTrainingJob",
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/j*",
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": execution,
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
    ]
    role = _role(aws, "Machine", trust_service="states.amazonaws.com", inline=granted)
    with pytest.raises(AccessDenied) as denied:
        _enforcer().task(
            "arn:aws:states:::sagemaker:createTrainingJob.sync",
            {"TrainingJobName": "j1", "RoleArn": execution},
            role_arn=role,
            state_machine_arn=machine_arn,
            region=REGION,
        )
    assert denied.value.request.action == "iam:PassRole"  # passed to the wrong service
    assert str(denied.value).startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Machine/m is not authorized")


def test_an_unknown_integration_fails_instead_of_passing(aws):
    role = _role(
        aws,
        "Machine",
        trust_service="states.amazonaws.com",
        inline=[{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    )
    with pytest.raises(Exception, match="no table of the calls AWS makes for ecs:runTask"):
        _enforcer().task(
            "arn:aws:states:::ecs:runTask.sync",
            {},
            role_arn=role,
            state_machine_arn="arn:aws:states:::m",
            region=REGION,
        )


def test_trust_policy_is_checked_for_the_service(aws):
    role = _role(aws, "Execution", trust_service="ec2.amazonaws.com")
    (assume,) = [c for c in JOB_ACCESS["start"] if c.action == "sts:AssumeRole"]
    with pytest.raises(
        AccessDenied, match=re.escape("sagemaker.amazonaws.com is not authorized to perform: sts:AssumeRole")
    ):
        _enforcer().check(
            role, assume, _values(role, job_arn="arn:aws:sagemaker:::training-job/j"), session="SageMaker"
        )


def test_sse_kms_reads_need_decrypt_through_s3_and_the_key_policy(aws):
    kms, s3 = aws.client("kms"), aws.client("s3")
    key = kms.create_key()["KeyMetadata"]["Arn"]  # moto's default key policy enables IAM for the account
    s3.create_bucket(Bucket="data")
    s3.put_bucket_encryption(
        Bucket="data",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )
    s3.put_object(Bucket="data", Key="raw/a.csv", Body=b"1")
    store = PolicyStore(ACCOUNT)
    assert store.bucket_kms_key("data") == key
    assert store.key_arn(store.object_kms_key("data", "raw/a.csv"), REGION) == key
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/raw/*"}
    decrypt = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
    }
    values = _values(
        "",
        bucket="data",
        key="raw/a.csv",
        object_arn="arn:aws:s3:::data/raw/a.csv",
        object_key=store.object_kms_key("data", "raw/a.csv"),
    )
    allowed = _role(aws, "Reader", inline=[read, decrypt])
    for call in JOB_ACCESS["read"]:
        _enforcer().check(allowed, call, {**values, "role": allowed}, session="SageMaker")
    no_key = _role(aws, "NoKey", inline=[read])
    with pytest.raises(AccessDenied, match=re.escape(f"kms:Decrypt on resource: {key}")):
        for call in JOB_ACCESS["read"]:
            _enforcer().check(no_key, call, {**values, "role": no_key}, session="SageMaker")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_doc())  # a key policy that enables nobody
    with pytest.raises(AccessDenied, match=re.escape("because no resource-based policy allows the kms:Decrypt action")):
        for call in JOB_ACCESS["read"]:
            _enforcer().check(allowed, call, {**values, "role": allowed}, session="SageMaker")


def test_endpoint_and_topic_keys_are_found(aws):
    key = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    sm = aws.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", PrimaryContainer={"Image": "i"})
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
        KmsKeyId=key,
    )
    topic = aws.client("sns").create_topic(Name="t", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    store = PolicyStore(ACCOUNT)
    assert store.endpoint_config_kms_key("c", REGION) == key
    assert store.topic_kms_key(topic, REGION) == key
    role = _role(
        aws,
        "Machine",
        trust_service="states.amazonaws.com",
        inline=[{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}],
    )
    with pytest.raises(AccessDenied, match=re.escape(f"kms:GenerateDataKey on resource: {key}")):
        _enforcer().task(
            "arn:aws:states:::sns:publish",
            {"TopicArn": topic, "Message": "m"},
            role_arn=role,
            state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m",
            region=REGION,
        )


def test_execution_data_key_needs_the_state_machine_encryption_context(aws, monkeypatch):
    from sm_constructs.local.iam import enforcement

    key = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m"
    monkeypatch.setitem(enforcement.STATE_MACHINE_KEYS, machine, key)
    describe = {"Effect": "Allow", "Action": "sagemaker:DescribeEndpoint", "Resource": "*"}

    def use_key(state_machine):
        return {
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key,
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": state_machine}},
        }

    def run(role):
        _enforcer().task(
            "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
            {"EndpointName": "e"},
            role_arn=role,
            state_machine_arn=machine,
            region=REGION,
        )

    run(_role(aws, "Right", trust_service="states.amazonaws.com", inline=[describe, use_key(machine)]))
    wrong = _role(aws, "Wrong", trust_service="states.amazonaws.com", inline=[describe, use_key(f"{machine}-other")])
    with pytest.raises(AccessDenied, match=re.escape(f"kms:GenerateDataKey on resource: {key}")):
        run(wrong)


def test_enforcement_is_on_unless_switched_off(monkeypatch):
    from sm_constructs.local import Emulator

    monkeypatch.delenv("SM_LOCAL_IAM", raising=False)
    assert Emulator().enforce_iam is True
    assert Emulator(enforce_iam=False).enforce_iam is False
    monkeypatch.setenv("SM_LOCAL_IAM", "off")
    assert Emulator().enforce_iam is False


def test_each_decision_is_logged(aws, tmp_path):
    role = _role(aws, "Execution", trust_service="ec2.amazonaws.com")
    (assume,) = [c for c in JOB_ACCESS["start"] if c.action == "sts:AssumeRole"]
    enforcer = Enforcer(PolicyStore(ACCOUNT), ACCOUNT, log=tmp_path / "iam.jsonl")
    with pytest.raises(AccessDenied):
        enforcer.check(role, assume, _values(role, job_arn="arn:aws:sagemaker:::training-job/j"), session="SageMaker")
    (line,) = [json.loads(line) for line in (tmp_path / "iam.jsonl").read_text().splitlines()]
    assert line == {
        "principal": "sagemaker.amazonaws.com",
        "action": "sts:AssumeRole",
        "resource": role,
        "decision": "implicit deny",
        "reason": "because no resource-based policy allows the sts:AssumeRole action",
    }


def test_a_model_from_a_registered_version_pulls_the_versions_image_as_the_models_role(aws):
    sm = aws.client("sagemaker")
    image = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
    sm.create_model_package_group(ModelPackageGroupName="g")
    package = sm.create_model_package(
        ModelPackageGroupName="g",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    role = f"arn:aws:iam::{ACCOUNT}:role/ModelRole"
    sm.create_model(ModelName="m", ExecutionRoleArn=role, Containers=[{"ModelPackageName": package}])
    assert PolicyStore(ACCOUNT).model_role("m", REGION) == (role, image)
