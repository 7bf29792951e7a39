"""The local job runner with IAM: each S3, KMS, ECR and CloudWatch access a job makes is authorized
against its execution role (see :mod:`sm_constructs.local.iam.enforcement`)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..jobs.runner import JobFailed, JobRunner
from .calls import JOB_ACCESS
from .enforcement import PARTITION, AccessDenied, Enforcer

__all__ = ["EnforcedJobRunner"]

_ECR_IMAGE = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")
_LOG_KIND = {"processing": "ProcessingJobs", "training": "TrainingJobs", "transform": "TransformJobs"}


@dataclass(frozen=True)
class _Job:
    kind: str
    name: str
    role: str
    region: str
    account: str

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:sagemaker:{self.region}:{self.account}:{self.kind}-job/{self.name}"

    def values(self, **extra: Any) -> dict[str, Any]:
        return {
            "partition": PARTITION,
            "region": self.region,
            "account": self.account,
            "role": self.role,
            "job": self.name,
            "job_arn": self.arn,
            "log_kind": _LOG_KIND[self.kind],
            **extra,
        }


class _GuardedS3:
    """The runner's S3 client, with each call authorized as the current job's execution role."""

    def __init__(self, client: Any, runner: EnforcedJobRunner) -> None:
        self._client = client
        self._runner = runner

    def get_paginator(self, name: str) -> Any:
        paginator = self._client.get_paginator(name)
        runner = self._runner

        class Guarded:
            def paginate(self, **kwargs: Any) -> Iterator[Any]:
                runner._authorize("list", bucket=kwargs["Bucket"], prefix=kwargs.get("Prefix", ""))
                yield from paginator.paginate(**kwargs)

        return Guarded()

    def download_file(self, bucket: str, key: str, filename: str) -> None:
        self._runner._authorize(
            "read", bucket=bucket, key=key, object_key=self._runner.store.object_kms_key(bucket, key)
        )
        self._client.download_file(bucket, key, filename)

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: Mapping[str, Any] | None = None) -> None:
        kms = (ExtraArgs or {}).get("SSEKMSKeyId") or self._runner.store.bucket_kms_key(bucket)
        self._runner._authorize("write", bucket=bucket, key=key, object_key=kms)
        self._client.upload_file(filename, bucket, key, ExtraArgs=ExtraArgs)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the IAM-enforcing job runner does not authorize S3 {name}")


class EnforcedJobRunner(JobRunner):
    """:class:`~sm_constructs.local.jobs.runner.JobRunner` whose jobs act as their execution role."""

    enforcer: Enforcer

    def __init__(
        self, s3: Callable[[str], Any], workdir: Path, account_id: str, *, enforcer: Enforcer, **options: Any
    ) -> None:
        super().__init__(lambda region: _GuardedS3(s3(region), self), workdir, account_id, **options)
        self.enforcer = enforcer
        self.store = enforcer.store
        self._current = threading.local()

    # -- authorization ---------------------------------------------------------------------
    def _authorize(self, phase: str, **values: Any) -> None:
        job: _Job | None = getattr(self._current, "job", None)
        if job is None:
            raise JobFailed("InternalServerError: S3 access outside a job")
        filled = job.values(output_key=getattr(self._current, "output_key", None), **values)
        if "bucket" in values and "key" in values:
            filled["object_arn"] = f"arn:{PARTITION}:s3:::{values['bucket']}/{values['key']}"
        for call in JOB_ACCESS[phase]:
            try:
                self.enforcer.check(job.role, call, filled, session="SageMaker")
            except AccessDenied as denied:
                raise JobFailed(f"ClientError: AccessDenied: {denied}") from None

    def _start(self, kind: str, name: str, role: str | None, image: str, volume_key: str | None, region: str) -> None:
        if not role:
            raise JobFailed(f"ClientError: the {kind} job has no execution role")
        self._current.job = _Job(kind, name, role, region, self.account_id)
        self._current.output_key = None
        match = _ECR_IMAGE.match(image or "")
        repository = (
            f"arn:{PARTITION}:ecr:{match.group(2)}:{match.group(1)}:repository/{match.group(3)}" if match else None
        )
        if repository is None:
            raise JobFailed(
                f"ClientError: image {image!r} is not an ECR image URI; the emulator cannot authorize its pull"
            )
        self._authorize("start", repository=repository, volume_key=volume_key)

    # -- the runner's job kinds, each started as its role ------------------------------------
    def _processing(self, name: str, request: dict[str, Any], root: Path, log: Path, region: str) -> None:
        cluster = request.get("ProcessingResources", {}).get("ClusterConfig", {})
        image = request.get("AppSpecification", {}).get("ImageUri", "")
        self._start("processing", name, request.get("RoleArn"), image, cluster.get("VolumeKmsKeyId"), region)
        super()._processing(name, request, root, log, region)

    def _training(self, name: str, request: dict[str, Any], job: Any, root: Path, log: Path, region: str) -> None:
        resources = request.get("ResourceConfig", {})
        image = request.get("AlgorithmSpecification", {}).get("TrainingImage", "")
        self._start("training", name, request.get("RoleArn"), image, resources.get("VolumeKmsKeyId"), region)
        self._current.output_key = request.get("OutputDataConfig", {}).get("KmsKeyId")
        self._authorize("metrics")
        super()._training(name, request, job, root, log, region)

    def _transform(self, name: str, request: dict[str, Any], root: Path, log: Path, region: str) -> None:
        role, image = self.store.model_role(request.get("ModelName", ""), region)
        volume_key = request.get("TransformResources", {}).get("VolumeKmsKeyId")
        self._start("transform", name, role, image or "", volume_key, region)
        super()._transform(name, request, root, log, region)
