"""SageMaker Studio: secure defaults and their overrides, checked on synthesized templates.

One app with the Studio test app (cdk-nag's four packs run on its synth) and one app with a stack of
overridden domains; the validators are independent of the code: aws_cdk.assertions, cfn-lint's
CloudFormation schemas, botocore's SageMaker model, cdk-nag and moto.
"""

import base64
import json
import tempfile
import time
from pathlib import Path

import pytest
from apps.studio import build
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from support import add_nag_packs, cfn_lint, new_app

from sm_constructs import (
    EndpointDeployment,
    LifecycleScript,
    MlDataBucket,
    MlStateMachine,
    MlVpc,
    SageMakerExecutionRole,
)
from sm_constructs._service_model import service_model
from sm_constructs._validation import ConstructValidationError, Problems
from sm_constructs.notebook import MAX_SCRIPT_CHARS
from sm_constructs.studio import (
    DEFAULT_APP_INSTANCE_TYPE,
    USER_TAG,
    StudioDomain,
    StudioSharedSpace,
    StudioUserProfile,
    check_api_request,
)

DOMAIN = "AWS::SageMaker::Domain"
PROFILE = "AWS::SageMaker::UserProfile"
SPACE = "AWS::SageMaker::Space"
LIFECYCLE = "AWS::SageMaker::StudioLifecycleConfig"
MODEL = service_model("sagemaker")


@pytest.fixture(scope="module")
def studio():
    app = new_app()
    stack = build(app)
    add_nag_packs(app)
    app.synth()  # raises on any unacknowledged cdk-nag finding (AwsSolutions, HIPAA, NIST 800-53 R5, PCI DSS)
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(studio):
    return studio[1]


@pytest.fixture(scope="module")
def overridden():
    """Every secure default turned off or changed, in one stack."""
    app = new_app()
    stack = Stack(app, "Overrides")
    data = MlDataBucket(stack, "Data")
    vpc = MlVpc(stack, "Network").vpc
    role = SageMakerExecutionRole(stack, "OwnRole")
    key = kms.Key(stack, "OwnKey", enable_key_rotation=True)
    open_domain = StudioDomain(
        stack,
        "Open",
        data_bucket=data,
        vpc=vpc,
        execution_role=role,
        encryption_key=key,
        data_access={},
        https_egress_to=[ec2.Peer.ipv4("10.42.0.0/16")],
        direct_internet_access=True,
        docker_access=True,
        jupyter_lab_instance_type="ml.m5.large",
        code_editor_instance_type="ml.t3.large",
        idle_timeout_minutes=None,
        space_volume_size_gb=10,
        max_space_volume_size_gb=50,
        domain_name="open-domain",
        tag_propagation=False,
        removal_policy=RemovalPolicy.DESTROY,
    )
    sso = StudioDomain(
        stack,
        "Sso",
        data_bucket=data,
        vpc=vpc,
        auth_mode="SSO",
        idle_timeout_minutes=120,
        min_idle_timeout_minutes=90,
        max_idle_timeout_minutes=600,
    )
    StudioUserProfile(
        stack, "Carol", domain=sso, user_profile_name="carol", single_sign_on_user_name="carol@example.com"
    )
    StudioSharedSpace(
        stack, "Editor", domain=sso, space_name="editor", app_type="CodeEditor", instance_type="ml.t3.large"
    )
    own_network = Stack(app, "OwnNetwork")
    StudioDomain(own_network, "Studio", data_bucket=MlDataBucket(own_network, "Data"))
    return {
        "open": open_domain,
        "sso": sso,
        "stack": stack,
        "template": Template.from_stack(stack),
        "own_network": Template.from_stack(own_network),
    }


def _domain(template, name=None):
    domains = template.find_resources(DOMAIN)
    for resource in domains.values():
        if name is None or resource["Properties"]["DomainName"] == name:
            return resource
    raise AssertionError(f"no domain {name}")


# ---- secure defaults ----------------------------------------------------------------------
def test_network_is_vpc_only_in_the_isolated_subnets_with_our_security_group(template):
    props = _domain(template)["Properties"]
    assert props["AppNetworkAccessType"] == "VpcOnly"
    assert props["AppSecurityGroupManagement"] == "Customer"
    resources = template.to_json()["Resources"]
    subnets = [resources[ref["Ref"]] for ref in props["SubnetIds"]]
    assert len(subnets) == 2 and all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    assert all(
        tag["Value"] == "Isolated"
        for s in subnets
        for tag in s["Properties"]["Tags"]
        if tag["Key"] == "aws-cdk:subnet-type"
    )
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    (group_ref,) = {g["Fn::GetAtt"][0] for g in props["DefaultUserSettings"]["SecurityGroups"]}
    assert props["DefaultSpaceSettings"]["SecurityGroups"] == props["DefaultUserSettings"]["SecurityGroups"]
    group = resources[group_ref]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to VPC endpoints and S3",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_docker_access_disabled(template):
    assert _domain(template)["Properties"]["DomainSettings"] == {"DockerSettings": {"EnableDockerAccess": "DISABLED"}}


def test_efs_and_space_volumes_encrypted_with_a_rotating_retained_key(template):
    key_id = _domain(template)["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]
    key = template.to_json()["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain" and key["UpdateReplacePolicy"] == "Retain"
    # botocore's documentation of the member: the key covers EFS and EBS volumes of the domain.
    doc = MODEL.shape_for("CreateDomainRequest").members["KmsKeyId"].documentation
    assert "EFS and EBS" in doc


def test_iam_auth_by_default(template):
    assert _domain(template)["Properties"]["AuthMode"] == "IAM"
    assert template.find_resources(PROFILE, {"Properties": {"SingleSignOnUserValue": Match.any_value()}}) == {}


def test_domain_and_home_file_system_are_retained(template):
    domain = _domain(template)
    assert domain["DeletionPolicy"] == "Retain" and domain["UpdateReplacePolicy"] == "Retain"
    # Nothing asks SageMaker to delete the home EFS: SageMaker's default retention is Retain.
    assert "RetentionPolicy" not in domain["Properties"]
    retention = MODEL.shape_for("RetentionPolicy").members["HomeEfsFileSystem"].documentation
    assert "The default is <code>Retain</code>" in retention


def test_default_execution_role_is_a_scoped_sagemaker_execution_role(studio, template):
    stack, _ = studio
    role_id = _domain(template)["Properties"]["DefaultUserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]
    assert role_id == stack.resolve(stack.get_logical_id(stack.domain.execution_role.node.default_child))
    assert isinstance(stack.domain.execution_role, SageMakerExecutionRole)
    role = template.to_json()["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert _domain(template)["Properties"]["DefaultSpaceSettings"]["ExecutionRole"] == {"Fn::GetAtt": [role_id, "Arn"]}


def _statements(template, role_logical_id):
    return [
        s
        for policy in template.find_resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement):
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_studio_permissions_are_limited_to_the_domain(studio, template):
    stack, _ = studio
    role_id = stack.resolve(stack.get_logical_id(stack.domain.execution_role.node.default_child))
    domain_id = stack.domain.logical_id
    sagemaker = [s for s in _statements(template, role_id) if any(a.startswith("sagemaker:") for a in _actions(s))]
    for statement in sagemaker:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            if resource == "*":  # only actions without a resource type
                assert _actions(statement) <= {
                    "sagemaker:ListApps",
                    "sagemaker:ListSpaces",
                    "sagemaker:ListUserProfiles",
                    "sagemaker:ListDomains",
                }
            elif "endpoint/" not in json.dumps(resource):
                assert domain_id in json.dumps(resource)
    create_space = [s for s in sagemaker if "sagemaker:CreateSpace" in _actions(s)]
    assert [list(s["Condition"]) for s in create_space] == [["ArnLike"]]
    owner = json.dumps(create_space[0]["Condition"]["ArnLike"]["sagemaker:OwnerUserProfileArn"])
    assert "${sagemaker:UserProfileName}" in owner
    create_app = [s["Condition"] for s in sagemaker if "sagemaker:CreateApp" in _actions(s)]
    assert {"StringEquals": {"sagemaker:SpaceSharingType": "Shared"}} in create_app
    assert {"Null": {"sagemaker:OwnerUserProfileArn": "true"}} in create_app


def test_jupyterlab_and_code_editor_default_to_small_instances_with_idle_shutdown(template):
    props = _domain(template)["Properties"]
    idle = {
        "LifecycleManagement": "ENABLED",
        "IdleTimeoutInMinutes": 60,
        "MinIdleTimeoutInMinutes": 60,
        "MaxIdleTimeoutInMinutes": 480,
    }
    for where, apps in (
        ("DefaultUserSettings", ("JupyterLabAppSettings", "CodeEditorAppSettings")),
        ("DefaultSpaceSettings", ("JupyterLabAppSettings",)),
    ):
        for app in apps:
            settings = props[where][app]
            assert settings["DefaultResourceSpec"]["InstanceType"] == DEFAULT_APP_INSTANCE_TYPE
            assert settings["AppLifecycleManagement"] == {"IdleSettings": idle}
        assert props[where]["SpaceStorageSettings"] == {
            "DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 5, "MaximumEbsVolumeSizeInGb": 100}
        }
    assert DEFAULT_APP_INSTANCE_TYPE in MODEL.shape_for("AppInstanceType").enum


def test_lifecycle_configurations_are_attached_and_named_by_content(studio, template):
    configs = template.find_resources(LIFECYCLE)
    assert {c["Properties"]["StudioLifecycleConfigAppType"] for c in configs.values()} == {"JupyterLab", "CodeEditor"}
    props = _domain(template)["Properties"]
    domain = _domain(template)
    for logical_id, config in configs.items():
        app = config["Properties"]["StudioLifecycleConfigAppType"]
        name = config["Properties"]["StudioLifecycleConfigName"]
        content = base64.b64decode(config["Properties"]["StudioLifecycleConfigContent"]).decode()
        assert content.startswith("#!/bin/bash\necho ")
        assert name.startswith(f"studiotest-studio-{app.lower()}-") and len(name) <= 63
        settings = props["DefaultUserSettings"][f"{app}AppSettings"]
        arn = json.dumps(settings["DefaultResourceSpec"]["LifecycleConfigArn"])
        assert f":studio-lifecycle-config/{name}" in arn
        assert json.dumps(settings["LifecycleConfigArns"]) == f"[{arn}]"
        assert logical_id in domain["DependsOn"]


def test_tags_propagate_for_cost_allocation(template):
    props = _domain(template)["Properties"]
    assert props["TagPropagation"] == "ENABLED"
    assert {"Key": "project", "Value": "churn"} in props["Tags"]


def test_user_profiles_have_their_own_role_scoped_to_their_prefix(studio, template):
    stack, _ = studio
    profiles = {p["Properties"]["UserProfileName"]: p["Properties"] for p in template.find_resources(PROFILE).values()}
    assert set(profiles) == {"alice", "bob"}
    assert {"Key": USER_TAG, "Value": "alice"} in profiles["alice"]["Tags"]
    assert {"Key": "cost-center", "Value": "1234"} in profiles["alice"]["Tags"]
    assert profiles["bob"]["Tags"] == [{"Key": USER_TAG, "Value": "bob"}]
    for name, profile in (("alice", stack.alice), ("bob", stack.bob)):
        role_id = profiles[name]["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]
        assert role_id == stack.resolve(stack.get_logical_id(profile.execution_role.node.default_child))
        text = json.dumps(_statements(template, role_id))
        assert f"/users/{name}/*" in text
        other = "bob" if name == "alice" else "alice"
        assert f"/users/{other}/" not in text
        owner = [s for s in _statements(template, role_id) if "sagemaker:CreateSpace" in _actions(s)]
        assert json.dumps(owner[0]["Condition"]["ArnLike"]).endswith(f'"/{name}"]]}}}}')
    alice_text = json.dumps(_statements(template, profiles["alice"]["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]))
    assert "/raw/*" in alice_text and "endpoint/churn" in alice_text and "states:StartExecution" in alice_text
    assert "states:DescribeActivity" not in alice_text and "states:ListActivities" not in alice_text
    bob_text = json.dumps(_statements(template, profiles["bob"]["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]))
    assert "/processed/*" in bob_text and "/raw/*" not in bob_text and "states:StartExecution" not in bob_text


def test_resources_grant_to_studio_users(studio):
    """Users are grantees (their execution role): each resource's grant returns the whole grant."""
    stack, _ = studio
    endpoint = EndpointDeployment.from_endpoint_arn(stack, "X", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x")
    machine = MlStateMachine(stack, "Other", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "O")))
    for grant, actions in (
        (stack.data.grant_read(stack.bob, "evaluation/"), {"s3:GetObject*"}),
        (stack.data.grant_write(stack.bob, "batch/"), {"s3:PutObject"}),
        (stack.data.grant_read_write(stack.bob, "code/"), {"s3:GetObject*", "s3:PutObject"}),
        (endpoint.grant_invoke(stack.bob), {"sagemaker:InvokeEndpoint"}),
        (
            machine.grant_start_and_read(stack.bob),
            {"states:StartExecution", "states:DescribeStateMachine", "states:DescribeExecution"},
        ),
    ):
        assert grant.success
        assert actions <= {a for statement in grant.principal_statements for a in statement.actions}
    assert stack.bob.grant_principal is stack.bob.execution_role.grant_principal


def test_shared_space(template):
    (space,) = template.find_resources(SPACE).values()
    assert space["Properties"]["SpaceSharingSettings"] == {"SharingType": "Shared"}
    assert space["Properties"]["OwnershipSettings"] == {"OwnerUserProfileName": "alice"}
    assert space["Properties"]["SpaceSettings"] == {
        "AppType": "JupyterLab",
        "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": DEFAULT_APP_INSTANCE_TYPE}},
        "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 20}},
    }


def test_cfn_lint_clean(studio, overridden):
    assert cfn_lint(studio[1].to_json()) == []
    assert cfn_lint(overridden["template"].to_json()) == []


def _placeholders(value):
    """Template properties with intrinsic functions replaced by deploy-time-like strings."""
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return "arn:aws:iam::123456789012:role/placeholder"
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("resource_type", "operation"),
    [
        (DOMAIN, "CreateDomain"),
        (PROFILE, "CreateUserProfile"),
        (SPACE, "CreateSpace"),
        (LIFECYCLE, "CreateStudioLifecycleConfig"),
    ],
)
def test_template_properties_are_valid_api_requests(template, resource_type, operation):
    """Read back from the template and validated by botocore's own parameter validator."""
    from botocore.validate import validate_parameters

    shape = MODEL.operation_model(operation).input_shape
    for resource in template.find_resources(resource_type).values():
        request = _placeholders(resource["Properties"])
        if operation in ("CreateUserProfile", "CreateSpace"):
            request["DomainId"] = "d-placeholder"
        validate_parameters(request, shape)  # raises ParamValidationError on unknown keys, types, required


# ---- overrides ----------------------------------------------------------------------------
def test_overrides(overridden):
    template = overridden["template"]
    domain = _domain(template, "open-domain")
    props = domain["Properties"]
    assert props["AppNetworkAccessType"] == "PublicInternetOnly"
    assert props["DomainSettings"] == {"DockerSettings": {"EnableDockerAccess": "ENABLED"}}
    assert props["TagPropagation"] == "DISABLED"
    assert domain["DeletionPolicy"] == "Delete"
    assert props["KmsKeyId"]["Fn::GetAtt"][0].startswith("OwnKey")
    assert props["DefaultUserSettings"]["ExecutionRole"]["Fn::GetAtt"][0].startswith("OwnRole")
    user = props["DefaultUserSettings"]
    assert user["JupyterLabAppSettings"] == {
        "DefaultResourceSpec": {"InstanceType": "ml.m5.large"},
        "AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "DISABLED"}},
    }
    assert user["CodeEditorAppSettings"]["DefaultResourceSpec"] == {"InstanceType": "ml.t3.large"}
    assert user["SpaceStorageSettings"]["DefaultEbsStorageSettings"] == {
        "DefaultEbsVolumeSizeInGb": 10,
        "MaximumEbsVolumeSizeInGb": 50,
    }
    groups = template.find_resources(
        "AWS::EC2::SecurityGroup", {"Properties": {"GroupDescription": Match.string_like_regexp("open-domain")}}
    )
    (group,) = groups.values()
    assert group["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "10.42.0.0/16"
    # data_access={}: the own role gets no data prefixes
    role_id = props["DefaultUserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]
    assert "DataBucket" not in json.dumps(_statements(template, role_id))


def test_sso_and_idle_range_overrides(overridden):
    template = overridden["template"]
    props = _domain(template, "overrides-sso")["Properties"]
    assert props["AuthMode"] == "SSO"
    assert props["DefaultUserSettings"]["JupyterLabAppSettings"]["AppLifecycleManagement"]["IdleSettings"] == {
        "LifecycleManagement": "ENABLED",
        "IdleTimeoutInMinutes": 120,
        "MinIdleTimeoutInMinutes": 90,
        "MaxIdleTimeoutInMinutes": 600,
    }
    template.has_resource_properties(
        PROFILE,
        {
            "UserProfileName": "carol",
            "SingleSignOnUserIdentifier": "UserName",
            "SingleSignOnUserValue": "carol@example.com",
        },
    )
    template.has_resource_properties(
        SPACE,
        {
            "SpaceName": "editor",
            "SpaceSettings": {
                "AppType": "CodeEditor",
                "CodeEditorAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.large"}},
            },
        },
    )


def test_domain_without_vpc_creates_an_ml_vpc(overridden):
    template = overridden["own_network"]
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    subnet_ref = _domain(template)["Properties"]["SubnetIds"][0]["Ref"]
    assert subnet_ref.startswith("StudioNetworkVpcPrivateSubnet")


# ---- bad input fails at synth -------------------------------------------------------------
def _deps():
    app = new_app()
    stack = Stack(app, "Bad")
    return stack, MlDataBucket(stack, "Data"), MlVpc(stack, "Network", restrict_default_security_group=False).vpc


@pytest.fixture(scope="module")
def bad():
    stack, data, vpc = _deps()
    return {"stack": stack, "data": data, "vpc": vpc, "domain": StudioDomain(stack, "Ok", data_bucket=data, vpc=vpc)}


def _error(make):
    with pytest.raises(ConstructValidationError) as raised:
        make()
    return str(raised.value)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (
            {"jupyter_lab_instance_type": "ml.nope.large"},
            "jupyter_lab_instance_type (CreateDomain.DefaultUserSettings.JupyterLabAppSettings.DefaultResourceSpec.InstanceType)='ml.nope.large' is invalid: must be one of 176 values",
        ),
        ({"idle_timeout_minutes": 30, "min_idle_timeout_minutes": 30}, "must be between 60 and 525600"),
        (
            {"idle_timeout_minutes": 600},
            "min_idle_timeout_minutes and idle_timeout_minutes and max_idle_timeout_minutes conflict",
        ),
        ({"space_volume_size_gb": 200}, "space_volume_size_gb and max_space_volume_size_gb conflict"),
        ({"max_space_volume_size_gb": 20000}, "must be between 5 and 16384"),
        (
            {"auth_mode": "LDAP"},
            "auth_mode (CreateDomain.AuthMode)='LDAP' is invalid: must be one of 'SSO', 'IAM'",
        ),
        ({"domain_name": "bad_name"}, "domain_name (CreateDomain.DomainName)='bad_name' is invalid: must match"),
        ({"tags": {"aws:team": "x"}}, "reserved for AWS"),
        ({"tags": {"team": "x" * 300}}, "is 300 characters; at most 256"),
        ({"tags": {"team#": "x"}}, "tags (CreateDomain.Tags[0].Key)='team#' is invalid: must match"),
        ({"data_access": {"/raw": "read"}}, "data_access='/raw' is invalid"),
        ({"code_editor_lifecycle": LifecycleScript("")}, "must not be empty"),
        (
            {"jupyter_lab_lifecycle": LifecycleScript("x" * MAX_SCRIPT_CHARS)},
            f"SageMaker allows {MAX_SCRIPT_CHARS} chars per lifecycle script",
        ),
    ],
)
def test_bad_domain_props(bad, props, expected):
    message = _error(lambda: StudioDomain(bad["stack"], "Domain", data_bucket=bad["data"], vpc=bad["vpc"], **props))
    assert message.startswith("StudioDomain 'Bad/Domain'")
    assert expected in message


def test_wrong_types_fail_before_any_jsii_call(bad):
    message = _error(lambda: StudioDomain(bad["stack"], "Typed", data_bucket="my-bucket", idle_timeout_minutes="60"))  # type: ignore[arg-type]
    assert "data_bucket='my-bucket' is invalid: expected MlDataBucket, got str" in message
    assert "idle_timeout_minutes='60' is invalid: expected int | None, got str" in message


def test_subnet_selection_needs_a_vpc(bad):
    message = _error(
        lambda: StudioDomain(
            bad["stack"], "NoVpc", data_bucket=bad["data"], subnet_selection=ec2.SubnetSelection(subnet_group_name="x")
        )
    )
    assert "subnet_selection and vpc conflict" in message


def test_unicode_letters_are_valid_tag_keys(bad):
    # SageMaker's tag pattern uses Java's \p{L}: letters of any script are fine.
    StudioDomain(bad["stack"], "Unicode", data_bucket=bad["data"], vpc=bad["vpc"], tags={"Kostenstelle-ä": "1"})


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (
            {"user_profile_name": "bad_name"},
            "user_profile_name (CreateUserProfile.UserProfileName)='bad_name' is invalid: must match",
        ),
        ({"user_profile_name": "a" * 64}, "is 64 characters; at most 63"),
        ({"user_profile_name": "dave", "single_sign_on_user_name": "dave"}, "only for domains with auth_mode='SSO'"),
        ({"user_profile_name": "dave", "data_prefix": ""}, "must not be the whole bucket"),
        (
            {"user_profile_name": "dave", "data_access": {"raw/": "admin"}},
            "must be one of 'read', 'write', 'read_write'",
        ),
    ],
)
def test_bad_user_profile_props(bad, props, expected):
    message = _error(lambda: StudioUserProfile(bad["stack"], "User", domain=bad["domain"], **props))
    assert message.startswith("StudioUserProfile 'Bad/User'") and expected in message


def test_sso_domain_needs_the_user_name(bad):
    sso = StudioDomain(bad["stack"], "Sso", data_bucket=bad["data"], vpc=bad["vpc"], auth_mode="SSO")
    assert "required: the domain authenticates through IAM Identity Center" in _error(
        lambda: StudioUserProfile(bad["stack"], "NoSso", domain=sso, user_profile_name="erin")
    )


def test_bad_space_props(bad):
    other = StudioDomain(bad["stack"], "Other", data_bucket=bad["data"], vpc=bad["vpc"])
    stranger = StudioUserProfile(bad["stack"], "Stranger", domain=other, user_profile_name="frank")
    message = _error(
        lambda: StudioSharedSpace(
            bad["stack"],
            "Space",
            domain=bad["domain"],
            space_name="x_y",
            app_type="RStudio",  # type: ignore[arg-type]
            instance_type="ml.t3.huge",
            volume_size_gb=2,
            owner=stranger,
        )
    )
    assert message.startswith("StudioSharedSpace 'Bad/Space': ")
    for expected in (
        "app_type='RStudio' is invalid: must be one of 'JupyterLab', 'CodeEditor'",
        "owner and domain conflict",
        "space_name (CreateSpace.SpaceName)='x_y' is invalid: must match",
        "instance_type (CreateSpace.SpaceSettings.JupyterLabAppSettings.DefaultResourceSpec.InstanceType)='ml.t3.huge'",
        "volume_size_gb (CreateSpace.SpaceSettings.SpaceStorageSettings.EbsStorageSettings.EbsVolumeSizeInGb)=2 is invalid: must be between 5 and 16384",
    ):
        assert expected in message


def test_space_volume_within_the_domain_maximum(bad):
    message = _error(
        lambda: StudioSharedSpace(bad["stack"], "Big", domain=bad["domain"], space_name="big", volume_size_gb=500)
    )
    assert (
        "volume_size_gb and domain conflict: 500 GB is more than the domain's max_space_volume_size_gb (100 GB)"
        in message
    )


def test_api_check_reports_unknown_and_missing_members():
    problems = Problems("Test", "Test/x")
    check_api_request(
        problems, "CreateSpace", {"SpaceName": "ok", "SpaceSettings": {"Bogus": 1}, "SpaceSharingSettings": {}}
    )
    text = "\n".join(problems._items)
    assert "CreateSpace.DomainId=None is invalid: is required" in text
    assert "CreateSpace.SpaceSettings.Bogus=1 is invalid: not a field of SpaceSettings" in text
    assert "CreateSpace.SpaceSharingSettings.SharingType=None is invalid: is required" in text


# ---- local emulator -----------------------------------------------------------------------
@pytest.mark.xdist_group("emulator")
def test_deploys_into_the_local_emulator():
    """The Studio stack deploys with CloudFormation in the emulator: the domain through moto's
    SageMaker backend, user profiles, spaces and lifecycle configurations through the emulator's."""
    from sm_constructs.local.cli.demo import LocalSession, start_server, stop_server
    from sm_constructs.local.server import _free_port

    app = new_app(outdir=tempfile.mkdtemp())
    # created from the template without publishing assets, so without the custom resource's Lambda code asset
    stack = build(app, restrict_default_security_group=False)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    body = json.dumps(template)
    workdir = Path(tempfile.mkdtemp())
    proc, url = start_server(_free_port(), workdir, time_scale=1.0)
    try:
        session = LocalSession(url)
        session.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="21", Type="String")
        cloudformation = session.client("cloudformation")
        sagemaker = session.client("sagemaker")

        def settled(expected):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stacks = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"]
                if not stacks or not stacks[0]["StackStatus"].endswith("IN_PROGRESS"):
                    break
                time.sleep(0.5)
            assert stacks[0]["StackStatus"] == expected, stacks[0].get("StackStatusReason")

        cloudformation.create_stack(StackName=stack.stack_name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
        settled("CREATE_COMPLETE")
        (domain,) = sagemaker.list_domains()["Domains"]
        assert domain["DomainName"] == "studiotest-studio"
        described = sagemaker.describe_domain(DomainId=domain["DomainId"])
        assert described["AppNetworkAccessType"] == "VpcOnly"
        profiles = sagemaker.list_user_profiles(DomainIdEquals=domain["DomainId"])["UserProfiles"]
        expected = {r["Properties"]["UserProfileName"] for r in template["Resources"].values() if r["Type"] == PROFILE}
        assert expected and {p["UserProfileName"] for p in profiles} == expected
        assert all(p["Status"] == "InService" for p in profiles)
        # an update in place (the idle timeout users start with)
        (logical_id,) = [k for k, v in template["Resources"].items() if v["Type"] == DOMAIN]
        settings = template["Resources"][logical_id]["Properties"]["DefaultUserSettings"]["JupyterLabAppSettings"]
        settings["AppLifecycleManagement"]["IdleSettings"]["IdleTimeoutInMinutes"] = 120
        cloudformation.update_stack(
            StackName=stack.stack_name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
        )
        settled("UPDATE_COMPLETE")
        described = sagemaker.describe_domain(DomainId=domain["DomainId"])
        idle = described["DefaultUserSettings"]["JupyterLabAppSettings"]["AppLifecycleManagement"]["IdleSettings"]
        assert idle["IdleTimeoutInMinutes"] == 120
    finally:
        stop_server(proc)
    log = (workdir / "emulator.log").read_text()
    for emulated in ("UserProfile", "Space", "StudioLifecycleConfig"):
        assert f"Tried to parse AWS::SageMaker::{emulated} but it's not supported" not in log
    assert "AWS::SageMaker::Domain but it's not supported" not in log
