"""The run manifest: one JSON object per run, written by the state machine beside the run's outputs.

``s3://<bucket>/<key_prefix><execution name>/manifest.json``, with an S3 ``PutObject`` through the
AWS SDK integration (no Lambda), encrypted with the bucket's KMS key (``aws:kms``). It holds the
facts lineage records (:mod:`sm_constructs.lineage`) in one readable place: the execution and its
input, each step's result (job names and ARNs, outputs, the model artifact, the version), each
cached step's data fingerprints (``$.cache``), the lineage context and actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._iam_facts import MANIFEST_KEY_ACTIONS, MANIFEST_WRITE_ACTIONS, VIA_SERVICE
from ._memo import statement
from ._nag import acknowledge, bucket_prefix_findings
from ._validation import Problems
from .graph import format_text
from .jobs._task import SageMakerTask
from .storage import MlDataBucket

__all__ = ["MANIFEST_NAME", "RunManifest", "acknowledge_manifest", "manifest_states"]

#: The object name under the run's prefix.
MANIFEST_NAME = "manifest.json"
#: S3 throttles with ``SlowDown`` (503), which S3's model does not declare: through the AWS SDK integration
#: an unmodeled code is the service's base exception (the rule :mod:`sm_constructs._sfn_errors` cites).
S3_SDK_ERROR = "S3.S3Exception"


@dataclass(frozen=True)
class RunManifest:
    """Where each run writes its manifest: ``s3://<bucket>/<key_prefix><execution name>/manifest.json``.

    :param bucket: the ML data bucket (its KMS key encrypts the manifest).
    :param key_prefix: Default: ``runs/``.
    """

    bucket: MlDataBucket
    key_prefix: str = "runs/"

    def check(self, problems: Problems, field: str) -> None:
        problems.s3_prefix(f"{field}.key_prefix", self.key_prefix)
        if isinstance(self.key_prefix, str) and self.key_prefix.endswith("\\"):  # graph.format_text
            problems.add(
                f"{field}.key_prefix",
                self.key_prefix,
                "the execution's name follows it in a States.Format template, where a backslash before it "
                "would escape the placeholder: end it in another character, e.g. '/'",
            )
        if self.bucket.encryption_key is None:
            problems.add(f"{field}.bucket", self.bucket.node.path, "the manifest is written with the bucket's KMS key")


def manifest_states(
    scope: Construct,
    manifest: RunManifest,
    *,
    facts: dict[str, Any],
) -> tuple[sfn.Pass, SageMakerTask]:
    """The states that write the manifest: ``(build, put)``. ``facts`` are the object's fields
    (JSONPath tokens or literals) beside the execution's; the caller chains and catches ``put``."""
    build = sfn.Pass(
        scope,
        "Manifest",
        parameters={
            "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
            "stateMachine": sfn.JsonPath.string_at("$$.StateMachine.Id"),
            "startTime": sfn.JsonPath.string_at("$$.Execution.StartTime"),
            **facts,
        },
        result_path="$.manifest",
        comment="The run's facts, written as JSON beside its outputs",
    )
    key = sfn.JsonPath.format(
        f"{format_text(manifest.key_prefix)}{{}}/{MANIFEST_NAME}", sfn.JsonPath.string_at("$$.Execution.Name")
    )
    bucket, kms_key = manifest.bucket, manifest.bucket.encryption_key
    assert kms_key is not None  # RunManifest.check
    objects = bucket.bucket.arn_for_objects(f"{manifest.key_prefix}*")
    put = SageMakerTask(
        scope,
        "WriteManifest",
        resource=f"arn:{Aws.PARTITION}:states:::aws-sdk:s3:putObject",
        parameters=sfn.FieldUtils.render_object(
            {
                "Bucket": bucket.bucket_name,
                "Key": key,
                "Body": sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.manifest")),
                "ContentType": "application/json",
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": kms_key.key_arn,
            }
        )
        or {},
        policy_statements=[
            statement(scope, actions=list(MANIFEST_WRITE_ACTIONS), resources=[objects]),
            statement(
                scope,
                actions=list(MANIFEST_KEY_ACTIONS),
                resources=[kms_key.key_arn],
                conditions={"StringEquals": {VIA_SERVICE: f"s3.{Aws.REGION}.amazonaws.com"}},
            ),
        ],
        result_path=sfn.JsonPath.DISCARD,
    )
    put.add_retry(
        errors=[S3_SDK_ERROR],
        interval=Duration.seconds(5),
        backoff_rate=2,
        max_attempts=3,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return build, put


def acknowledge_manifest(role: Any, manifest: RunManifest) -> None:
    """The manifest's grant is one action on one prefix of the data bucket: say so to cdk-nag."""
    acknowledge(
        role,
        [f for f in bucket_prefix_findings(manifest.bucket.bucket, manifest.key_prefix, []) if "Resource::" in f],
        f"The run manifest: s3:PutObject under '{manifest.key_prefix}' of the ML data bucket only, one object per "
        "execution (<prefix><execution name>/manifest.json).",
    )
