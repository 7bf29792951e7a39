"""The emulator's IAM policy evaluator against a table of allow/deny cases.

Each case names the IAM User Guide rule it exercises; the expected decisions are AWS's documented
behaviour, not a reading of the evaluator. A few cases are where moto's own evaluator
(``moto.iam.access_control``) differs from AWS; they are checked against it too, so the reason
for not reusing it stays visible.
"""

import json

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from sm_constructs.local.iam.policy import Decision, Request, authorize

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Runner"
BUCKET = "arn:aws:s3:::data"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def allow(action, resource, condition=None, **extra):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def deny(action, resource, condition=None, **extra):
    policy = allow(action, resource, condition, **extra)
    policy["Statement"][0]["Effect"] = "Deny"
    return policy


PASS_ROLE = allow("iam:PassRole", ROLE, {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
SECURE_ONLY = {
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [BUCKET, f"{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
}
KEY_POLICY_ROOT = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}
KEY_POLICY_ROLE = {
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}]
}

# (case, identity policies, resource policy, is key policy, action, resource, context, expected)
CASES = [
    ("no policy: implicit deny", [], None, False, "s3:GetObject", f"{BUCKET}/a", {}, Decision.IMPLICIT_DENY),
    (
        "exact action and resource",
        [allow("s3:GetObject", f"{BUCKET}/a")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "action names are case-insensitive",
        [allow("s3:getobject", f"{BUCKET}/a")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "action wildcard *",
        [allow("s3:Get*", f"{BUCKET}/*")],
        None,
        False,
        "s3:GetObjectTagging",
        f"{BUCKET}/x/y",
        {},
        Decision.ALLOW,
    ),
    (
        "action wildcard ?",
        [allow("s3:?etObject", f"{BUCKET}/*")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/x",
        {},
        Decision.ALLOW,
    ),
    ("other service's action", [allow("s3:*", "*")], None, False, "kms:Decrypt", KEY, {}, Decision.IMPLICIT_DENY),
    (
        "resources are case-sensitive",
        [allow("s3:GetObject", f"{BUCKET}/A")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "prefix resource: inside",
        [allow("s3:PutObject", f"{BUCKET}/models/*")],
        None,
        False,
        "s3:PutObject",
        f"{BUCKET}/models/run/model.tar.gz",
        {},
        Decision.ALLOW,
    ),
    (
        "prefix resource: outside",
        [allow("s3:PutObject", f"{BUCKET}/models/*")],
        None,
        False,
        "s3:PutObject",
        f"{BUCKET}/batch/run/x",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "ARN components match separately",
        [allow("sagemaker:CreateTrainingJob", "arn:aws:sagemaker:*:*:training-job/churn-*")],
        None,
        False,
        "sagemaker:CreateTrainingJob",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-train-1",
        {},
        Decision.ALLOW,
    ),
    (
        "regex characters are literal",
        [allow("s3:GetObject", f"{BUCKET}/a.b")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/aXb",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "Resource * for a documented * call",
        [allow("sagemaker:ListTags", "*")],
        None,
        False,
        "sagemaker:ListTags",
        "*",
        {},
        Decision.ALLOW,
    ),
    (
        "a scoped grant does not cover a * call",
        [allow("sagemaker:ListTags", "arn:aws:sagemaker:*:*:training-job/*")],
        None,
        False,
        "sagemaker:ListTags",
        "*",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "NotAction allows the rest",
        [allow(None, "*", NotAction="iam:*")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "NotAction excludes",
        [allow(None, "*", NotAction="iam:*")],
        None,
        False,
        "iam:PassRole",
        ROLE,
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "NotResource allows elsewhere",
        [{"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"}]}],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "NotResource excludes",
        [{"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"}]}],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/secret/a",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "explicit deny wins over allow",
        [allow("s3:*", "*"), deny("s3:PutObject", f"{BUCKET}/*")],
        None,
        False,
        "s3:PutObject",
        f"{BUCKET}/a",
        {},
        Decision.EXPLICIT_DENY,
    ),
    (
        "Deny with NotResource",
        [allow("s3:*", "*"), {"Statement": [{"Effect": "Deny", "Action": "s3:*", "NotResource": f"{BUCKET}/ok/*"}]}],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.EXPLICIT_DENY,
    ),
    (
        "PassRole to the named service",
        [PASS_ROLE],
        None,
        False,
        "iam:PassRole",
        ROLE,
        {"iam:PassedToService": "sagemaker.amazonaws.com"},
        Decision.ALLOW,
    ),
    (
        "PassRole to another service",
        [PASS_ROLE],
        None,
        False,
        "iam:PassRole",
        ROLE,
        {"iam:PassedToService": "ec2.amazonaws.com"},
        Decision.IMPLICIT_DENY,
    ),
    ("PassRole without the key", [PASS_ROLE], None, False, "iam:PassRole", ROLE, {}, Decision.IMPLICIT_DENY),
    (
        "PassRole of another role",
        [PASS_ROLE],
        None,
        False,
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/Other",
        {"iam:PassedToService": "sagemaker.amazonaws.com"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "condition keys are case-insensitive",
        [PASS_ROLE],
        None,
        False,
        "iam:PassRole",
        ROLE,
        {"IAM:passedToService": "sagemaker.amazonaws.com"},
        Decision.ALLOW,
    ),
    (
        "StringLike",
        [allow("cloudwatch:PutMetricData", "*", {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}})],
        None,
        False,
        "cloudwatch:PutMetricData",
        "*",
        {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"},
        Decision.ALLOW,
    ),
    (
        "StringLike: no match",
        [allow("cloudwatch:PutMetricData", "*", {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}})],
        None,
        False,
        "cloudwatch:PutMetricData",
        "*",
        {"cloudwatch:namespace": "Custom"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "s3:prefix on ListBucket",
        [allow("s3:ListBucket", BUCKET, {"StringLike": {"s3:prefix": ["raw/*"]}})],
        None,
        False,
        "s3:ListBucket",
        BUCKET,
        {"s3:prefix": "raw/run/"},
        Decision.ALLOW,
    ),
    (
        "s3:prefix outside",
        [allow("s3:ListBucket", BUCKET, {"StringLike": {"s3:prefix": ["raw/*"]}})],
        None,
        False,
        "s3:ListBucket",
        BUCKET,
        {"s3:prefix": "models/"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "Bool true",
        [allow("kms:CreateGrant", KEY, {"Bool": {"kms:GrantIsForAWSResource": True}})],
        None,
        False,
        "kms:CreateGrant",
        KEY,
        {"kms:GrantIsForAWSResource": True},
        Decision.ALLOW,
    ),
    (
        "Bool: a key the request never carries",
        [allow("kms:DescribeKey", KEY, {"Bool": {"kms:GrantIsForAWSResource": True}})],
        None,
        False,
        "kms:DescribeKey",
        KEY,
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "kms:ViaService",
        [allow("kms:Decrypt", KEY, {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})],
        None,
        False,
        "kms:Decrypt",
        KEY,
        {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        Decision.ALLOW,
    ),
    (
        "kms:ViaService: direct call",
        [allow("kms:Decrypt", KEY, {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})],
        None,
        False,
        "kms:Decrypt",
        KEY,
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "StringNotEquals: key missing matches",
        [allow("s3:GetObject", "*", {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "StringEqualsIfExists: key missing",
        [allow("s3:GetObject", "*", {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "StringEqualsIfExists: key differs",
        [allow("s3:GetObject", "*", {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:SourceVpce": "vpce-2"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "Null true: key absent",
        [allow("s3:GetObject", "*", {"Null": {"aws:SourceVpce": "true"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "Null true: key present",
        [allow("s3:GetObject", "*", {"Null": {"aws:SourceVpce": "true"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:SourceVpce": "vpce-1"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "ArnLike aws:SourceArn",
        [allow("kms:Decrypt", "*", {"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:*:training-job/*"}})],
        None,
        False,
        "kms:Decrypt",
        KEY,
        {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/j"},
        Decision.ALLOW,
    ),
    (
        "NumericLessThan",
        [allow("s3:*", "*", {"NumericLessThan": {"s3:TlsVersion": 1.2}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"s3:TlsVersion": "1.3"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "DateGreaterThanEquals: the same instant, written otherwise",
        [allow("s3:*", "*", {"DateGreaterThanEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:CurrentTime": "2026-01-01T00:00:00+00:00"},
        Decision.ALLOW,
    ),
    (
        "DateLessThan: epoch seconds against ISO 8601",
        [allow("s3:*", "*", {"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:CurrentTime": "1767225600"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "two operators must both hold",
        [
            allow(
                "s3:*",
                "*",
                {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": "arn:aws:s3:::data"}},
            )
        ],
        None,
        False,
        "s3:PutObject",
        f"{BUCKET}/a",
        {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": "arn:aws:s3:::other"},
        Decision.IMPLICIT_DENY,
    ),
    (
        "one key, several values: any",
        [allow("s3:*", "*", {"StringEquals": {"aws:SourceAccount": ["1", ACCOUNT]}})],
        None,
        False,
        "s3:PutObject",
        f"{BUCKET}/a",
        {"aws:SourceAccount": ACCOUNT},
        Decision.ALLOW,
    ),
    (
        "ForAllValues on tag keys",
        [allow("sagemaker:AddTags", "*", {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}})],
        None,
        False,
        "sagemaker:AddTags",
        "*",
        {"aws:TagKeys": ["a", "c"]},
        Decision.IMPLICIT_DENY,
    ),
    (
        "ForAnyValue on tag keys",
        [allow("sagemaker:AddTags", "*", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}})],
        None,
        False,
        "sagemaker:AddTags",
        "*",
        {"aws:TagKeys": ["a", "c"]},
        Decision.ALLOW,
    ),
    (
        "unknown operator: Allow fails closed",
        [allow("s3:*", "*", {"StringSomething": {"aws:SourceAccount": ACCOUNT}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:SourceAccount": ACCOUNT},
        Decision.IMPLICIT_DENY,
    ),
    (
        "unknown operator: Deny fails closed",
        [allow("s3:*", "*"), deny("s3:*", "*", {"StringSomething": {"aws:SourceAccount": "x"}})],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.EXPLICIT_DENY,
    ),
    (
        "policy variable",
        [allow("s3:GetObject", "arn:aws:s3:::data/${aws:PrincipalTag/team}/*")],
        None,
        False,
        "s3:GetObject",
        f"{BUCKET}/ml/a",
        {"aws:PrincipalTag/team": "ml"},
        Decision.ALLOW,
    ),
    (
        "bucket policy: deny insecure transport",
        [allow("s3:*", "*")],
        SECURE_ONLY,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:SecureTransport": False},
        Decision.EXPLICIT_DENY,
    ),
    (
        "bucket policy: secure transport passes",
        [allow("s3:*", "*")],
        SECURE_ONLY,
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {"aws:SecureTransport": True},
        Decision.ALLOW,
    ),
    (
        "bucket policy naming the role allows",
        [],
        {
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
            ]
        },
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.ALLOW,
    ),
    (
        "bucket policy naming another principal",
        [],
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Other"},
                    "Action": "s3:GetObject",
                    "Resource": f"{BUCKET}/*",
                }
            ]
        },
        False,
        "s3:GetObject",
        f"{BUCKET}/a",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "bucket policy for a service principal",
        [],
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{BUCKET}/*",
                }
            ]
        },
        False,
        "s3:PutObject",
        f"{BUCKET}/a",
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "key policy enables IAM: identity allows",
        [allow("kms:Decrypt", KEY)],
        KEY_POLICY_ROOT,
        True,
        "kms:Decrypt",
        KEY,
        {},
        Decision.ALLOW,
    ),
    (
        "key policy enables IAM: identity silent",
        [],
        KEY_POLICY_ROOT,
        True,
        "kms:Decrypt",
        KEY,
        {},
        Decision.IMPLICIT_DENY,
    ),
    (
        "key policy without the account: IAM alone is not enough",
        [allow("kms:Decrypt", KEY)],
        {"Statement": []},
        True,
        "kms:Decrypt",
        KEY,
        {},
        Decision.IMPLICIT_DENY,
    ),
    ("key policy naming the role", [], KEY_POLICY_ROLE, True, "kms:Decrypt", KEY, {}, Decision.ALLOW),
    (
        "key policy deny wins",
        [allow("kms:*", KEY)],
        {
            "Statement": [
                *KEY_POLICY_ROOT["Statement"],
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "false"}},
                },
            ]
        },
        True,
        "kms:CreateGrant",
        KEY,
        {"kms:GrantIsForAWSResource": False},
        Decision.EXPLICIT_DENY,
    ),
    (
        "key policy deny does not hit AWS-resource grants",
        [allow("kms:*", KEY)],
        {
            "Statement": [
                *KEY_POLICY_ROOT["Statement"],
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "false"}},
                },
            ]
        },
        True,
        "kms:CreateGrant",
        KEY,
        {"kms:GrantIsForAWSResource": True},
        Decision.ALLOW,
    ),
    (
        "trust policy: service with aws:SourceAccount",
        [],
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                }
            ]
        },
        False,
        "sts:AssumeRole",
        ROLE,
        {"aws:SourceAccount": ACCOUNT},
        Decision.ALLOW,
    ),
]

# Control Tower CT.KMS.PR.3: deny kms:CreateGrant unless it is for an AWS resource or by an AWS service
CT_KMS_PR_3 = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "kms:CreateGrant",
    "Resource": "*",
    "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
}
CT_KEY_POLICY = {"Statement": [*KEY_POLICY_ROOT["Statement"], CT_KMS_PR_3]}
CASES += [
    ("BoolIfExists: CT.KMS.PR.3 deny hits a direct grant", [allow("kms:*", KEY)], CT_KEY_POLICY, True, "kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": False, "aws:PrincipalIsAWSService": False}, Decision.EXPLICIT_DENY),
    ("BoolIfExists: CT.KMS.PR.3 deny spares a grant for an AWS resource", [allow("kms:*", KEY)], CT_KEY_POLICY, True, "kms:CreateGrant", KEY, {"kms:GrantIsForAWSResource": True, "aws:PrincipalIsAWSService": False}, Decision.ALLOW),
    ("BoolIfExists: absent keys match", [allow("kms:*", KEY)], CT_KEY_POLICY, True, "kms:CreateGrant", KEY, {}, Decision.EXPLICIT_DENY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("identity", "resource_policy", "is_key", "action", "resource", "context", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decision(identity, resource_policy, is_key, action, resource, context, expected):
    principal = "sagemaker.amazonaws.com" if action == "sts:AssumeRole" else ROLE
    if "service principal" in str(resource_policy):
        principal = ROLE
    request = Request(principal, action, resource, context)
    identity = [{k: v for k, v in p.items()} for p in identity]
    for policy in identity:  # allow(None, ...) builds NotAction statements
        for statement in policy["Statement"]:
            if statement.get("Action", "") is None:
                del statement["Action"]
    assert authorize(request, identity, resource_policy, key_policy=is_key).decision is expected


def test_access_denied_message_names_principal_action_and_resource():
    request = Request(ROLE, "s3:PutObject", f"{BUCKET}/models/x", session="SageMaker")
    outcome = authorize(request, [allow("s3:GetObject", f"{BUCKET}/*")])
    assert outcome.message(request) == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Runner/SageMaker is not authorized to perform: "
        f"s3:PutObject on resource: {BUCKET}/models/x because no identity-based policy allows the s3:PutObject action"
    )


@pytest.mark.parametrize(
    ("statement", "action", "resource", "context"),
    [
        pytest.param(
            {"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"},
            "s3:GetObject",
            f"{BUCKET}/secret/a",
            {},
            id="NotResource ignored",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": ROLE,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            "iam:PassRole",
            ROLE,
            {},
            id="missing condition key matches",
        ),
    ],
)
def test_moto_evaluator_is_more_permissive_than_aws_here(statement, action, resource, context):
    """Why the emulator has its own evaluator: moto allows these, AWS and ours deny."""
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    assert (
        IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource, None, context) is PermissionResult.PERMITTED
    )
    assert authorize(Request(ROLE, action, resource, context), [policy]).decision is Decision.IMPLICIT_DENY
