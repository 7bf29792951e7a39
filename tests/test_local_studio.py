"""The emulator's Studio user profiles and spaces: the SageMaker API and the CloudFormation types.

No deployment: moto in-process (``mock_aws``) with the plug-ins installed, called through boto3.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sm_constructs.local import patches, server
from sm_constructs.local.aws import cloudformation, sagemaker_studio

REGION = "us-east-1"
TRUST_SAGEMAKER = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module", autouse=True)
def installed():
    server._install_studio_domain()
    cloudformation.install()
    sagemaker_studio.install()
    patches.apply()


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setattr(sagemaker_studio, "DELETING_SECONDS", 0.3)
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="ana", AssumeRolePolicyDocument=json.dumps(TRUST_SAGEMAKER))["Role"]["Arn"]
        sm = boto3.client("sagemaker", region_name=REGION)
        domain = sm.create_domain(
            DomainName="studio",
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": role},
            SubnetIds=["subnet-1"],
            VpcId="vpc-1",
        )["DomainArn"].rsplit("/", 1)[-1]
        yield sm, domain, role


def _error(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_a_user_profile_is_created_described_listed_updated_and_deleted(aws):
    sm, domain, role = aws
    arn = sm.create_user_profile(DomainId=domain, UserProfileName="ana", UserSettings={"ExecutionRole": role})[
        "UserProfileArn"
    ]
    assert arn == f"arn:aws:sagemaker:{REGION}:123456789012:user-profile/{domain}/ana"
    described = sm.describe_user_profile(DomainId=domain, UserProfileName="ana")
    assert (described["Status"], described["UserProfileArn"], described["UserSettings"]) == (
        "InService",
        arn,
        {"ExecutionRole": role},
    )
    sm.create_user_profile(DomainId=domain, UserProfileName="bob")
    listed = sm.list_user_profiles(DomainIdEquals=domain, SortBy="CreationTime", SortOrder="Ascending")
    assert [p["UserProfileName"] for p in listed["UserProfiles"]] == ["ana", "bob"]
    assert [p["UserProfileName"] for p in sm.list_user_profiles(UserProfileNameContains="bo")["UserProfiles"]] == [
        "bob"
    ]
    page = sm.list_user_profiles(MaxResults=1)
    assert len(page["UserProfiles"]) == 1 and sm.list_user_profiles(NextToken=page["NextToken"])["UserProfiles"]

    settings = {"ExecutionRole": role, "DefaultLandingUri": "studio::"}
    assert (
        sm.update_user_profile(DomainId=domain, UserProfileName="ana", UserSettings=settings)["UserProfileArn"] == arn
    )
    assert sm.describe_user_profile(DomainId=domain, UserProfileName="ana")["UserSettings"] == settings

    sm.delete_user_profile(DomainId=domain, UserProfileName="ana")
    assert sm.describe_user_profile(DomainId=domain, UserProfileName="ana")["Status"] == "Deleting"
    assert _error(sm.update_user_profile, DomainId=domain, UserProfileName="ana", UserSettings=settings)[0] == (
        "ResourceInUse"
    )
    time.sleep(0.4)
    code, message = _error(sm.describe_user_profile, DomainId=domain, UserProfileName="ana")
    assert code == "ResourceNotFound" and arn in message


def test_sagemaker_s_errors_for_user_profiles(aws):
    sm, domain, role = aws
    sm.create_user_profile(DomainId=domain, UserProfileName="ana")
    assert _error(sm.create_user_profile, DomainId=domain, UserProfileName="ana")[0] == "ResourceInUse"
    code, message = _error(sm.create_user_profile, DomainId=domain, UserProfileName="-ana")
    assert code == "ValidationException" and "UserProfileName" in message and "-ana" in message
    code, message = _error(sm.create_user_profile, DomainId="d-nothere1234", UserProfileName="ana")
    assert code == "ValidationException" and "d-nothere1234" in message
    missing = role.replace(":role/ana", ":role/nobody")
    code, message = _error(
        sm.create_user_profile, DomainId=domain, UserProfileName="cy", UserSettings={"ExecutionRole": missing}
    )
    assert code == "ValidationException" and missing in message
    iam = boto3.client("iam", region_name=REGION)
    lambda_trust = json.loads(json.dumps(TRUST_SAGEMAKER).replace("sagemaker.amazonaws.com", "lambda.amazonaws.com"))
    other = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(lambda_trust))["Role"]["Arn"]
    code, message = _error(
        sm.create_user_profile, DomainId=domain, UserProfileName="cy", UserSettings={"ExecutionRole": other}
    )
    assert code == "ValidationException" and "sagemaker.amazonaws.com" in message
    for call in (sm.describe_user_profile, sm.delete_user_profile):
        assert _error(call, DomainId=domain, UserProfileName="nobody")[0] == "ResourceNotFound"


def test_spaces_and_the_domain_they_keep(aws):
    sm, domain, _ = aws
    sm.create_user_profile(DomainId=domain, UserProfileName="ana")
    code, message = _error(
        sm.create_space,
        DomainId=domain,
        SpaceName="team",
        OwnershipSettings={"OwnerUserProfileName": "bob"},
        SpaceSharingSettings={"SharingType": "Shared"},
    )
    assert code == "ValidationException" and "bob" in message
    arn = sm.create_space(
        DomainId=domain,
        SpaceName="team",
        SpaceSettings={"AppType": "JupyterLab"},
        OwnershipSettings={"OwnerUserProfileName": "ana"},
        SpaceSharingSettings={"SharingType": "Shared"},
    )["SpaceArn"]
    assert arn.endswith(f":space/{domain}/team")
    assert sm.describe_space(DomainId=domain, SpaceName="team")["Status"] == "InService"
    (summary,) = sm.list_spaces(DomainIdEquals=domain)["Spaces"]
    assert summary["SpaceSharingSettingsSummary"] == {"SharingType": "Shared"}
    assert summary["OwnershipSettingsSummary"] == {"OwnerUserProfileName": "ana"}
    sm.update_space(DomainId=domain, SpaceName="team", SpaceDisplayName="Team")
    assert sm.describe_space(DomainId=domain, SpaceName="team")["SpaceDisplayName"] == "Team"

    assert _error(sm.delete_user_profile, DomainId=domain, UserProfileName="ana")[0] == "ResourceInUse"
    code, message = _error(sm.delete_domain, DomainId=domain)
    assert code == "ResourceInUse" and "space team" in message and "user profile ana" in message
    sm.delete_space(DomainId=domain, SpaceName="team")
    assert _error(sm.delete_domain, DomainId=domain)[0] == "ResourceInUse"  # the space is Deleting, ana is there
    time.sleep(0.4)
    sm.delete_user_profile(DomainId=domain, UserProfileName="ana")
    time.sleep(0.4)
    sm.delete_domain(DomainId=domain)
    assert _error(sm.delete_domain, DomainId=domain)[0] == "ResourceNotFound"


def _stack(role_arn: str, *, display: str = "Team", sharing: str = "Shared") -> str:
    return json.dumps(
        {
            "Resources": {
                "Domain": {
                    "Type": "AWS::SageMaker::Domain",
                    "Properties": {
                        "DomainName": "cfn-studio",
                        "AuthMode": "IAM",
                        "DefaultUserSettings": {"ExecutionRole": role_arn},
                        "SubnetIds": ["subnet-1"],
                        "VpcId": "vpc-1",
                    },
                },
                "Ana": {
                    "Type": "AWS::SageMaker::UserProfile",
                    "Properties": {
                        "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]},
                        "UserProfileName": "ana",
                        "UserSettings": {"ExecutionRole": role_arn},
                    },
                },
                "Team": {
                    "Type": "AWS::SageMaker::Space",
                    "DependsOn": "Ana",
                    "Properties": {
                        "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]},
                        "SpaceName": "team",
                        "SpaceDisplayName": display,
                        "OwnershipSettings": {"OwnerUserProfileName": "ana"},
                        "SpaceSharingSettings": {"SharingType": sharing},
                    },
                },
            },
            "Outputs": {
                "ProfileRef": {"Value": {"Ref": "Ana"}},
                "ProfileArn": {"Value": {"Fn::GetAtt": ["Ana", "UserProfileArn"]}},
                "SpaceArn": {"Value": {"Fn::GetAtt": ["Team", "SpaceArn"]}},
            },
        }
    )


def test_cloudformation_creates_updates_replaces_and_deletes_profiles_and_spaces(aws):
    sm, _, role = aws
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="studio", TemplateBody=_stack(role))
    (domain,) = [d["DomainId"] for d in sm.list_domains()["Domains"] if d["DomainName"] == "cfn-studio"]
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="studio")["Stacks"][0]["Outputs"]
    }
    assert outputs["ProfileRef"] == f"{domain}|ana"
    assert outputs["ProfileArn"] == sm.describe_user_profile(DomainId=domain, UserProfileName="ana")["UserProfileArn"]
    assert outputs["SpaceArn"] == sm.describe_space(DomainId=domain, SpaceName="team")["SpaceArn"]

    cfn.update_stack(StackName="studio", TemplateBody=_stack(role, display="The team"))  # in place
    assert sm.describe_space(DomainId=domain, SpaceName="team")["SpaceDisplayName"] == "The team"

    # SpaceSharingSettings is create-only: with the same name the replacement fails, as on AWS
    cfn.update_stack(StackName="studio", TemplateBody=_stack(role, display="The team", sharing="Private"))
    stack = cfn.describe_stacks(StackName="studio")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_FAILED"
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="studio")["StackEvents"]]
    assert any("custom-named resource requires replacing" in r for r in reasons)

    cfn.delete_stack(StackName="studio")  # profiles and spaces before their domain
    events = cfn.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
    assert [e for e in events if e["ResourceStatus"] == "DELETE_FAILED"] == []
    assert not [d for d in sm.list_domains()["Domains"] if d["DomainName"] == "cfn-studio"]
    assert sm.list_user_profiles(DomainIdEquals=domain)["UserProfiles"] == []


def test_the_create_only_properties_are_cloudformation_s():
    """:data:`CREATE_ONLY` is the resource schemas' ``createOnlyProperties`` (the copies cfn-lint ships)."""
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None and spec.origin is not None
    schemas = Path(spec.origin).parent / "data" / "schemas"
    by_type = json.loads((schemas / "providers" / f"{REGION}.json").read_text())
    for resource_type, paths in sagemaker_studio.CREATE_ONLY.items():
        schema = json.loads((schemas / "resources" / f"{by_type[resource_type]}.json").read_text())
        assert sorted(p.removeprefix("/properties/") for p in schema["createOnlyProperties"]) == sorted(paths)


def test_lifecycle_configurations_are_checked_where_they_are_named(aws):
    sm, domain, role = aws
    config = {"StudioLifecycleConfigContent": "ZWNobyBoaQ==", "StudioLifecycleConfigAppType": "JupyterLab"}
    arn = sm.create_studio_lifecycle_config(StudioLifecycleConfigName="setup", **config)["StudioLifecycleConfigArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:123456789012:studio-lifecycle-config/setup"
    assert _error(sm.create_studio_lifecycle_config, StudioLifecycleConfigName="setup", **config)[0] == "ResourceInUse"
    code, message = _error(
        sm.create_studio_lifecycle_config,
        StudioLifecycleConfigName="x",
        **{**config, "StudioLifecycleConfigAppType": "Nope"},
    )
    assert code == "ValidationException" and "StudioLifecycleConfigAppType" in message
    assert sm.describe_studio_lifecycle_config(StudioLifecycleConfigName="setup")["StudioLifecycleConfigArn"] == arn
    listed = sm.list_studio_lifecycle_configs(AppTypeEquals="JupyterLab")["StudioLifecycleConfigs"]
    assert [c["StudioLifecycleConfigName"] for c in listed] == ["setup"]
    assert sm.list_studio_lifecycle_configs(NameContains="nothing")["StudioLifecycleConfigs"] == []

    missing = arn.replace("/setup", "/gone")
    settings = {"ExecutionRole": role, "JupyterLabAppSettings": {"LifecycleConfigArns": [missing]}}
    code, message = _error(sm.create_user_profile, DomainId=domain, UserProfileName="ana", UserSettings=settings)
    assert code == "ValidationException" and missing in message
    settings["JupyterLabAppSettings"]["LifecycleConfigArns"] = [arn]
    sm.create_user_profile(DomainId=domain, UserProfileName="ana", UserSettings=settings)
    code, message = _error(sm.delete_studio_lifecycle_config, StudioLifecycleConfigName="setup")
    assert code == "ResourceInUse" and "user profile ana" in message
    sm.delete_user_profile(DomainId=domain, UserProfileName="ana")
    time.sleep(0.4)
    sm.delete_studio_lifecycle_config(StudioLifecycleConfigName="setup")
    assert _error(sm.describe_studio_lifecycle_config, StudioLifecycleConfigName="setup")[0] == "ResourceNotFound"
    code, _ = _error(
        sm.create_domain,
        DomainName="other",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role, "JupyterLabAppSettings": {"LifecycleConfigArns": [arn]}},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )
    assert code == "ValidationException"


def test_a_replaced_lifecycle_configuration_goes_once_its_domain_no_longer_names_it(aws):
    sm, _, role = aws

    def template(name: str) -> str:
        arn = f"arn:aws:sagemaker:{REGION}:123456789012:studio-lifecycle-config/{name}"
        return json.dumps(
            {
                "Resources": {
                    "Setup": {
                        "Type": "AWS::SageMaker::StudioLifecycleConfig",
                        "Properties": {
                            "StudioLifecycleConfigName": name,
                            "StudioLifecycleConfigContent": "ZWNobyBoaQ==",
                            "StudioLifecycleConfigAppType": "JupyterLab",
                        },
                    },
                    "Domain": {
                        "Type": "AWS::SageMaker::Domain",
                        "DependsOn": "Setup",
                        "Properties": {
                            "DomainName": "lc",
                            "AuthMode": "IAM",
                            "DefaultUserSettings": {
                                "ExecutionRole": role,
                                "JupyterLabAppSettings": {"LifecycleConfigArns": [arn]},
                            },
                            "SubnetIds": ["subnet-1"],
                            "VpcId": "vpc-1",
                        },
                    },
                },
                "Outputs": {
                    "Ref": {"Value": {"Ref": "Setup"}},
                    "Arn": {"Value": {"Fn::GetAtt": ["Setup", "StudioLifecycleConfigArn"]}},
                },
            }
        )

    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="lc", TemplateBody=template("setup-1"))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="lc")["Stacks"][0]["Outputs"]}
    assert outputs["Ref"] == "setup-1" and outputs["Arn"].endswith(":studio-lifecycle-config/setup-1")
    cfn.update_stack(StackName="lc", TemplateBody=template("setup-2"))
    assert cfn.describe_stacks(StackName="lc")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    names = [c["StudioLifecycleConfigName"] for c in sm.list_studio_lifecycle_configs()["StudioLifecycleConfigs"]]
    assert names == ["setup-2"]
    cfn.delete_stack(StackName="lc")
    assert sm.list_studio_lifecycle_configs()["StudioLifecycleConfigs"] == []
