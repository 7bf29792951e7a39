"""Training jobs (CreateTrainingJob): built-in algorithms or framework script mode."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, Literal

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from .._algorithms import AlgorithmError, xgboost_hyperparameters
from .._iam_facts import TRAINING
from .._kms import STACK_JOB_KEY, StackJobKey, resolve_job_key
from .._memo import attribute
from .._validation import Problems, _nearest, carry, is_token, looks_like_jsonpath, typed, whole_seconds
from ..images import ContainerImage
from ._base import SageMakerDefinition
from ._common import ClusterConfig, NetworkConfig, grant_role, max_runtime_seconds, validate_cluster, validate_network
from .cache import StepCache

__all__ = [
    "ModelTrainingDefinition",
    "TrainingChannel",
    "TrainingDefinition",
    "check_xgboost_hyperparameter",
    "source_archive",
]

_ONE_HOUR = Duration.hours(1)
_MAX_RUNTIME = 28 * 24 * 3600  # SageMaker's limit for MaxRuntimeInSeconds and MaxWaitTimeInSeconds
Hyperparameter = str | int | float


@dataclass(frozen=True)
class TrainingChannel:
    """An input channel, mounted at ``/opt/ml/input/data/<name>`` (``SM_CHANNEL_<NAME>`` in script mode).

    :param name: channel name, e.g. ``train`` or ``validation``.
    :param s3_uri: S3 URI, static or JSONPath (e.g. a processing output's URI).
    :param content_type: e.g. ``text/csv`` (built-in algorithms need it). Default: - none.
    :param input_mode: ``File`` (default), ``Pipe`` or ``FastFile``.
    :param distribution: ``FullyReplicated`` (default) or ``ShardedByS3Key``.
    :param compression: ``None`` (default) or ``Gzip``.
    """

    name: str
    s3_uri: str
    _: KW_ONLY
    content_type: str | None = None
    input_mode: Literal["File", "Pipe", "FastFile"] = "File"
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"
    compression: Literal["None", "Gzip"] = "None"

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ChannelName": self.name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": self.s3_uri,
                    "S3DataDistributionType": self.distribution,
                }
            },
            "InputMode": self.input_mode,
            "CompressionType": self.compression,
        }
        if self.content_type:
            out["ContentType"] = self.content_type
        return out


def check_xgboost_hyperparameter(problems: Problems, field: str, name: str, value: Any) -> None:
    """``name=value`` against the built-in XGBoost algorithm's table (:mod:`sm_constructs._algorithms`), as
    the container checks the string SageMaker passes it; values known only at run time are skipped."""
    table = xgboost_hyperparameters()
    row = table.get(name)
    if row is None:
        problems.add(
            field,
            value,
            f"{name!r} is not a hyperparameter of the built-in XGBoost algorithm (SageMaker Developer Guide, "
            f"'XGBoost hyperparameters'){_nearest(name, table.names())}",
        )
        return
    if is_token(value) or looks_like_jsonpath(value):
        return
    text = value if isinstance(value, str) else str(value)
    try:
        row.check(text)
    except AlgorithmError as error:
        hint = _nearest(text, row.options()) if row.values and row.kind == "Categorical" else ""
        problems.add(field, value, f"the XGBoost container refuses it: {error}{hint}")


def _check_xgboost_dependencies(problems: Problems, hps: Mapping[str, Any]) -> None:
    """The container's cross-hyperparameter rules (``num_class`` for multi-class objectives ...)."""
    table = xgboost_hyperparameters()
    given = {
        table.aliases.get(k, k): None
        if is_token(v) or looks_like_jsonpath(v)
        else (v if isinstance(v, str) else str(v))
        for k, v in hps.items()
    }
    problem = table.dependency_problem(given)
    if problem:
        name, message = problem
        key = next((k for k in hps if table.aliases.get(k, k) == name), name)
        problems.add(f'hyperparameters["{key}"]', hps.get(key), f"the XGBoost container refuses it: {message}")


def source_archive(source_dir: Path) -> Path:
    """A reproducible ``sourcedir.tar.gz`` of ``source_dir`` (fixed times and owners, sorted), so the
    asset hash changes only when the code does."""
    buffer = io.BytesIO()
    files = sorted(p for p in source_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in files:
            info = tarfile.TarInfo(str(path.relative_to(source_dir)))
            data = path.read_bytes()
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
    payload = gzip.compress(buffer.getvalue(), mtime=0)
    digest = hashlib.sha256(payload).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / "sm-constructs-source" / digest / "sourcedir.tar.gz"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(payload)
    return out


class ModelTrainingDefinition(SageMakerDefinition):
    """A definition whose job trains a model: a training job, or a tuning job (its best training job).

    Its task's result selector keeps ``ModelArtifacts`` and ``Image``, which a model, a model version
    or a transform job read at run time through :attr:`model_data_url` and :attr:`image_uri`.
    """

    @property
    def model_data_url(self) -> str:
        """S3 URI of the model artifact this run trained, read at run time from the task's result."""
        return self.state_output("ModelArtifacts")

    @property
    def image_uri(self) -> str:
        """URI of the image this run trained with, read at run time from the task's result."""
        return self.state_output("Image")


class TrainingDefinition(ModelTrainingDefinition):
    """A SageMaker training job.

    Two ways to train: a built-in algorithm image such as ``ContainerImage.xgboost()`` (the
    default), or a framework image in script mode (``entry_point`` with an optional
    ``source_dir``, shipped as a reproducible ``sourcedir.tar.gz`` asset and passed through the
    ``sagemaker_program`` / ``sagemaker_submit_directory`` hyperparameters, as the SageMaker SDK does).

    :param role: the execution role the job runs as.
    :param output_path: S3 URI for ``<job>/output/model.tar.gz``, static or JSONPath.
    :param channels: input channels. Default: - none.
    :param image: Default: ``ContainerImage.xgboost()``.
    :param entry_point: script for script mode. Default: - none (algorithm mode).
    :param source_dir: folder shipped with ``entry_point``. Default: - the entry point's folder.
    :param hyperparameters: name → value (static or JSONPath string), or a JSONPath object
        token for the whole map (algorithm mode only). Default: - none.
    :param output_kms_key: encrypts the model artifact. Default: - the stack's job key (``sm_constructs._kms.job_key``), a customer-managed key shared by
        the stack's job definitions; ``None``: the bucket's default encryption.
    :param cluster: Default: 1 × ml.m5.xlarge, 30 GB, encrypted with the stack's job key.
    :param max_runtime: Default: 1 hour.
    :param use_spot_instances: managed spot training (up to 90% cheaper, may wait for capacity).
        Needs ``max_wait`` and ``checkpoint_s3_uri``. Default: False.
    :param max_wait: total time including spot waits, >= ``max_runtime``. Default: - none.
    :param checkpoint_s3_uri: where ``/opt/ml/checkpoints`` is synced. Default: - none.
    :param metric_definitions: metric name → regex on the job log. Default: - none (built-in
        algorithms publish their own).
    :param network: Default: - no VPC; network isolation except in script mode (the container downloads
        the code from S3); inter-container encryption when distributed.
    :param environment: Default: - none.
    :param cache: reuse a Completed job with the same request (see :class:`StepCache`). Default: - no
        caching: every run creates a job.
    :param keep_alive: keep the instances in a warm pool for this long after the job, so the next
        training job with the same resource settings starts without provisioning
        (``ResourceConfig.KeepAlivePeriodInSeconds``; botocore's model gives its range). Not with
        managed spot training. Default: - none: instances are released when the job ends.

    :param name_prefix: names are ``<prefix>-<12 hex>``, new per run. Default: - ``<stack name>-<id>``,
        lower-cased and cut to fit.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = TRAINING
    cacheable = True

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role: iam.IRole,
        output_path: str,
        channels: Sequence[TrainingChannel] = (),
        image: ContainerImage | None = None,
        entry_point: str | Path | None = None,
        source_dir: str | Path | None = None,
        hyperparameters: Mapping[str, Hyperparameter] | str | None = None,
        output_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
        cluster: ClusterConfig | None = None,
        max_runtime: Duration = _ONE_HOUR,
        use_spot_instances: bool = False,
        max_wait: Duration | None = None,
        checkpoint_s3_uri: str | None = None,
        metric_definitions: Mapping[str, str] | None = None,
        network: NetworkConfig | None = None,
        environment: Mapping[str, str] | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
        cache: StepCache | None = None,
        keep_alive: Duration | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        cluster = cluster or ClusterConfig()
        network = network or NetworkConfig()
        image = image or ContainerImage.xgboost()
        self._validate(
            problems,
            output_path=output_path,
            channels=channels,
            entry_point=entry_point,
            source_dir=source_dir,
            hyperparameters=hyperparameters,
            cluster=cluster,
            max_runtime=max_runtime,
            use_spot_instances=use_spot_instances,
            max_wait=max_wait,
            checkpoint_s3_uri=checkpoint_s3_uri,
            metric_definitions=metric_definitions or {},
            network=network,
            keep_alive=keep_alive,
            builtin_xgboost=getattr(image, "family", None) == "xgboost" and entry_point is None,
        )
        super().__init__(scope, id, name_prefix=name_prefix, role=role, tags=tags, problems=problems)
        self.image = image
        self.output_path = output_path.rstrip("/") if not is_token(output_path) else output_path
        self.channels = list(channels)
        self.hyperparameters = hyperparameters if hyperparameters is not None else {}
        self.output_kms_key = resolve_job_key(self, output_kms_key)
        self.cluster = cluster.with_key(self)
        self.max_runtime = max_runtime
        self.use_spot_instances = use_spot_instances
        self.max_wait = max_wait
        self.checkpoint_s3_uri = checkpoint_s3_uri
        self.metric_definitions = dict(metric_definitions or {})
        self.network = network
        self.environment = dict(environment or {})
        self.keep_alive = keep_alive
        self.image_config = image.bind(self)
        self.source_asset: s3_assets.Asset | None = None
        self.entry_point = Path(entry_point).name if entry_point else None
        if entry_point is not None and Path(entry_point).is_file():  # else reported with the other problems
            folder = Path(source_dir) if source_dir else Path(entry_point).parent
            self.source_asset = s3_assets.Asset(self, "Source", path=str(source_archive(folder)))
        if cache is not None:
            self.enable_cache(cache)
        self._check_request()
        grant_role(self, role, image, self.source_asset, [self.cluster.volume_key, self.output_kms_key])

    @staticmethod
    def _validate(problems: Problems, **p: Any) -> None:
        # URIs, channel names and count, hyperparameter and metric limits, enums: from the model.
        names = [c.name for c in p["channels"]]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.add("channels", dup, "channel names must be unique")
        entry = p["entry_point"]
        if entry is not None and not Path(entry).is_file():
            problems.add("entry_point", str(entry), "must be an existing local script")
        if p["source_dir"] is not None and entry is None:
            problems.conflict(["source_dir", "entry_point"], "source_dir is shipped for an entry_point script")
        if p["source_dir"] is not None and not Path(p["source_dir"]).is_dir():
            problems.add("source_dir", str(p["source_dir"]), "must be an existing folder")
        hps = p["hyperparameters"]
        if isinstance(hps, str):
            if entry is not None:
                problems.add(
                    "hyperparameters", "<JSONPath object>", "script mode merges sagemaker_program: give a map of values"
                )
        elif hps:
            for key, value in hps.items():
                if isinstance(value, bool):
                    problems.add(f"hyperparameters[{key}]", value, "values are strings or numbers")
                elif p["builtin_xgboost"]:
                    check_xgboost_hyperparameter(problems, f'hyperparameters["{key}"]', key, value)
            if p["builtin_xgboost"]:
                _check_xgboost_dependencies(problems, hps)
        validate_cluster(problems, p["cluster"])
        max_runtime_seconds(problems, p["max_runtime"], 1, _MAX_RUNTIME)
        if p["use_spot_instances"]:
            if p["max_wait"] is None:
                problems.add("max_wait", None, "managed spot training needs max_wait (>= max_runtime)")
            elif not p["max_wait"].is_unresolved() and p["max_wait"].to_seconds() < p["max_runtime"].to_seconds():
                problems.add("max_wait", p["max_wait"].to_human_string(), "must be at least max_runtime")
            if p["checkpoint_s3_uri"] is None:
                problems.add("checkpoint_s3_uri", None, "managed spot training needs checkpoints to resume")
            if p["keep_alive"] is not None:
                # SageMaker Developer Guide, "SageMaker AI Managed Warm Pools" (considerations): warm
                # pools are not supported with managed spot training.
                problems.conflict(
                    ["keep_alive", "use_spot_instances"], "warm pools do not work with managed spot training"
                )
        elif p["max_wait"] is not None:
            problems.conflict(["max_wait", "use_spot_instances"], "max_wait applies to managed spot training only")
        for name, regex in p["metric_definitions"].items():
            check_metric_regex(problems, f"metric_definitions[{name!r}]", regex)
        validate_network(problems, p["network"])

    # ---- rendering --------------------------------------------------------------------------
    def rendered_hyperparameters(self) -> dict[str, str] | str:
        if isinstance(self.hyperparameters, str):
            return self.hyperparameters
        out = carry(
            {k: carry(v if isinstance(v, str) else str(v), v) for k, v in self.hyperparameters.items()},
            self.hyperparameters,
        )
        if self.source_asset is not None and self.entry_point:
            out["sagemaker_program"] = self.entry_point
            out["sagemaker_submit_directory"] = self.source_asset.s3_object_url
        return out

    def algorithm_specification(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"TrainingImage": self.image_config.image_uri, "TrainingInputMode": "File"}
        if self.metric_definitions:
            spec["MetricDefinitions"] = carry(
                [{"Name": n, "Regex": r} for n, r in self.metric_definitions.items()], self.metric_definitions
            )
        return spec

    def job_template(self) -> dict[str, Any]:
        """The request fields a training job and a tuning job's training definition share."""
        output: dict[str, Any] = {"S3OutputPath": self.output_path}
        if self.output_kms_key is not None:
            output["KmsKeyId"] = attribute(self.output_kms_key, "key_arn")
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": whole_seconds(self.max_runtime)}
        body: dict[str, Any] = {
            "AlgorithmSpecification": self.algorithm_specification(),
            "RoleArn": attribute(self.role, "role_arn") if self.role else None,
            "OutputDataConfig": output,
            "ResourceConfig": self._resource_config(),
            "StoppingCondition": stopping,
            "EnableNetworkIsolation": self.network.isolation(needs_network=self.entry_point is not None),
            "EnableInterContainerTrafficEncryption": self.network.encryption(self.cluster.instance_count),
        }
        if self.channels:
            body["InputDataConfig"] = carry([c.render() for c in self.channels], self.channels)
        if self.use_spot_instances:
            body["EnableManagedSpotTraining"] = True
            assert self.max_wait is not None
            stopping["MaxWaitTimeInSeconds"] = whole_seconds(self.max_wait)
        if self.checkpoint_s3_uri:
            body["CheckpointConfig"] = {"S3Uri": self.checkpoint_s3_uri}
        vpc = self.network.vpc_config()
        if vpc:
            body["VpcConfig"] = vpc
        if self.environment:
            body["Environment"] = self.environment
        return body

    def _resource_config(self) -> dict[str, Any]:
        config = self.cluster.render()
        if self.keep_alive is not None:
            config["KeepAlivePeriodInSeconds"] = whole_seconds(self.keep_alive)
        return config

    def render_request(self) -> dict[str, Any]:
        request = {"TrainingJobName": self._name(), **self.job_template(), "Tags": self._tags()}
        hps = self.rendered_hyperparameters()
        if hps:
            request["HyperParameters"] = hps
        return request

    def publishes_metrics(self) -> bool:
        return bool(self.metric_definitions) or self.image_config.family == "xgboost"

    def result_selector(self) -> dict[str, Any]:
        out = {
            "TrainingJobName.$": "$.TrainingJobName",
            "TrainingJobArn.$": "$.TrainingJobArn",
            "TrainingJobStatus.$": "$.TrainingJobStatus",
            "ModelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
            "Image.$": "$.AlgorithmSpecification.TrainingImage",
        }
        if self.publishes_metrics():
            out["FinalMetrics.$"] = "$.FinalMetricDataList"
        return out

    def default_timeout(self) -> Duration:
        longest = self.max_wait if self.max_wait is not None else self.max_runtime
        return Duration.seconds(int(longest.to_seconds()) + 3600)


def check_metric_regex(problems: Problems, field: str, regex: Any) -> None:
    """A metric regex compiles and has exactly one capture group: SageMaker takes the metric's value
    from what that group matches in the job's log (SageMaker Developer Guide, "Define metrics and
    environment variables", automatic-model-tuning-define-metrics-variables.html)."""
    if not isinstance(regex, str) or is_token(regex):
        return
    try:
        groups = re.compile(regex).groups
    except re.error as exc:
        problems.add(field, regex, f"not a regular expression ({exc})")
        return
    if groups != 1:
        problems.add(
            field,
            regex,
            f"has {groups} capture groups; the metric's value is what exactly one group matches, e.g. "
            "'auc: ([0-9.]+)' (use (?:...) for other groups)",
        )
