"""The emulator's S3 buckets from CloudFormation keep the versioning their template gives."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from sm_constructs.local.aws import s3


def _template(status: str | None) -> str:
    props = {"BucketName": "data"} | ({"VersioningConfiguration": {"Status": status}} if status else {})
    return json.dumps({"Resources": {"Data": {"Type": "AWS::S3::Bucket", "Properties": props}}})


def test_a_bucket_is_versioned_as_its_template_says():
    s3.install()
    with mock_aws():
        cfn, client = boto3.client("cloudformation", "us-east-1"), boto3.client("s3", "us-east-1")
        cfn.create_stack(StackName="data", TemplateBody=_template("Enabled"))
        assert client.get_bucket_versioning(Bucket="data")["Status"] == "Enabled"
        for body in (b"first", b"second"):
            client.put_object(Bucket="data", Key="k", Body=body)
        assert len(client.list_object_versions(Bucket="data", Prefix="k")["Versions"]) == 2

        cfn.update_stack(StackName="data", TemplateBody=_template("Suspended"))
        assert client.get_bucket_versioning(Bucket="data")["Status"] == "Suspended"
