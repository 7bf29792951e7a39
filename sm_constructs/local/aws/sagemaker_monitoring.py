"""SageMaker monitoring schedules in the emulator: the control plane only (moto has none).

``CreateMonitoringSchedule``, ``UpdateMonitoringSchedule``, ``DescribeMonitoringSchedule``,
``ListMonitoringSchedules`` and ``DeleteMonitoringSchedule`` are served from the emulator's store,
with the checks SageMaker makes and botocore's SageMaker model documents:

* a name is unique per account and region (``ResourceInUse`` on create); update, describe and
  delete of an unknown schedule fail with ``ResourceNotFound`` (the errors botocore's model lists for
  these operations);
* a schedule given a job definition (``MonitoringJobDefinitionName`` with ``MonitoringType``
  ``DataQuality``) needs that job definition to exist, and the endpoint it monitors must exist with
  data capture enabled (``ValidationException``; Model Monitor monitors captured data: SageMaker
  Developer Guide, "Capture data from real-time endpoint");
* a new schedule is ``Scheduled``.

**What does not happen here:** no monitoring execution ever runs (no analyzer, no clock-driven
jobs). A schedule is described without ``LastMonitoringExecutionSummary`` and no CloudWatch
metric is published, so drift alarms stay as they are. The first create logs that.
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

__all__ = ["install"]

_LOG = logging.getLogger("sm_constructs.local")
_NOT_RUN = (
    "monitoring schedule {name} recorded; the local emulator runs no monitoring executions "
    "(Model Monitor's analyzer cannot run here), so no report or CloudWatch metric is produced"
)


def install() -> None:
    """Add the monitoring-schedule operations to moto's SageMaker backend and responses."""
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError

    from .. import patches

    lock = threading.RLock()

    def store(backend: Any) -> dict[str, dict[str, Any]]:
        # on the backend, so that resetting moto's backends forgets the schedules too
        schedules: dict[str, dict[str, Any]] | None = getattr(backend, "_sm_local_monitoring_schedules", None)
        if schedules is None:
            schedules = {}
            backend._sm_local_monitoring_schedules = schedules
        return schedules

    def arn(backend: Any, name: str) -> str:
        return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:monitoring-schedule/{name.lower()}"

    def endpoint_of(backend: Any, config: dict[str, Any]) -> str | None:
        name = config.get("MonitoringJobDefinitionName")
        if name is None:
            inline = config.get("MonitoringJobDefinition") or {}
            inputs = inline.get("MonitoringInputs") or [{}]
            return (inputs[0].get("EndpointInput") or {}).get("EndpointName")
        if config.get("MonitoringType", "DataQuality") != "DataQuality":
            raise ValidationError(message=f"MonitoringType {config.get('MonitoringType')} is not supported locally")
        definition = backend.data_quality_job_definitions.get(name)
        if definition is None:
            raise ResourceNotFound(f"Job definition {name} not found")
        job_input = getattr(definition, "data_quality_job_input", None) or {}
        return (job_input.get("EndpointInput") or {}).get("EndpointName")

    def check_endpoint(backend: Any, config: dict[str, Any]) -> str | None:
        endpoint_name = endpoint_of(backend, config)
        if endpoint_name is None:
            return None
        try:
            endpoint = backend.describe_endpoint(endpoint_name)
        except Exception:
            raise ValidationError(message=f"Endpoint {endpoint_name} does not exist.") from None
        capture = endpoint.get("DataCaptureConfig")
        if not capture or not capture.get("EnableCapture", True):
            raise ValidationError(
                message=f"Endpoint {endpoint_name} does not have data capture enabled; monitoring needs captured data."
            )
        return endpoint_name

    def now() -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    def create(self: Any, name: str, config: dict[str, Any], tags: list[dict[str, str]]) -> str:
        with lock:
            schedules = store(self)
            if name in schedules:
                raise ResourceInUseException(message=f"Monitoring schedule {arn(self, name)} already exists.")
            endpoint_name = check_endpoint(self, config)
            schedules[name] = {
                "MonitoringScheduleArn": arn(self, name),
                "MonitoringScheduleName": name,
                "MonitoringScheduleStatus": "Scheduled",
                "MonitoringType": config.get("MonitoringType", "DataQuality"),
                "CreationTime": now(),
                "LastModifiedTime": now(),
                "MonitoringScheduleConfig": config,
                **({"EndpointName": endpoint_name} if endpoint_name else {}),
                "Tags": list(tags or []),
            }
        _LOG.warning(_NOT_RUN.format(name=name))
        return arn(self, name)

    def require(self: Any, name: str) -> dict[str, Any]:
        schedule = store(self).get(name)
        if schedule is None:
            raise ResourceNotFound(f"Monitoring schedule {arn(self, name)} does not exist.")
        return schedule

    def update(self: Any, name: str, config: dict[str, Any]) -> str:
        with lock:
            schedule = require(self, name)
            endpoint_name = check_endpoint(self, config)
            schedule["MonitoringScheduleConfig"] = config
            schedule["MonitoringType"] = config.get("MonitoringType", "DataQuality")
            schedule["LastModifiedTime"] = now()
            if endpoint_name:
                schedule["EndpointName"] = endpoint_name
            return str(schedule["MonitoringScheduleArn"])

    def describe(self: Any, name: str) -> dict[str, Any]:
        with lock:
            return {k: v for k, v in require(self, name).items() if k != "Tags"}

    def delete(self: Any, name: str) -> None:
        with lock:
            require(self, name)
            del store(self)[name]

    def listed(self: Any) -> list[dict[str, Any]]:
        with lock:
            keys = ("MonitoringScheduleName", "MonitoringScheduleArn", "CreationTime", "LastModifiedTime")
            return [
                {**{k: s[k] for k in keys}, "MonitoringScheduleStatus": s["MonitoringScheduleStatus"]}
                for s in store(self).values()
            ]

    def create_response(self: Any) -> Any:
        name = self._get_param("MonitoringScheduleName")
        created = self.sagemaker_backend.create_monitoring_schedule(
            name, self._get_param("MonitoringScheduleConfig"), self._get_param("Tags", [])
        )
        return ActionResult({"MonitoringScheduleArn": created})

    def update_response(self: Any) -> Any:
        updated = self.sagemaker_backend.update_monitoring_schedule(
            self._get_param("MonitoringScheduleName"), self._get_param("MonitoringScheduleConfig")
        )
        return ActionResult({"MonitoringScheduleArn": updated})

    def describe_response(self: Any) -> Any:
        return ActionResult(
            self.sagemaker_backend.describe_monitoring_schedule(self._get_param("MonitoringScheduleName"))
        )

    def delete_response(self: Any) -> Any:
        self.sagemaker_backend.delete_monitoring_schedule(self._get_param("MonitoringScheduleName"))
        return EmptyResult()

    def list_response(self: Any) -> Any:
        return ActionResult({"MonitoringScheduleSummaries": self.sagemaker_backend.list_monitoring_schedules()})

    why = "SageMaker's monitoring-schedule API, control plane only (moto has none)"
    for name, backend_fn, response_fn in (
        ("create_monitoring_schedule", create, create_response),
        ("update_monitoring_schedule", update, update_response),
        ("describe_monitoring_schedule", describe, describe_response),
        ("delete_monitoring_schedule", delete, delete_response),
        ("list_monitoring_schedules", listed, list_response),
    ):
        patches.add("moto.sagemaker.models:SageMakerModelBackend", name, backend_fn, why=why)
        patches.add("moto.sagemaker.responses:SageMakerResponse", name, response_fn, why=why)
    patches.apply()
