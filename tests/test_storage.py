import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match
from hypothesis import given
from hypothesis import strategies as st
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._iam import ManagedPolicyRole
from sm_constructs._validation import ConstructValidationError
from sm_constructs.storage import DataPrefix, MlDataBucket


@pytest.fixture(scope="module")
def secure():
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = ManagedPolicyRole(stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    data.grant_read(role, DataPrefix.RAW)
    data.grant_write(role, DataPrefix.PROCESSED)
    add_nag_packs(app)
    app.synth()  # raises on any unacknowledged cdk-nag finding
    return data, template_of(stack)


def _data_bucket(template):
    buckets = template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
                    ]
                }
            }
        },
    )
    ((logical_id, bucket),) = buckets.items()
    return logical_id, bucket


def test_kms_customer_key_with_rotation(secure):
    _, template = secure
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    _, bucket = _data_bucket(template)
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][1] == "Arn"
    assert rule["BucketKeyEnabled"] is True


def test_private_versioned_retained_logged(secure):
    _, template = secure
    logical_id, bucket = _data_bucket(template)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert props["LoggingConfiguration"]["DestinationBucketName"]["Ref"] != logical_id
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})


def test_tls_only_policy(secure):
    _, template = secure
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                        Match.object_like({"Effect": "Deny", "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}}),
                    ]
                )
            }
        },
    )


def test_grants_are_scoped_to_prefixes_and_include_the_key(secure):
    data, template = secure
    _logical_id, _ = _data_bucket(template)
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    text = str(policy["Properties"]["PolicyDocument"])
    assert "/raw/*" in text and "/processed/*" in text
    assert "kms:Decrypt" in text and "kms:GenerateDataKey*" in text
    object_resources = [
        r
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        if "Fn::Join" in r
    ]
    assert object_resources and all(r["Fn::Join"][1][1] in ("/raw/*", "/processed/*") for r in object_resources)
    assert data.s3_uri("raw/").startswith("s3://") and data.s3_uri("raw/").endswith("/raw/")


def test_template_is_cfn_lint_clean(secure):
    _, template = secure
    assert cfn_lint(template.to_json()) == []


def test_overrides_are_merged_over_defaults():
    stack = new_stack()
    key = kms.Key(stack, "MyKey", enable_key_rotation=True)
    logs = s3.Bucket(stack, "MyLogs", enforce_ssl=True)
    MlDataBucket(
        stack,
        "Data",
        encryption_key=key,
        server_access_logs_bucket=logs,
        bucket_props=s3.BucketProps(bucket_name="my-ml-data", versioned=True),
        noncurrent_version_expiration=Duration.days(30),
        removal_policy=RemovalPolicy.DESTROY,
    )
    template = template_of(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.resource_count_is("AWS::S3::Bucket", 2)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketName": "my-ml-data",
                    "LifecycleConfiguration": {
                        "Rules": [Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 30}})]
                    },
                }
            ),
            "DeletionPolicy": "Delete",
        },
    )


def test_existing_bucket_is_used_as_is():
    stack = new_stack()
    imported = s3.Bucket.from_bucket_name(stack, "Imported", "team-data")
    data = MlDataBucket(stack, "Data", existing_bucket=imported)
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    data.grant_read(role, "raw/")
    template = template_of(stack)
    template.resource_count_is("AWS::S3::Bucket", 0)
    assert "team-data/raw/*" in str(template.find_resources("AWS::IAM::Policy"))
    assert data.s3_uri("raw/") == "s3://team-data/raw/"


def test_conflicting_props_are_all_reported():
    stack = new_stack()
    imported = s3.Bucket.from_bucket_name(stack, "Imported", "team-data")
    with pytest.raises(ConstructValidationError) as err:
        MlDataBucket(
            stack,
            "Data",
            existing_bucket=imported,
            bucket_props=s3.BucketProps(versioned=False),
            server_access_logs_bucket=imported,
        )
    message = str(err.value)
    assert message.startswith("MlDataBucket 'Test/Data': 2 problems")
    assert "existing_bucket and bucket_props conflict" in message
    assert "existing_bucket and server_access_logs_bucket conflict" in message


@pytest.mark.parametrize("prefix", ["/raw/", "s3://bucket/raw/", "raw/*"])
def test_bad_grant_prefix(prefix):
    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    with pytest.raises(ConstructValidationError, match=r"MlDataBucket 'Test/Data': grant_read\(prefix\)="):
        data.grant_read(role, prefix)


@given(st.text(alphabet="abc/-_.*:", min_size=0, max_size=12))
def test_prefix_rule(prefix):
    from sm_constructs._validation import Problems

    p = Problems("X", "x")
    p.s3_prefix("prefix", prefix)
    bad = prefix.startswith("/") or prefix.startswith("s3://") or "*" in prefix
    assert bool(p) == bad


def _imported_bucket_app(*, through_ml_data_bucket: bool):
    app = new_app()
    stack = new_stack(app)
    by_name = s3.Bucket.from_bucket_name(stack, "ByName", "team-data")
    by_arn = s3.Bucket.from_bucket_arn(stack, "ByArn", "arn:aws:s3:::team-archive")
    role = ManagedPolicyRole(stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    for index, imported in enumerate((by_name, by_arn)):
        if through_ml_data_bucket:
            data = MlDataBucket(stack, f"Data{index}", existing_bucket=imported)
            data.grant_read(role, DataPrefix.RAW)
            data.grant_read_write(role, DataPrefix.MODELS)
        else:
            imported.grant_read(role, f"{DataPrefix.RAW}*")
    add_nag_packs(app)
    return app


def test_prefix_grants_on_an_imported_bucket_carry_the_same_acknowledgements():
    _imported_bucket_app(through_ml_data_bucket=True).synth()  # raises on any unacknowledged finding


def test_the_same_grants_made_directly_on_the_imported_bucket_are_findings():
    """The control: without MlDataBucket's acknowledgement cdk-nag reports the prefix wildcard."""
    with pytest.raises(Exception, match=r"AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:s3:::team-data/raw/\*\]"):
        _imported_bucket_app(through_ml_data_bucket=False).synth()
