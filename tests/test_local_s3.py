"""The emulator's S3 buckets from CloudFormation keep the versioning their template gives."""

from __future__ import annotations

import json
from typing import Any

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


# ---- ListObjectVersions copies only the prefix it lists -------------------------------------------
def _versioned_bucket() -> Any:
    """A versioned bucket in moto's backend: keys under ``raw/`` and around it (before and after it in key
    order), several versions each, a delete marker inside and outside the prefix."""
    from moto.s3.models import s3_backends

    client = boto3.client("s3", "us-east-1")
    client.create_bucket(Bucket="data")
    client.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    for key in ("a.csv", "raw/1.csv", "raw/2.csv", "raw/sub/3.csv", "raw0", "rax", "z/9.csv"):
        for body in (b"1", b"22"):
            client.put_object(Bucket="data", Key=key, Body=body)
    client.delete_object(Bucket="data", Key="raw/2.csv")
    client.delete_object(Bucket="data", Key="rax")
    return s3_backends["123456789012"]["aws"]


#: (prefix, delimiter, key marker, version id marker, max keys); a marker "<k>" is the version id of key k.
LISTINGS = [
    ("raw/", None, None, None, 1000),
    ("raw/", "/", None, None, 1000),
    ("raw", None, None, None, 2),
    ("raw/", None, "raw/1.csv", None, 1000),
    ("raw/", None, "b", None, 1000),  # a key marker before the prefix (AWS: keys after it)
    ("raw/", None, "raw/2.csv", "<raw/2.csv>", 2),
    ("raw/", None, "a.csv", "<a.csv>", 1000),  # markers of a key outside the prefix
    ("raw/", "/", "raw/sub/", None, 1000),
    ("", None, None, None, 3),
    ("zzz", None, None, None, 1000),
]


def _listing(backend: Any, prefix: str, delimiter: Any, marker: Any, version_marker: Any, max_keys: int) -> Any:
    if version_marker:
        (latest, *_) = backend.get_bucket("data").keys.getlist(version_marker[1:-1])
        version_marker = latest.version_id
    versions, prefixes, deleted, next_key, next_version = backend.list_object_versions(
        "data", delimiter=delimiter, key_marker=marker, max_keys=max_keys, prefix=prefix,
        version_id_marker=version_marker,
    )  # fmt: skip
    seen = [(v.name, v.version_id, v.is_latest, bytes(v.value)) for v in versions]
    return seen, prefixes, [(d.name, d.version_id, d.is_latest) for d in deleted], next_key, next_version


def test_listing_versions_gives_what_moto_gives_and_copies_only_the_prefix(monkeypatch):
    from moto.s3.models import FakeKey

    from sm_constructs.local import patches

    patches.restore()  # moto's own listing first
    with mock_aws():
        backend = _versioned_bucket()
        expected = [_listing(backend, *listing) for listing in LISTINGS]
        s3.install()
        copied: list[str] = []
        getstate = FakeKey.__getstate__
        monkeypatch.setattr(FakeKey, "__getstate__", lambda key: copied.append(key.name) or getstate(key))
        assert [_listing(backend, *listing) for listing in LISTINGS] == expected
        copied.clear()
        assert [name for name, *_ in _listing(backend, "raw/", None, None, None, 1000)[0]] == [
            "raw/1.csv", "raw/1.csv", "raw/2.csv", "raw/2.csv", "raw/sub/3.csv", "raw/sub/3.csv",
        ]  # fmt: skip
        assert sorted(set(copied)) == ["raw/1.csv", "raw/2.csv", "raw/sub/3.csv"], copied
