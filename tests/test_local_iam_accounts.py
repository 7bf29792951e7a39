"""Enforcement across accounts, in process against moto's per-account backends (no server, no deploy).

A role in one account reading a bucket, a key or a model package group of another account is
decided by both accounts' policies, each read from its own account: the role's identity policies
and permissions boundary from the caller's, the bucket, key or group policy from the owner's (IAM
User Guide, "Cross-account policy evaluation logic": "The request is allowed only if both
evaluations return a decision of Allow").
"""

import json

import boto3
import pytest
from moto import mock_aws
from support import env_client

from sm_constructs.local.iam.calls import Call
from sm_constructs.local.iam.enforcement import GROUP_POLICIES, AccessDenied, Enforcer, PolicyStore

BUILD = "111111111111"
STAGING = "222222222222"
REGION = "us-east-1"
SOURCE = "test"


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def aws(monkeypatch):
    """Sessions per account: moto keeps each account's state apart (``MOTO_ACCOUNT_ID``)."""
    with mock_aws():

        def client(account, service):
            # the account is read at each request: a client is used right after it is made
            monkeypatch.setenv("MOTO_ACCOUNT_ID", account)
            return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")

        yield client
        monkeypatch.delenv("MOTO_ACCOUNT_ID")


def _role(aws, account, name, statements, boundary=None):
    iam = aws(account, "iam")
    trust = _doc({"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"})
    extra = {}
    if boundary:
        extra["PermissionsBoundary"] = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=_doc(*boundary))[
            "Policy"
        ]["Arn"]
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **extra)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=_doc(*statements))
    return arn


def _check(role, action, resource):
    enforcer = Enforcer(PolicyStore(STAGING), STAGING)
    return enforcer.check(role, Call(action, resource, SOURCE), {"region": REGION}, session="release")


def _denied(role, action, resource):
    with pytest.raises(AccessDenied) as denied:
        _check(role, action, resource)
    return str(denied.value)


def test_permissions_boundary_of_the_role_is_read(aws):
    role = _role(
        aws,
        STAGING,
        "Bounded",
        [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        boundary=[{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    )
    aws(STAGING, "s3").create_bucket(Bucket="staging-data")
    assert _check(role, "s3:GetObject", "arn:aws:s3:::staging-data/a") is not None
    assert _denied(role, "s3:PutObject", "arn:aws:s3:::staging-data/a").endswith(
        "because no permissions boundary allows the s3:PutObject action"
    )


def test_bucket_of_another_account_needs_its_bucket_policy(aws):
    role = _role(aws, STAGING, "Deployer", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    s3 = aws(BUILD, "s3")
    s3.create_bucket(Bucket="build-artifacts")
    approved = "arn:aws:s3:::build-artifacts/models/approved/m.tar.gz"
    assert _denied(role, "s3:GetObject", approved).endswith(
        "because no resource-based policy allows the s3:GetObject action"
    )
    s3.put_bucket_policy(
        Bucket="build-artifacts",
        Policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{STAGING}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::build-artifacts/models/approved/*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": STAGING}},
            }
        ),
    )
    assert _check(role, "s3:GetObject", approved) is not None
    assert "no resource-based policy" in _denied(role, "s3:GetObject", "arn:aws:s3:::build-artifacts/data/raw.csv")


def test_key_of_another_account_needs_its_key_policy_and_the_callers_identity_policy(aws):
    kms = aws(BUILD, "kms")
    owner = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"}, "Action": "kms:*", "Resource": "*"}
    shared = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{STAGING}:root"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    key = kms.create_key(Policy=_doc(owner))["KeyMetadata"]["Arn"]
    role = _role(aws, STAGING, "Deployer", [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}])
    silent = _role(aws, STAGING, "Other", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    assert "no resource-based policy" in _denied(role, "kms:Decrypt", key)
    aws(BUILD, "kms").put_key_policy(KeyId=key, PolicyName="default", Policy=_doc(owner, shared))
    assert _check(role, "kms:Decrypt", key) is not None
    assert "no identity-based policy" in _denied(silent, "kms:Decrypt", key)


def test_model_package_group_of_another_account_needs_its_group_policy(aws):
    group = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package-group/churn"
    version = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/churn/3"
    role = _role(
        aws, STAGING, "Deployer", [{"Effect": "Allow", "Action": "sagemaker:DescribeModelPackage", "Resource": "*"}]
    )
    assert "no resource-based policy" in _denied(role, "sagemaker:DescribeModelPackage", version)
    GROUP_POLICIES[group] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{STAGING}:root"},
                "Action": "sagemaker:DescribeModelPackage",
                "Resource": f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/churn/*",
            }
        ],
    }
    try:
        assert _check(role, "sagemaker:DescribeModelPackage", version) is not None
        other = f"arn:aws:sagemaker:{REGION}:{BUILD}:model-package/fraud/1"
        assert "no resource-based policy" in _denied(role, "sagemaker:DescribeModelPackage", other)
    finally:
        GROUP_POLICIES.pop(group)


def test_prebuilt_images_are_pulled_across_accounts_with_the_roles_own_permission(aws):
    pull = {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}
    role = _role(aws, STAGING, "Puller", [pull])
    silent = _role(aws, STAGING, "NoPull", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    prebuilt = "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"  # SageMaker's own registry
    assert _check(role, "ecr:BatchGetImage", prebuilt) is not None
    assert "no identity-based policy" in _denied(silent, "ecr:BatchGetImage", prebuilt)
    # a repository of an account the emulator knows no policy of: AWS would need its repository policy
    other = f"arn:aws:ecr:us-east-1:{BUILD}:repository/team-image"
    assert "no resource-based policy" in _denied(role, "ecr:BatchGetImage", other)


def test_delivery_to_another_accounts_bus_needs_the_role_and_the_bus_policy(aws):
    """A build-account rule forwards to staging's default bus (EventBridge delivers with the target's role)."""
    from sm_constructs.local.aws import events as events_plugin

    forwarder = _role(
        aws,
        BUILD,
        "Forwarder",
        [
            {
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": f"arn:aws:events:{REGION}:{STAGING}:event-bus/default",
            }
        ],
    )
    events_plugin.install(Enforcer(PolicyStore(BUILD), BUILD))
    logs = aws(STAGING, "logs")
    logs.create_log_group(logGroupName="/received")
    received = aws(STAGING, "events")
    received.put_rule(Name="all", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    received.put_targets(
        Rule="all", Targets=[{"Id": "log", "Arn": f"arn:aws:logs:{REGION}:{STAGING}:log-group:/received"}]
    )
    build = aws(BUILD, "events")
    build.put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    build.put_targets(
        Rule="forward",
        Targets=[
            {"Id": "staging", "Arn": f"arn:aws:events:{REGION}:{STAGING}:event-bus/default", "RoleArn": forwarder}
        ],
    )

    def forward(detail_type="SageMaker Model Package State Change"):
        from moto.events.models import events_backends

        # as SageMaker emits it on the build account's default bus (aws.* sources cannot be put by callers)
        events_backends[BUILD][REGION].put_events(
            [{"Source": "aws.sagemaker", "DetailType": detail_type, "Detail": "{}", "EventBusName": "default"}]
        )
        streams = aws(STAGING, "logs").describe_log_streams(logGroupName="/received")["logStreams"]
        return len(streams)

    assert forward() == 0  # no bus policy in staging: AWS denies the PutEvents, nothing arrives
    aws(STAGING, "events").put_permission(
        Policy=_doc(
            {
                "Sid": "FromBuild",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"},
                "Action": "events:PutEvents",
                "Resource": f"arn:aws:events:{REGION}:{STAGING}:event-bus/default",
                "Condition": {"StringEquals": {"events:detail-type": "SageMaker Model Package State Change"}},
            }
        )
    )
    assert forward() == 1
    assert forward("SageMaker Training Job State Change") == 1  # the bus policy's detail-type condition holds


def test_each_stage_acts_in_its_own_account_and_reads_the_shared_versions(monkeypatch):
    """``emulator_env(url, account=...)`` (``sm-local env --account``) acts in that account; a staging
    account reads and records on the build account's version by its ARN."""
    from moto.server import ThreadedMotoServer

    from sm_constructs.local.aws import sagemaker_registry
    from sm_constructs.local.cli.demo import emulator_env
    from sm_constructs.local.server import _free_port

    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    sagemaker_registry.install()
    port = _free_port()
    server = ThreadedMotoServer(port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"

    def client(account, service):
        return env_client(url, emulator_env(url, account), service, REGION)

    try:
        assert client(STAGING, "sts").get_caller_identity()["Account"] == STAGING
        build = client(BUILD, "sagemaker")
        build.create_model_package_group(ModelPackageGroupName="churn")
        image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
        version = build.create_model_package(
            ModelPackageGroupName="churn",
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": "s3://artifacts/models/m.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        assert f":{BUILD}:model-package/churn/1" in version
        staging = client(STAGING, "sagemaker")
        assert staging.describe_model_package(ModelPackageName=version)["ModelApprovalStatus"] == "Approved"
        staging.update_model_package(ModelPackageArn=version, CustomerMetadataProperties={"SmokeTest": "Passed"})
        recorded = build.describe_model_package(ModelPackageName=version)["CustomerMetadataProperties"]
        assert recorded == {"SmokeTest": "Passed"}
        assert staging.list_model_package_groups()["ModelPackageGroupSummaryList"] == []  # staging's own registry
    finally:
        server.stop()


def test_an_endpoint_of_another_accounts_artifact_needs_the_bucket_policy(aws):
    """SageMaker reads the model data as the model's role: across accounts the bucket policy decides too."""
    from moto.sagemaker.models import sagemaker_backends

    from sm_constructs.local.iam.enforcement import model_data_access

    role = _role(aws, STAGING, "ModelRole", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    s3 = aws(BUILD, "s3")
    s3.create_bucket(Bucket="build-artifacts")
    s3.put_object(Bucket="build-artifacts", Key="models/m.tar.gz", Body=b"model")
    sm = aws(STAGING, "sagemaker")
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    url = "s3://build-artifacts/models/m.tar.gz"
    sm.create_model(ModelName="m", ExecutionRoleArn=role, PrimaryContainer={"Image": image, "ModelDataUrl": url})
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    enforcer = Enforcer(PolicyStore(STAGING), STAGING)
    backend = sagemaker_backends[STAGING][REGION]
    reason = model_data_access(enforcer, backend, "c")
    assert reason.startswith(f"Could not access model data at {url}: User: arn:aws:sts::{STAGING}:assumed-role/")
    assert reason.endswith("because no resource-based policy allows the s3:GetObject action")
    s3.put_bucket_policy(
        Bucket="build-artifacts",
        Policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{STAGING}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::build-artifacts/models/*",
            }
        ),
    )
    assert model_data_access(enforcer, backend, "c") is None
