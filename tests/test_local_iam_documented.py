"""The IAM evaluator against rules of AWS's IAM documentation it once got wrong, and the policy types
it learnt with them (permissions boundaries, session policies, cross-account requests).

Each test quotes the page of the IAM User Guide it follows. Each pairs the case AWS denies with the
closest case AWS allows, so a test cannot pass by denying everything.
"""

import pytest

from sm_constructs.local.iam.policy import Decision, Request, authorize

ACCOUNT = "111122223333"
OTHER = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Deployer"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/release"
BUCKET = "arn:aws:s3:::artifacts"
KEY = f"arn:aws:kms:us-east-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

ALLOW, IMPLICIT, EXPLICIT = Decision.ALLOW, Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY


def policy(*statements, version="2012-10-17"):
    document = {"Statement": list(statements)}
    if version:
        document["Version"] = version
    return document


def allow(action, resource, condition=None, **extra):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if condition:
        statement["Condition"] = condition
    return statement


def deny(action, resource, **extra):
    return {**allow(action, resource, **extra), "Effect": "Deny"}


def decide(action, resource, identity=(), resource_policy=None, context=None, **kwargs):
    request = Request(ROLE, action, resource, context or {}, session="release")
    return authorize(request, list(identity), resource_policy, **kwargs)


# -- "IAM policy elements: Variables and tags" (reference_policies_variables.html) ---------------
# "Special characters: ... ${*} - use where you need an * (asterisk) character. ${?} - use where you
# need a ? (question mark) character. ${$} - use where you need a $ (dollar sign) character."
@pytest.mark.parametrize(
    ("written", "key", "expected"),
    [
        pytest.param("artifacts/${*}", "artifacts/model.tar.gz", IMPLICIT, id="${*} is not a wildcard"),
        pytest.param("artifacts/${*}", "artifacts/*", ALLOW, id="${*} is a literal asterisk"),
        pytest.param("artifacts/v${?}", "artifacts/v2", IMPLICIT, id="${?} is not a wildcard"),
        pytest.param("artifacts/v${?}", "artifacts/v?", ALLOW, id="${?} is a literal question mark"),
        pytest.param("artifacts/${$}*", "artifacts/$x", ALLOW, id="${$} is a literal dollar, * still a wildcard"),
    ],
)
def test_special_characters_in_resource(written, key, expected):
    identity = policy(allow("s3:GetObject", f"arn:aws:s3:::{written}"))
    assert decide("s3:GetObject", f"arn:aws:s3:::{key}", [identity]).decision is expected


@pytest.mark.parametrize(
    ("written", "prefix", "expected"),
    [
        pytest.param("home/${*}", "home/alice", IMPLICIT, id="${*} is not a wildcard"),
        pytest.param("home/${*}", "home/*", ALLOW, id="${*} is a literal asterisk"),
        pytest.param("home/v${?}", "home/v2", IMPLICIT, id="${?} is not a wildcard"),
        pytest.param("home/v${?}", "home/v?", ALLOW, id="${?} is a literal question mark"),
    ],
)
def test_special_characters_in_conditions(written, prefix, expected):
    identity = policy(allow("s3:ListBucket", BUCKET, {"StringLike": {"s3:prefix": written}}))
    assert decide("s3:ListBucket", BUCKET, [identity], context={"s3:prefix": prefix}).decision is expected


# "Variables were introduced in version 2012-10-17. Earlier versions of the policy language don't
# support policy variables. If you don't include the Version element and set it to an appropriate
# version date, variables like ${aws:username} are treated as literal strings in the policy."
@pytest.mark.parametrize(
    ("version", "key", "expected"),
    [
        pytest.param("2012-10-17", "alice/x", ALLOW, id="2012-10-17 substitutes"),
        pytest.param("2008-10-17", "alice/x", IMPLICIT, id="2008-10-17 does not substitute"),
        pytest.param(None, "alice/x", IMPLICIT, id="no Version does not substitute"),
        pytest.param("2008-10-17", "${aws:username}/x", ALLOW, id="2008-10-17 reads the variable as text"),
        pytest.param(None, "${aws:username}/x", ALLOW, id="no Version reads the variable as text"),
    ],
)
def test_variables_need_version_2012_10_17(version, key, expected):
    identity = policy(allow("s3:GetObject", f"{BUCKET}/${{aws:username}}/*"), version=version)
    decision = decide("s3:GetObject", f"{BUCKET}/{key}", [identity], context={"aws:username": "alice"}).decision
    assert decision is expected


def test_variables_in_conditions_need_version_2012_10_17():
    condition = {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
    context = {"aws:username": "ml", "aws:PrincipalTag/team": "ml"}
    for version, expected in (("2012-10-17", ALLOW), ("2008-10-17", IMPLICIT), (None, IMPLICIT)):
        identity = policy(allow("s3:GetObject", f"{BUCKET}/*", condition), version=version)
        assert decide("s3:GetObject", f"{BUCKET}/a", [identity], context=context).decision is expected, version


# "Specifying default values: ... surround the default value with single quotes (' '), and separate
# the variable text and the default value with a comma and space (, )."
@pytest.mark.parametrize(
    ("context", "key", "expected"),
    [
        pytest.param({}, "shared/a", ALLOW, id="no tag: the default"),
        pytest.param({"aws:PrincipalTag/team": "ml"}, "ml/a", ALLOW, id="tag: its value"),
        pytest.param({"aws:PrincipalTag/team": "ml"}, "shared/a", IMPLICIT, id="tag: not the default"),
    ],
)
def test_default_values(context, key, expected):
    identity = policy(allow("s3:GetObject", f"{BUCKET}/${{aws:PrincipalTag/team, 'shared'}}/*"))
    assert decide("s3:GetObject", f"{BUCKET}/{key}", [identity], context=context).decision is expected


def test_default_values_in_conditions():
    condition = {"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team, 'shared'}"}}
    identity = policy(allow("s3:ListBucket", BUCKET, condition))
    assert decide("s3:ListBucket", BUCKET, [identity], context={"s3:prefix": "shared"}).decision is ALLOW
    assert decide("s3:ListBucket", BUCKET, [identity], context={"s3:prefix": "other"}).decision is IMPLICIT


# -- "IAM JSON policy elements: Condition operators" (reference_policies_elements_condition_operators.html)
# ArnEquals, ArnLike: "Case-sensitive matching of the ARN. Each of the six colon-delimited components
# of the ARN is checked separately and each can include multi-character match wildcards (*) or
# single-character match wildcards (?)."
SOURCE = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/churn"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("arn:aws:sagemaker*", IMPLICIT, id="three components do not match six"),
        pytest.param("arn:aws:sagemaker:*", IMPLICIT, id="four components do not match six"),
        pytest.param("arn:aws:sagemaker:*:*:*", ALLOW, id="six components, each a wildcard"),
        pytest.param(f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/*", ALLOW, id="six components"),
        pytest.param("arn:aws:sagemaker:*:*:Model-package-group/*", IMPLICIT, id="case-sensitive"),
    ],
)
def test_arn_like_compares_six_components(written, expected):
    for operator in ("ArnLike", "ArnEquals"):
        identity = policy(allow("s3:GetObject", f"{BUCKET}/*", {operator: {"aws:SourceArn": written}}))
        decision = decide("s3:GetObject", f"{BUCKET}/a", [identity], context={"aws:SourceArn": SOURCE}).decision
        assert decision is expected, operator


def test_resource_with_fewer_than_six_components_matches_nothing():
    assert decide("s3:GetObject", f"{BUCKET}/a", [policy(allow("s3:GetObject", "arn:aws:s3*"))]).decision is IMPLICIT
    assert decide("s3:GetObject", f"{BUCKET}/a", [policy(allow("s3:GetObject", "arn:aws:s3:::*"))]).decision is ALLOW


# -- "AWS JSON policy elements: Principal" (reference_policies_elements_principal.html) -----------
# Role session principals: "To specify the assumed-role session ARN in the Principal element, use the
# following format: arn:aws:sts::AWS-account-ID:assumed-role/role-name/role-session-name"
def test_resource_policy_naming_the_assumed_role_session():
    named = policy({**allow("s3:GetObject", f"{BUCKET}/*"), "Principal": {"AWS": SESSION}})
    assert decide("s3:GetObject", f"{BUCKET}/a", [], named).decision is ALLOW
    other = policy({**allow("s3:GetObject", f"{BUCKET}/*"), "Principal": {"AWS": f"{SESSION}-2"}})
    assert decide("s3:GetObject", f"{BUCKET}/a", [], other).decision is IMPLICIT


# -- "Permissions boundaries for IAM entities" (access_policies_boundaries.html) and "Policy
# evaluation logic" (reference_policies_evaluation-logic.html) ---------------------------------
IDENTITY_S3 = policy(allow("s3:*", "*"))
BOUNDARY_READ = policy(allow("s3:GetObject", "*"))


def test_boundary_limits_identity_policies():
    got = decide("s3:GetObject", f"{BUCKET}/a", [IDENTITY_S3], boundary=BOUNDARY_READ)
    put = decide("s3:PutObject", f"{BUCKET}/a", [IDENTITY_S3], boundary=BOUNDARY_READ)
    assert got.decision is ALLOW
    assert (put.decision, put.reason) == (IMPLICIT, "because no permissions boundary allows the s3:PutObject action")


def test_boundary_grants_nothing_by_itself():
    outcome = decide("s3:GetObject", f"{BUCKET}/a", [], boundary=BOUNDARY_READ)
    assert (outcome.decision, outcome.reason) == (
        IMPLICIT,
        "because no identity-based policy allows the s3:GetObject action",
    )


def test_explicit_deny_in_boundary():
    boundary = policy(allow("s3:*", "*"), deny("s3:DeleteObject", "*"))
    outcome = decide("s3:DeleteObject", f"{BUCKET}/a", [IDENTITY_S3], boundary=boundary)
    assert (outcome.decision, outcome.reason) == (EXPLICIT, "with an explicit deny in a permissions boundary")


# "IAM role – Resource-based policies that grant permissions to an IAM role ARN are limited by an
# implicit deny in a permissions boundary or session policy." "IAM role session – Within the same
# account, resource-based policies that grant permissions to an IAM role session ARN grant
# permissions directly to the assumed role session. Permissions granted directly to a session are not
# limited by an implicit deny in an identity-based policy, a permissions boundary, or session policy."
@pytest.mark.parametrize(
    ("principal", "limit", "expected"),
    [
        pytest.param(ROLE, {}, ALLOW, id="role ARN, no boundary"),
        pytest.param(ROLE, {"boundary": BOUNDARY_READ}, IMPLICIT, id="role ARN, boundary silent"),
        pytest.param(ROLE, {"session_policies": [BOUNDARY_READ]}, IMPLICIT, id="role ARN, session policy silent"),
        pytest.param(SESSION, {"boundary": BOUNDARY_READ}, ALLOW, id="session ARN, boundary silent"),
        pytest.param(SESSION, {"session_policies": [BOUNDARY_READ]}, ALLOW, id="session ARN, session policy silent"),
        pytest.param(ACCOUNT, {}, IMPLICIT, id="account, identity silent"),
    ],
)
def test_resource_policy_grants_and_limits(principal, limit, expected):
    bucket_policy = policy({**allow("s3:PutObject", f"{BUCKET}/*"), "Principal": {"AWS": principal}})
    assert decide("s3:PutObject", f"{BUCKET}/a", [], bucket_policy, **limit).decision is expected


# -- "Session policies" (access_policies.html#policies_session) -----------------------------------
def test_session_policy_limits_identity_policies():
    session = [policy(allow("s3:GetObject", f"{BUCKET}/*"))]
    assert decide("s3:GetObject", f"{BUCKET}/a", [IDENTITY_S3], session_policies=session).decision is ALLOW
    put = decide("s3:PutObject", f"{BUCKET}/a", [IDENTITY_S3], session_policies=session)
    assert (put.decision, put.reason) == (IMPLICIT, "because no session policy allows the s3:PutObject action")
    denied = decide("s3:GetObject", f"{BUCKET}/a", [IDENTITY_S3], session_policies=[policy(deny("s3:*", "*"))])
    assert (denied.decision, denied.reason) == (EXPLICIT, "with an explicit deny in a session policy")


# -- "Cross-account policy evaluation logic" (reference_policies_evaluation-logic-cross-account.html)
# "For cross-account requests, the requester in the trusted AccountA must have an identity-based
# policy. That policy must allow them to make a request to the resource in the trusting AccountB.
# Additionally, the resource-based policy in AccountB must allow the requester in AccountA to access
# the resource. ... The request is allowed only if both evaluations return a decision of Allow."
def _shared(principal=ACCOUNT, **extra):
    return policy({**allow("s3:GetObject", f"{BUCKET}/approved/*"), "Principal": {"AWS": principal}, **extra})


@pytest.mark.parametrize(
    ("identity", "resource_policy", "limit", "expected", "reason"),
    [
        pytest.param([IDENTITY_S3], None, {}, IMPLICIT, "because no resource-based policy allows", id="no bucket policy"),
        pytest.param([], _shared(), {}, IMPLICIT, "because no identity-based policy allows", id="no identity policy"),
        pytest.param([], _shared(ROLE), {}, IMPLICIT, "because no identity-based policy allows", id="role named, no identity policy"),
        pytest.param([IDENTITY_S3], _shared(), {}, ALLOW, "", id="both allow"),
        pytest.param([IDENTITY_S3], _shared(f"arn:aws:iam::{ACCOUNT}:root"), {}, ALLOW, "", id="both allow (root ARN)"),
        pytest.param([IDENTITY_S3], _shared(f"arn:aws:iam::{OTHER}:root"), {}, IMPLICIT, "because no resource-based policy allows", id="bucket policy names its own account"),
        pytest.param([IDENTITY_S3], _shared(), {"boundary": policy(allow("s3:ListBucket", "*"))}, IMPLICIT, "because no permissions boundary allows", id="boundary silent"),
        pytest.param([IDENTITY_S3], _shared(SESSION), {"boundary": policy(allow("s3:ListBucket", "*"))}, IMPLICIT, "because no permissions boundary allows", id="session named, boundary silent"),
        pytest.param([IDENTITY_S3], _shared(Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}}), {}, IMPLICIT, "because no resource-based policy allows", id="aws:PrincipalAccount names another account"),
        pytest.param([IDENTITY_S3], _shared(Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}), {}, ALLOW, "", id="aws:PrincipalAccount names the caller's account"),
    ],
)  # fmt: skip
def test_cross_account_needs_both_accounts(identity, resource_policy, limit, expected, reason):
    context = {"aws:PrincipalAccount": ACCOUNT}
    outcome = decide(
        "s3:GetObject",
        f"{BUCKET}/approved/m.tar.gz",
        identity,
        resource_policy,
        context,
        resource_account=OTHER,
        **limit,
    )
    assert outcome.decision is expected
    assert outcome.reason.startswith(reason)


def test_cross_account_outside_the_shared_prefix():
    outcome = decide("s3:GetObject", f"{BUCKET}/draft/m.tar.gz", [IDENTITY_S3], _shared(), resource_account=OTHER)
    assert outcome.reason == "because no resource-based policy allows the s3:GetObject action"


def test_cross_account_explicit_deny_in_the_owners_policy():
    bucket_policy = _shared()
    bucket_policy["Statement"].append({**deny("s3:*", f"{BUCKET}/*"), "Principal": {"AWS": ACCOUNT}})
    outcome = decide("s3:GetObject", f"{BUCKET}/approved/m", [IDENTITY_S3], bucket_policy, resource_account=OTHER)
    assert (outcome.decision, outcome.reason) == (EXPLICIT, "with an explicit deny in a resource-based policy")


# KMS developer guide, "Allowing users in other accounts to use a KMS key": "the key policy for the KMS
# key must give the external account (or users and roles in the external account) permission to use
# the KMS key" and "IAM policies in the external account must delegate the key policy permissions".
def test_cross_account_key_needs_key_policy_and_identity_policy():
    owner_only = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "kms:*", "Resource": "*"}
    )
    shared = policy(
        *owner_only["Statement"],
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:Decrypt", "Resource": "*"},
    )
    identity = [policy(allow("kms:Decrypt", KEY))]
    for key_policy, identity_policies, expected in (
        (owner_only, identity, IMPLICIT),
        (shared, [], IMPLICIT),
        (shared, identity, ALLOW),
    ):
        outcome = decide("kms:Decrypt", KEY, identity_policies, key_policy, key_policy=True, resource_account=OTHER)
        assert outcome.decision is expected
