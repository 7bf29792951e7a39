"""Processing jobs (CreateProcessingJob): built-in scikit-learn / Spark containers or your own image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._iam_facts import PROCESSING
from .._kms import STACK_JOB_KEY, StackJobKey, resolve_job_key
from .._memo import attribute, duration, json_path, node_id
from .._validation import Problems, is_token, typed, whole_seconds
from ..images import ContainerImage
from ._base import SageMakerDefinition, uuid_group
from ._common import (
    CODE_CHANNEL,
    ClusterConfig,
    NetworkConfig,
    grant_role,
    render_list,
    render_network,
    validate_network,
)
from .cache import CACHED_PROCESSING_SUFFIX_CHARS, StepCache

__all__ = ["ProcessingDefinition", "ProcessingInput", "ProcessingOutput"]

_PROCESSING_ROOT = "/opt/ml/processing"
_ONE_HOUR = Duration.hours(1)


@dataclass(frozen=True)
class ProcessingInput:
    """An S3 input copied (File) or streamed (Pipe) into the container.

    :param name: input name (unique within the job).
    :param source: S3 URI, static or JSONPath (e.g. ``sfn.JsonPath.string_at("$.input.inputDataUri")``).
    :param destination: local path. Default: ``/opt/ml/processing/input/<name>``.
    :param input_mode: ``File`` (default) or ``Pipe``.
    :param distribution: ``FullyReplicated`` (default) or ``ShardedByS3Key`` (each instance gets a share).
    :param s3_data_type: ``S3Prefix`` (default) or ``ManifestFile``.
    :param compression: ``None`` (default) or ``Gzip`` (Pipe mode only).
    """

    name: str
    source: str
    _: KW_ONLY
    destination: str | None = None
    input_mode: Literal["File", "Pipe"] = "File"
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"
    s3_data_type: Literal["S3Prefix", "ManifestFile"] = "S3Prefix"
    compression: Literal["None", "Gzip"] = "None"

    @property
    def local_path(self) -> str:
        return self.destination or f"{_PROCESSING_ROOT}/input/{self.name}"


@dataclass(frozen=True)
class ProcessingOutput:
    """A local directory uploaded to S3.

    :param name: output name (unique within the job).
    :param destination: S3 URI, static or JSONPath.
    :param source: local path. Default: ``/opt/ml/processing/output/<name>``.
    :param upload_mode: ``EndOfJob`` (default) or ``Continuous``.
    """

    name: str
    destination: str
    _: KW_ONLY
    source: str | None = None
    upload_mode: Literal["EndOfJob", "Continuous"] = "EndOfJob"

    @property
    def local_path(self) -> str:
        return self.source or f"{_PROCESSING_ROOT}/output/{self.name}"


class ProcessingDefinition(SageMakerDefinition):
    """A SageMaker processing job: data preparation, feature engineering, evaluation.

    The job runs ``code`` (a local script shipped as an S3 asset and mounted at
    ``/opt/ml/processing/input/code/<asset hash>.py``, see :attr:`script_path`) in ``image``: the built-in scikit-learn image runs it with
    ``python3``, the Spark processing image with ``smspark-submit`` (set ``instance_count`` > 1 for a
    Spark cluster), or any image with your ``entrypoint``.

    :param role: the SageMaker execution role the job runs as.
    :param image: Default: ``ContainerImage.sklearn()``.
    :param code: local script (``.py``) to run. Default: - none; then ``entrypoint`` is required.
    :param entrypoint: container entrypoint. Default: - from ``code`` and the image family.
    :param arguments: command-line arguments (static or JSONPath). Default: - none.
    :param environment: environment variables. Default: - none.
    :param inputs: Default: - none.
    :param outputs: Default: - none.
    :param output_kms_key: encrypts outputs. Default: - the stack's job key (``sm_constructs._kms.job_key``), a customer-managed key shared by
        the stack's job definitions; ``None``: the bucket's default encryption.
    :param cluster: instances and volumes. Default: 1 × ml.m5.xlarge, 30 GB, encrypted with the stack's job key.
    :param max_runtime: Default: 1 hour.
    :param network: VPC, isolation, inter-container encryption. Default: - no VPC, network isolation
        (the code and inputs are copied in by SageMaker), inter-container traffic encrypted when more
        than one instance runs.
    :param cache: reuse a Completed job with the same request (see :class:`StepCache`). Default: - no
        caching: every run creates a job.
    :param name_prefix: job names are ``<prefix>-<12 hex>``. Default: - ``<stack>-<id>``.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = PROCESSING
    cacheable = True
    #: Whether the job needs ``code`` or an ``entrypoint`` (images with a program of their own do not).
    _needs_program = True

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role: iam.IRole,
        image: ContainerImage | None = None,
        code: str | Path | None = None,
        entrypoint: Sequence[str] | None = None,
        arguments: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
        inputs: Sequence[ProcessingInput] = (),
        outputs: Sequence[ProcessingOutput] = (),
        output_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
        cluster: ClusterConfig | None = None,
        max_runtime: Duration = _ONE_HOUR,
        network: NetworkConfig | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
        cache: StepCache | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        cluster = cluster or ClusterConfig()
        network = network or NetworkConfig()
        self.image = image or ContainerImage.sklearn()
        if code is None and entrypoint is None and self._needs_program:
            problems.add("code", None, "give a script to run (code) or an entrypoint for your image")
        if code is not None and not Path(code).is_file():
            problems.add("code", str(code), "must be an existing local script file")
        validate_network(problems, network)
        _validate_io(problems, inputs, outputs, code is not None)
        super().__init__(scope, id, name_prefix=name_prefix, role=role, tags=tags, problems=problems)

        self.cluster = cluster.with_key(self)
        self.network = network
        self.max_runtime = max_runtime
        self.arguments = list(arguments)
        self.environment = dict(environment or {})
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.output_kms_key = resolve_job_key(self, output_kms_key) if outputs else None
        self.image_config = self.image.bind(self)
        self.code_asset: s3_assets.Asset | None = None
        if code is not None and Path(code).is_file():  # a missing file is reported with the other problems
            self.code_asset = s3_assets.Asset(self, "Code", path=str(code))
            # SageMaker downloads the object under its own key's last segment (<asset hash>.py).
            key = self.code_asset.s3_object_key
            file_name = (
                f"{self.code_asset.asset_hash}{Path(code).suffix}"
                if Token.is_unresolved(key)
                else key.rsplit("/", 1)[-1]
            )
            self.script_path = f"{_PROCESSING_ROOT}/input/{CODE_CHANNEL}/{file_name}"
            script = self.script_path
            default_entry = ["smspark-submit", script] if self.image_config.family == "spark" else ["python3", script]
            self.entrypoint = list(entrypoint) if entrypoint else default_entry
        else:
            self.entrypoint = list(entrypoint or [])
        if cache is not None:
            self.enable_cache(cache)
        self._check_request()
        grant_role(self, role, self.image, self.code_asset, [self.cluster.volume_key, self.output_kms_key])

    # ---- rendering --------------------------------------------------------------------------
    def output_uri(self, name: str) -> str:
        """The S3 URI an output is uploaded to (e.g. for a training channel).

        A destination that depends on the execution (``$$.Execution.Name``) is read from this
        step's result instead (``$.steps.<id>.Outputs[i]``): the same URI when the job ran, and the
        earlier job's location when a cached job was reused.
        """
        for i, output in enumerate(self.outputs):
            if output.name == name:
                if _per_run(output.destination):
                    return self.state_output(f"Outputs[{i}]")
                return output.destination
        problems = Problems.at(type(self).__name__, self)
        problems.add("output_uri(name)", name, f"no such output; outputs: {', '.join(o.name for o in self.outputs)}")
        problems.raise_if_any()
        raise AssertionError  # unreachable

    def render_request(self) -> dict[str, Any]:
        inputs = [_render_input(i) for i in self.inputs]
        if self.code_asset is not None:
            inputs.append(_render_input(ProcessingInput(CODE_CHANNEL, self.code_asset.s3_object_url)))
        app: dict[str, Any] = {"ImageUri": self.image_config.image_uri}
        if self.entrypoint:
            app["ContainerEntrypoint"] = render_list(self.entrypoint)
        if self.arguments:
            app["ContainerArguments"] = render_list(self.arguments)
        request: dict[str, Any] = {
            "ProcessingJobName": self._name(),
            "RoleArn": attribute(self.role, "role_arn") if self.role else None,
            "AppSpecification": app,
            "ProcessingResources": {"ClusterConfig": self.cluster.render()},
            "StoppingCondition": {"MaxRuntimeInSeconds": whole_seconds(self.max_runtime)},
            "Tags": self._tags(),
        }
        if inputs:
            request["ProcessingInputs"] = inputs
        if self.outputs:
            output_config: dict[str, Any] = {"Outputs": [_render_output(o) for o in self.outputs]}
            if self.output_kms_key is not None:
                output_config["KmsKeyId"] = attribute(self.output_kms_key, "key_arn")
            request["ProcessingOutputConfig"] = output_config
        if self.environment:
            request["Environment"] = self.environment
        network = render_network(self.network, self.cluster.instance_count)
        if network:
            request["NetworkConfig"] = network
        return request

    def _name(self) -> str:
        if self.cache is None:
            return super()._name()
        # ``<prefix>-<key index>-<4 hex>``: the MD5 of the key's text finds the job again
        # (ListProcessingJobs NameContains); the second UUID group keeps names unique per attempt.
        index = json_path("string_at", f"$.cache.{node_id(self)}.index")
        return json_path("format", "{}-{}-{}", self.name_prefix, index, uuid_group(1))

    def _check_cached_name(self, problems: Problems) -> None:
        room = self.api.name_max - CACHED_PROCESSING_SUFFIX_CHARS
        if not self._prefix_given:
            self.name_prefix = self.name_prefix[:room].rstrip("-") or "job"
        problems.name(
            "name_prefix",
            self.name_prefix,
            max_len=self.api.name_max,
            reserve=CACHED_PROCESSING_SUFFIX_CHARS,
            what="ProcessingJobName prefix of a cached step",
        )

    def result_selector(self) -> dict[str, Any]:
        return (
            {
                "ProcessingJobName.$": "$.ProcessingJobName",
                "ProcessingJobArn.$": "$.ProcessingJobArn",
                "ProcessingJobStatus.$": "$.ProcessingJobStatus",
                "Outputs.$": "$.ProcessingOutputConfig.Outputs[*].S3Output.S3Uri",
            }
            if self.outputs
            else {
                "ProcessingJobName.$": "$.ProcessingJobName",
                "ProcessingJobArn.$": "$.ProcessingJobArn",
                "ProcessingJobStatus.$": "$.ProcessingJobStatus",
            }
        )

    def default_timeout(self) -> Duration:
        return duration("seconds", whole_seconds(self.max_runtime) + 3600)


@cache
def _per_run(value: str) -> bool:
    """Whether a (JSONPath) value is read from the execution context."""
    if not is_token(value):
        return False
    rendered = sfn.FieldUtils.render_object({"V": value}) or {}
    return "$$." in str(rendered.get("V.$", ""))


def _render_input(i: ProcessingInput) -> dict[str, Any]:
    s3_input: dict[str, Any] = {
        "S3Uri": i.source,
        "LocalPath": i.local_path,
        "S3DataType": i.s3_data_type,
        "S3InputMode": i.input_mode,
        "S3DataDistributionType": i.distribution,
    }
    if i.compression != "None":
        s3_input["S3CompressionType"] = i.compression
    return {"InputName": i.name, "AppManaged": False, "S3Input": s3_input}


def _render_output(o: ProcessingOutput) -> dict[str, Any]:
    return {
        "OutputName": o.name,
        "AppManaged": False,
        "S3Output": {"S3Uri": o.destination, "LocalPath": o.local_path, "S3UploadMode": o.upload_mode},
    }


def _validate_io(
    problems: Problems, inputs: Sequence[ProcessingInput], outputs: Sequence[ProcessingOutput], has_code: bool
) -> None:
    """Unique names, local paths and Gzip-needs-Pipe; counts (10 each), URIs and enums come from the model."""
    names = [i.name for i in inputs] + ([CODE_CHANNEL] if has_code else [])
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.add("inputs", dup, f"input names must be unique ('{CODE_CHANNEL}' is taken by the code)")
    out_names = [o.name for o in outputs]
    for dup in sorted({n for n in out_names if out_names.count(n) > 1}):
        problems.add("outputs", dup, "output names must be unique")
    for i in inputs:
        if not is_token(i.local_path) and not i.local_path.startswith(f"{_PROCESSING_ROOT}/"):
            problems.add(f"inputs[{i.name}].destination", i.local_path, f"must be under {_PROCESSING_ROOT}/")
        if i.compression == "Gzip" and i.input_mode != "Pipe":
            problems.add(f"inputs[{i.name}].compression", i.compression, "Gzip input needs input_mode='Pipe'")
    for o in outputs:
        if not is_token(o.local_path) and not o.local_path.startswith(f"{_PROCESSING_ROOT}/"):
            problems.add(f"outputs[{o.name}].source", o.local_path, f"must be under {_PROCESSING_ROOT}/")
