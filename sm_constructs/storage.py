"""The ML data bucket: encrypted, private, versioned, retained, with prefix-scoped grants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ._flags import key_policy, pin_feature_flags
from ._iam import combine_grants
from ._kms import new_key
from ._nag import acknowledge, acknowledge_in_packs, bucket_prefix_findings
from ._validation import Problems, arn_resource_name, bucket_name_rule, is_token, typed, whole_days

__all__ = ["Access", "DataPrefix", "MlDataBucket", "default_bucket_props", "grant_data_access"]


@dataclass(frozen=True)
class DataPrefix:
    """The documented key layout of an :class:`MlDataBucket`; grants and jobs are scoped to these."""

    #: Source data as it arrives (uploads, exports); read by preprocessing.
    RAW = "raw/"
    #: Preprocessing output: train / validation / test / batch splits, per run.
    PROCESSED = "processed/"
    #: Training output: ``model.tar.gz`` artifacts, per training job.
    MODELS = "models/"
    #: Evaluation reports (``evaluation.json``) read by the quality gate.
    EVALUATION = "evaluation/"
    #: Batch transform input and predictions.
    BATCH = "batch/"
    #: Job code shipped by the pipeline (scripts, source archives).
    CODE = "code/"
    #: Managed-spot training checkpoints.
    CHECKPOINTS = "checkpoints/"
    #: Endpoint data capture (requests and responses).
    DATA_CAPTURE = "data-capture/"
    #: Model Monitor: baselines of the training data and the monitoring reports.
    MONITORING = "monitoring/"
    #: Run manifests (``<execution name>/manifest.json``: :class:`~sm_constructs.RunManifest`).
    RUNS = "runs/"


def default_bucket_props(
    *, encryption_key: kms.IKey, access_logs: s3.IBucket | None, noncurrent_version_expiration: Duration
) -> dict[str, Any]:
    """Secure defaults for ML data: KMS, private, TLS-only, versioned, retained, access-logged."""
    return {
        "encryption": s3.BucketEncryption.KMS,
        "encryption_key": encryption_key,
        "bucket_key_enabled": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
        "versioned": True,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "removal_policy": RemovalPolicy.RETAIN,
        "server_access_logs_bucket": access_logs,
        "server_access_logs_prefix": "data-bucket/" if access_logs is not None else None,
        "lifecycle_rules": [
            s3.LifecycleRule(
                id="ExpireNoncurrentVersions",
                noncurrent_version_expiration=noncurrent_version_expiration,
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
    }


#: What a grantee may do with the objects under a data prefix.
Access = Literal["read", "write", "read_write"]


def _prefix_pattern(prefix: str) -> str:
    return f"{prefix}*"


_NINETY_DAYS = Duration.days(90)
#: The action wildcards in aws-cdk's bucket grants (``Bucket.grant_read`` / ``grant_write``).
BUCKET_READ_ACTIONS = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]

_WRITE_ACTIONS = ["s3:DeleteObject*", "s3:Abort*", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
_REPLICATION_REASON = (
    "Cross-region replication is a per-deployment disaster-recovery decision (destination region, "
    "second KMS key, cost); versioning and RETAIN already protect against deletion. Pass "
    "bucket_props with replication_rules to enable it."
)


class MlDataBucket(Construct):
    """The S3 bucket for a SageMaker project's data, models and reports.

    Secure by default, each default overridable through ``bucket_props``:

    * a customer-managed KMS key with rotation (SageMaker jobs and notebooks use it through the
      grants below), S3 bucket keys to keep KMS request costs down;
    * all public access blocked, ACLs disabled, TLS 1.2+ only;
    * versioned and RETAINed (training data and models are evidence), with noncurrent versions
      expired after ``noncurrent_version_expiration``;
    * server access logs to a separate, private log bucket.

    Give ``existing_bucket`` instead to use a bucket defined elsewhere (grants still work); it
    cannot be combined with the props that shape a new bucket. ``from_bucket_name``,
    ``from_bucket_arn`` and ``from_bucket_attributes`` import a bucket made outside the app.

    :param existing_bucket: use this bucket instead of creating one: an ``s3.IBucket``, or the
        ``s3.BucketAttributes`` of a bucket made outside the app (imported here as ``Bucket``).
        Default: - a new bucket.
    :param encryption_key: the bucket's KMS key (with ``existing_bucket``: its key, so grants
        include it). Default: - a new key with rotation, RETAINed.
    :param bucket_props: overrides merged over :func:`default_bucket_props`. Default: - none.
    :param server_access_logs_bucket: where access logs go. Default: - a new log bucket.
    :param noncurrent_version_expiration: how long old object versions are kept. Default: 90 days.
    :param removal_policy: for the bucket, key and log bucket. Default: RETAIN.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        existing_bucket: s3.IBucket | s3.BucketAttributes | None = None,
        encryption_key: kms.IKey | None = None,
        bucket_props: s3.BucketProps | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        noncurrent_version_expiration: Duration = _NINETY_DAYS,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        if isinstance(existing_bucket, s3.BucketAttributes):
            _check_bucket_attributes(problems, existing_bucket)
        if existing_bucket is not None:
            if bucket_props is not None:
                problems.conflict(
                    ["existing_bucket", "bucket_props"], "bucket_props shape a new bucket; give one or the other"
                )
            if server_access_logs_bucket is not None:
                problems.conflict(
                    ["existing_bucket", "server_access_logs_bucket"],
                    "access logging of an existing bucket is configured where that bucket is defined",
                )
        days = whole_days(problems, "noncurrent_version_expiration", noncurrent_version_expiration)
        if days is not None and days < 1:
            problems.add(
                "noncurrent_version_expiration", noncurrent_version_expiration.to_human_string(), "at least 1 day"
            )
        problems.raise_if_any()
        super().__init__(scope, id)
        pin_feature_flags(self)

        self.log_bucket: s3.IBucket | None = None
        if isinstance(existing_bucket, s3.BucketAttributes):
            existing_bucket = s3.Bucket.from_bucket_attributes(self, "Bucket", **existing_bucket._values)
        if existing_bucket is not None:
            self.bucket: s3.IBucket = existing_bucket
            self.encryption_key: kms.IKey | None = encryption_key or existing_bucket.encryption_key
            self.cfn_bucket: s3.CfnBucket | None = None
            return

        self.encryption_key = encryption_key or new_key(
            self,
            "Key",
            removal_policy=removal_policy,
            description=f"Encrypts the ML data in {self.node.path}",
            policy=key_policy(),
        )
        if server_access_logs_bucket is None:
            server_access_logs_bucket = s3.Bucket(
                self,
                "AccessLogs",
                # S3 server access log delivery supports SSE-S3 only.
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
                removal_policy=removal_policy,
                lifecycle_rules=[s3.LifecycleRule(id="ExpireOldLogs", expiration=Duration.days(365))],
            )
            self.log_bucket = server_access_logs_bucket
            acknowledge_in_packs(
                server_access_logs_bucket,
                "S3DefaultEncryptionKMS",
                "S3 server access log delivery supports only SSE-S3 on the target bucket; SSE-KMS is not allowed there.",
            )
            acknowledge_in_packs(server_access_logs_bucket, "S3BucketReplicationEnabled", _REPLICATION_REASON)
            acknowledge(
                server_access_logs_bucket,
                ["AwsSolutions-S1"],
                "This is the access-log bucket itself; logging it into itself would loop.",
            )
        props = default_bucket_props(
            encryption_key=self.encryption_key,
            access_logs=server_access_logs_bucket,
            noncurrent_version_expiration=noncurrent_version_expiration,
        )
        props["removal_policy"] = removal_policy
        if bucket_props is not None:
            props.update({k: v for k, v in bucket_props._values.items()})
        bucket = s3.Bucket(self, "Bucket", **props)
        self.bucket = bucket
        self.cfn_bucket = bucket.node.default_child  # type: ignore[assignment]
        # The L1 escape hatch where aws-cdk users look for it (the child is not named "Resource").
        self.node.default_child = self.cfn_bucket
        if not props.get("replication_rules"):
            acknowledge_in_packs(bucket, "S3BucketReplicationEnabled", _REPLICATION_REASON)

    # ---- imports ------------------------------------------------------------------------------
    @staticmethod
    def from_bucket_name(scope: Construct, id: str, bucket_name: str) -> MlDataBucket:
        """A bucket made outside this app, by name, with this class's prefix-scoped grants (its KMS
        key is unknown: give it with :meth:`from_bucket_attributes` so grants cover it)."""
        return MlDataBucket(scope, id, existing_bucket=s3.BucketAttributes(bucket_name=bucket_name))

    @staticmethod
    def from_bucket_arn(scope: Construct, id: str, bucket_arn: str) -> MlDataBucket:
        """A bucket made outside this app, by ARN (``arn:<partition>:s3:::<name>``)."""
        return MlDataBucket(scope, id, existing_bucket=s3.BucketAttributes(bucket_arn=bucket_arn))

    @staticmethod
    def from_bucket_attributes(
        scope: Construct,
        id: str,
        *,
        bucket_name: str | None = None,
        bucket_arn: str | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> MlDataBucket:
        """A bucket made outside this app, by name or ARN, and its KMS key.

        :param bucket_name: its name. Default: - read from ``bucket_arn``.
        :param bucket_arn: its ARN. Default: - built from ``bucket_name``.
        :param encryption_key: its KMS key, which grants then cover. Default: - none (an SSE-S3 bucket).
        """
        attributes = s3.BucketAttributes(bucket_name=bucket_name, bucket_arn=bucket_arn, encryption_key=encryption_key)
        return MlDataBucket(scope, id, existing_bucket=attributes)

    @cached_property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    @cached_property
    def bucket_arn(self) -> str:
        return self.bucket.bucket_arn

    def enable_event_bridge(self) -> None:
        """Send the bucket's object events to EventBridge (e.g. for ``MlPipeline.add_s3_trigger``).

        Set as CloudFormation's ``NotificationConfiguration.EventBridgeConfiguration`` on the bucket
        itself: aws-cdk's ``event_bridge_enabled`` deploys a Lambda-backed custom resource instead.
        An ``existing_bucket`` is configured where it is defined: nothing changes here.
        """
        if self.cfn_bucket is not None:
            self.cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
            )

    @typed
    def s3_uri(self, prefix: str = "") -> str:
        """``s3://<bucket>/<prefix>`` (the bucket name may be a token resolved at deploy)."""
        return f"s3://{self.bucket_name}/{prefix}"

    def _check_prefix(self, method: str, prefix: str) -> None:
        problems = Problems.at(type(self).__name__, self)
        problems.s3_prefix(f"{method}(prefix)", prefix)
        problems.raise_if_any()

    def _acknowledge_grant(self, grantee: iam.IGrantable, prefix: str, actions: list[str]) -> None:
        """The grant is scoped to one prefix; record why its wildcards are acceptable on the grantee."""
        principal = grantee.grant_principal
        if not isinstance(principal, Construct):
            return
        acknowledge(
            principal,
            bucket_prefix_findings(self.bucket, prefix, actions),
            f"Scoped to objects under '{prefix}' in the ML data bucket {self.node.path}; the action wildcards "
            "are aws-cdk's standard S3/KMS read-write grant sets (GetObject*, List*, GenerateDataKey* ...).",
        )

    @typed
    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Read objects under ``prefix`` (and decrypt them). ``""`` means the whole bucket."""
        self._check_prefix("grant_read", prefix)
        self._acknowledge_grant(grantee, prefix, BUCKET_READ_ACTIONS)
        return self.bucket.grant_read(grantee, _prefix_pattern(prefix))

    @typed
    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Write objects under ``prefix`` (and encrypt them). ``""`` means the whole bucket."""
        self._check_prefix("grant_write", prefix)
        self._acknowledge_grant(grantee, prefix, _WRITE_ACTIONS)
        return self.bucket.grant_write(grantee, _prefix_pattern(prefix))

    @typed
    def grant_read_write(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Read and write objects under ``prefix``."""
        self._check_prefix("grant_read_write", prefix)
        self._acknowledge_grant(grantee, prefix, BUCKET_READ_ACTIONS + _WRITE_ACTIONS)
        return self.bucket.grant_read_write(grantee, _prefix_pattern(prefix))


def _check_bucket_attributes(problems: Problems, attributes: s3.BucketAttributes) -> None:
    """An imported bucket's name or ARN (at least one), each checked unless it is a deploy-time value."""
    name, arn = attributes.bucket_name, attributes.bucket_arn
    if name is None and arn is None:
        problems.add("existing_bucket", "BucketAttributes()", "give the bucket_name or the bucket_arn of the bucket")
    if isinstance(arn, str) and not is_token(arn):
        from_arn = arn_resource_name(problems, "bucket_arn", arn, service="s3", resource="")
        if name is None:
            name = from_arn
    if isinstance(name, str) and not is_token(name) and (rule := bucket_name_rule(name)) is not None:
        problems.add("bucket_name", name, rule)


def grant_data_access(
    bucket: MlDataBucket | s3.IBucket, grantee: iam.IGrantable, access: Mapping[str, Access]
) -> iam.Grant | None:
    """Grant ``grantee`` each prefix → :data:`Access` of ``access`` on ``bucket`` (an :class:`MlDataBucket`,
    whose grants acknowledge their prefix-scoped findings, or any ``s3.IBucket``); the combined grant,
    ``None`` for no prefixes."""
    grants = []
    for prefix, mode in access.items():
        methods = {"read": bucket.grant_read, "write": bucket.grant_write, "read_write": bucket.grant_read_write}
        scoped = prefix if isinstance(bucket, MlDataBucket) else _prefix_pattern(prefix)
        grants.append(methods[mode](grantee, scoped))
    return combine_grants(*grants) if grants else None
