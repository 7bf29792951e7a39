"""Batch transform jobs (CreateTransformJob): offline predictions for a whole dataset."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._iam_facts import TRANSFORM
from .._kms import STACK_JOB_KEY, StackJobKey, resolve_job_key
from .._memo import attribute
from .._validation import typed
from ._base import SageMakerDefinition
from ._common import ClusterConfig, grant_role, max_runtime_seconds
from .refs import IModelRef

__all__ = ["DataProcessing", "TransformDefinition"]

_ONE_HOUR = Duration.hours(1)


@dataclass(frozen=True, kw_only=True)
class DataProcessing:
    """Which part of each record goes to the model and what is written out (JSONPath filters).

    :param input_filter: e.g. ``$[1:]`` to drop an id column. Default: - whole record.
    :param output_filter: e.g. ``$[0,-1]``. Default: - whole output.
    :param join_source: ``Input`` to join each prediction to its input record. Default: ``None``.
    """

    input_filter: str | None = None
    output_filter: str | None = None
    join_source: Literal["Input", "None"] = "None"

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"JoinSource": self.join_source}
        if self.input_filter:
            out["InputFilter"] = self.input_filter
        if self.output_filter:
            out["OutputFilter"] = self.output_filter
        return out


class TransformDefinition(SageMakerDefinition):
    """A batch transform job over an S3 prefix; each input file gives ``<file>.out`` in ``output_path``.

    :param model: the ``ModelDefinition`` whose model (made earlier in the same run) predicts, or a
        model made outside this app (``ModelDefinition.from_model_name``).
    :param input_uri: S3 prefix of the input, static or JSONPath.
    :param output_path: S3 prefix for predictions, static or JSONPath.
    :param content_type: MIME type of the input. Default: ``text/csv``.
    :param split_type: ``Line`` (default), ``None``, ``RecordIO`` or ``TFRecord``.
    :param compression: ``None`` (default) or ``Gzip``.
    :param batch_strategy: ``MultiRecord`` (default) or ``SingleRecord``.
    :param max_payload_mb: 0-100. Default: 6.
    :param max_concurrent_transforms: per instance. Default: - SageMaker chooses.
    :param accept: output MIME type. Default: ``text/csv``.
    :param assemble_with: ``Line`` (default) or ``None``.
    :param data_processing: input/output filters and join. Default: - none.
    :param output_kms_key: encrypts the predictions. Default: - the stack's job key (``sm_constructs._kms.job_key``), a customer-managed key shared by
        the stack's job definitions; ``None``: the bucket's default encryption.
        The job runs as the model's role: a :class:`ModelDefinition`'s role is granted the keys.
    :param cluster: instances (volume size is not used). Default: 1 × ml.m5.large, volumes encrypted with the
        stack's job key.
    :param max_runtime: bounds the task's wait. Default: 1 hour.
    :param environment: Default: - none.
    :param name_prefix: names are ``<prefix>-<12 hex>``, new per run. Default: - ``<stack name>-<id>``,
        lower-cased and cut to fit.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = TRANSFORM

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: IModelRef,
        input_uri: str,
        output_path: str,
        content_type: str = "text/csv",
        split_type: Literal["None", "Line", "RecordIO", "TFRecord"] = "Line",
        compression: Literal["None", "Gzip"] = "None",
        batch_strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord",
        max_payload_mb: int = 6,
        max_concurrent_transforms: int | None = None,
        accept: str = "text/csv",
        assemble_with: Literal["None", "Line"] = "Line",
        data_processing: DataProcessing | None = None,
        output_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
        cluster: ClusterConfig | None = None,
        max_runtime: Duration = _ONE_HOUR,
        environment: Mapping[str, str] | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        cluster = cluster or ClusterConfig(instance_type="ml.m5.large")
        # URIs, enums, instance types, filters' length, environment (16 at most): from the model.
        # The model is an IModelRef (checked with the other argument types before this runs).
        # CreateTransformJob: "The value of MaxPayloadInMB cannot be greater than 100 MB" (model: min 0 only).
        problems.int_range("max_payload_mb", max_payload_mb, 0, 100, " MB")
        if batch_strategy == "MultiRecord" and split_type == "None":
            problems.conflict(["batch_strategy", "split_type"], "MultiRecord batches need records: set split_type")
        if data_processing is not None:
            for name in ("input_filter", "output_filter"):
                value = getattr(data_processing, name)
                if isinstance(value, str) and not value.startswith("$"):
                    problems.add(f"data_processing.{name}", value, "must be a JSONPath expression starting with '$'")
        max_runtime_seconds(problems, max_runtime, 1, 7 * 24 * 3600)
        super().__init__(scope, id, name_prefix=name_prefix, role=None, tags=tags, problems=problems)
        self.model = model
        self.input_uri = input_uri
        self.output_path = output_path
        self.content_type = content_type
        self.split_type = split_type
        self.compression = compression
        self.batch_strategy = batch_strategy
        self.max_payload_mb = max_payload_mb
        self.max_concurrent_transforms = max_concurrent_transforms
        self.accept = accept
        self.assemble_with = assemble_with
        self.data_processing = data_processing
        self.output_kms_key = resolve_job_key(self, output_kms_key)
        self.cluster = cluster.with_key(self)
        self.max_runtime = max_runtime
        self.environment = dict(environment or {})
        self._check_request()
        # The job runs as its model's execution role: the role of a model defined here gets the keys.
        model_role: iam.IRole | None = getattr(model, "role", None)
        if model_role is not None:
            grant_role(self, model_role, None, None, [self.cluster.volume_key, self.output_kms_key])

    def render_request(self) -> dict[str, Any]:
        output: dict[str, Any] = {
            "S3OutputPath": self.output_path,
            "Accept": self.accept,
            "AssembleWith": self.assemble_with,
        }
        if self.output_kms_key is not None:
            output["KmsKeyId"] = attribute(self.output_kms_key, "key_arn")
        request: dict[str, Any] = {
            "TransformJobName": self._name(),
            "ModelName": self.model.model_name,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": self.input_uri}},
                "ContentType": self.content_type,
                "SplitType": self.split_type,
                "CompressionType": self.compression,
            },
            "TransformOutput": output,
            "TransformResources": self.cluster.render(volume_size=False),
            "BatchStrategy": self.batch_strategy,
            "MaxPayloadInMB": self.max_payload_mb,
            "Tags": self._tags(),
        }
        if self.max_concurrent_transforms is not None:
            request["MaxConcurrentTransforms"] = self.max_concurrent_transforms
        if self.data_processing is not None:
            request["DataProcessing"] = self.data_processing.render()
        if self.environment:
            request["Environment"] = self.environment
        return request

    def result_selector(self) -> dict[str, Any]:
        return {
            "TransformJobName.$": "$.TransformJobName",
            "TransformJobArn.$": "$.TransformJobArn",
            "TransformJobStatus.$": "$.TransformJobStatus",
            "OutputPath.$": "$.TransformOutput.S3OutputPath",
        }

    def default_timeout(self) -> Duration:
        return Duration.seconds(int(self.max_runtime.to_seconds()) + 3600)
