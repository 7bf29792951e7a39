import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._iam import ManagedPolicyRole
from sm_constructs._validation import ConstructValidationError
from sm_constructs.roles import SageMakerExecutionRole


@pytest.fixture(scope="module")
def synthesized():
    app = new_app()
    stack = new_stack(app)
    role = SageMakerExecutionRole(stack, "Exec")
    role.grant_key(kms.Key(stack, "Key", enable_key_rotation=True))
    role.grant_ecr_pull(
        ecr.Repository(stack, "Repo", image_scan_on_push=True),
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn",
    )
    caller = ManagedPolicyRole(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    role.grant_pass_to_sagemaker(caller)
    add_nag_packs(app)
    app.synth()
    return template_of(stack)


def _statements(template):
    return [
        s
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_trusts_only_sagemaker_for_this_account(synthesized):
    roles = synthesized.find_resources("AWS::IAM::Role")
    exec_role = next(r for k, r in roles.items() if k.startswith("Exec"))
    (stmt,) = exec_role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "ManagedPolicyArns" not in exec_role["Properties"]  # no AWS-managed policies


def test_no_inline_policies(synthesized):
    synthesized.resource_count_is("AWS::IAM::Policy", 0)


def test_logs_limited_to_sagemaker_log_groups(synthesized):
    logs = [s for s in _statements(synthesized) if "logs:PutLogEvents" in s["Action"]]
    assert logs and all("/aws/sagemaker/*" in str(s["Resource"]) for s in logs)
    metrics = next(s for s in _statements(synthesized) if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"]["StringLike"]["cloudwatch:namespace"] == ["/aws/sagemaker/*", "aws/sagemaker/*"]


def test_ecr_pull_is_per_repository(synthesized):
    pulls = [s for s in _statements(synthesized) if "ecr:BatchGetImage" in s["Action"]]
    assert pulls and all(s["Resource"] != "*" for s in pulls)
    assert "sagemaker-scikit-learn" in str(pulls)
    token = [s for s in _statements(synthesized) if s["Action"] == "ecr:GetAuthorizationToken"]
    assert len(token) == 1 and token[0]["Resource"] == "*"


def test_kms_grant_for_aws_resources_only(synthesized):
    create = next(s for s in _statements(synthesized) if s["Action"] == "kms:CreateGrant")
    assert create["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}


def test_pass_role_only_to_sagemaker(synthesized):
    (stmt,) = [s for s in _statements(synthesized) if s["Action"] == "iam:PassRole"]
    assert stmt["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert stmt["Resource"]["Fn::GetAtt"][0].startswith("Exec")


def test_no_vpc_permissions_unless_asked(synthesized):
    assert not [s for s in _statements(synthesized) if "ec2:CreateNetworkInterface" in s["Action"]]
    stack = new_stack()
    SageMakerExecutionRole(stack, "Exec", vpc_access=True)
    assert "ec2:CreateNetworkInterface" in str(template_of(stack).to_json())


def test_cfn_lint_clean(synthesized):
    assert cfn_lint(synthesized.to_json()) == []


def test_bad_role_name():
    with pytest.raises(ConstructValidationError, match=r"SageMakerExecutionRole 'Test/Exec': role_name='bad name!'"):
        SageMakerExecutionRole(new_stack(), "Exec", role_name="bad name!")
