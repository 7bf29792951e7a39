"""S3 buckets from CloudFormation with the versioning their template gives (a plug-in for moto).

moto's ``AWS::S3::Bucket`` applies ``BucketEncryption`` and ``Tags`` but drops
``VersioningConfiguration``, so a bucket CloudFormation creates versioned (``Status: Enabled``,
AWS::S3::Bucket VersioningConfiguration reference, "Update requires: No interruption") kept one
version per key: an overwritten object's previous version was gone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]


def _apply_versioning(bucket: Any, properties: dict[str, Any], account_id: str) -> None:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    status = (properties.get("VersioningConfiguration") or {}).get("Status")
    if status is not None:
        s3_backends[account_id][get_partition(bucket.region_name)].put_bucket_versioning(bucket.name, status)


def install() -> None:
    from .. import patches

    why = "AWS::S3::Bucket's VersioningConfiguration is applied on create and update (moto drops it)"

    patches.wrap_cloudformation("moto.s3.models:FakeBucket", why=why, made=_apply_versioning)
    patches.apply()
