"""Per-instance-type job quotas in the emulator, answered as SageMaker answers them.

SageMaker limits the instances of each type that running jobs of each kind may use at once
(Service Quotas names them ``<instance type> for <kind> job usage``, e.g. ``ml.m5.xlarge for
training job usage``; SageMaker Developer Guide, "Amazon SageMaker AI endpoints and quotas").
A create that would go over fails with ``ResourceLimitExceeded`` and this message (SageMaker
Developer Guide, Training Compiler troubleshooting, and the AWS Knowledge Center article
"resourcelimitexceeded-sagemaker")::

    The account-level service limit 'ml.p3dn.24xlarge for training job usage' is 0 Instances, with
    current utilization of 0 Instances and a request delta of 1 Instances. Please contact AWS
    support to request an increase for this limit.

Quotas are read from ``<workdir>/quotas.json`` on every create, keyed by the quota's name:
``{"ml.m5.xlarge for training job usage": 2}``. No file, or no entry for a type: no limit here
(AWS's defaults vary per account and Region, so none is assumed).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

__all__ = ["JobQuotas", "install"]

#: create operation → (quota kind, resources field, instance type field, count field, backend jobs, status attr)
_RESOURCES: dict[str, tuple[str, list[str], str, str, str, str]] = {
    "CreateProcessingJob": (
        "processing job usage",
        ["ProcessingResources", "ClusterConfig"],
        "InstanceType",
        "InstanceCount",
        "processing_jobs",
        "processing_job_status",
    ),
    "CreateTrainingJob": (
        "training job usage",
        ["ResourceConfig"],
        "InstanceType",
        "InstanceCount",
        "training_jobs",
        "training_job_status",
    ),
    "CreateTransformJob": (
        "transform job usage",
        ["TransformResources"],
        "InstanceType",
        "InstanceCount",
        "transform_jobs",
        "transform_job_status",
    ),
}
_NAME_FIELDS = {
    "CreateProcessingJob": "ProcessingJobName",
    "CreateTrainingJob": "TrainingJobName",
    "CreateTransformJob": "TransformJobName",
}


def quota_name(operation: str, request: dict[str, Any]) -> tuple[str, int] | None:
    """The Service Quotas name a create counts against and the instances it asks for."""
    if operation not in _RESOURCES:
        return None
    kind, path, type_field, count_field, _, _ = _RESOURCES[operation]
    resources: Any = request
    for key in path:
        resources = resources.get(key) or {}
    instance_type = resources.get(type_field)
    if not instance_type:
        return None
    return f"{instance_type} for {kind}", int(resources.get(count_field, 1))


class JobQuotas:
    """Instance quotas per type and job kind (see the module docs).

    :param path: the quotas file.
    :param account_id: account of moto's backend, whose running jobs count as utilization.
    """

    def __init__(self, path: Path, account_id: str) -> None:
        self.path = path
        self.account_id = account_id
        self.lock = threading.RLock()
        #: job name → (operation, region, quota name, instances) of jobs admitted here
        self._admitted: dict[str, tuple[str, str, str, int]] = {}

    def limits(self) -> dict[str, int]:
        if not self.path.exists():
            return {}
        return {str(k): int(v) for k, v in json.loads(self.path.read_text() or "{}").items()}

    def _running(self, operation: str, region: str, name: str) -> bool:
        from moto.sagemaker.models import sagemaker_backends

        _, _, _, _, jobs, status = _RESOURCES[operation]
        job = getattr(sagemaker_backends[self.account_id][region], jobs).get(name)
        # admitted but not yet handed to the runner counts too (the create is under way)
        return job is None or getattr(job, status) == "InProgress"

    def utilization(self, quota: str) -> int:
        with self.lock:
            for name, (operation, region, _, _) in list(self._admitted.items()):
                if not self._running(operation, region, name):
                    del self._admitted[name]
            return sum(count for _, _, q, count in self._admitted.values() if q == quota)

    def admit(self, operation: str, request: dict[str, Any], region: str) -> None:
        """Count the job against its quota, or raise ``ResourceLimitExceeded`` as SageMaker does."""
        asked = quota_name(operation, request)
        if asked is None:
            return
        quota, count = asked
        with self.lock:
            limit = self.limits().get(quota)
            if limit is not None:
                used = self.utilization(quota)
                if used + count > limit:
                    message = (
                        f"The account-level service limit '{quota}' is {limit} Instances, with current utilization "
                        f"of {used} Instances and a request delta of {count} Instances. Please contact AWS support "
                        "to request an increase for this limit."
                    )
                    raise ClientError({"Error": {"Code": "ResourceLimitExceeded", "Message": message}}, operation)
            self._admitted[request[_NAME_FIELDS[operation]]] = (operation, region, quota, count)

    def release(self, operation: str, request: dict[str, Any]) -> None:
        """The create failed: the job does not count."""
        if operation in _NAME_FIELDS:
            with self.lock:
                self._admitted.pop(request.get(_NAME_FIELDS[operation], ""), None)


def install(quotas: JobQuotas) -> None:
    """Admit every job create of the Step Functions SageMaker integration against ``quotas``."""
    from .sagemaker_jobs import SageMakerIntegration

    original = SageMakerIntegration.create_job

    def create_job(self: Any, operation: str, request: dict[str, Any], region: str, create: Any) -> Any:
        quotas.admit(operation, request, region)
        try:
            return original(self, operation, request, region, create)
        except BaseException:
            quotas.release(operation, request)
            raise

    SageMakerIntegration.create_job = create_job  # type: ignore[method-assign]
