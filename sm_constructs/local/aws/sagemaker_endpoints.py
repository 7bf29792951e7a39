"""Endpoint lifecycles in the emulator as SageMaker runs them: they take time, and busy endpoints refuse work.

moto makes an endpoint ``InService`` the moment it is created and has no ``UpdateEndpoint``.
:func:`install` replaces its endpoint calls with the behaviour below, each rule with its source:

==========================================  =====================================================
behaviour                                    source
==========================================  =====================================================
``CreateEndpoint`` → ``Creating``, then      SageMaker API reference, CreateEndpoint ("sets the
``InService`` after ``create_seconds``       endpoint status to Creating. After it creates the
                                             endpoint, it sets the status to InService")
``UpdateEndpoint`` → ``Updating``, then      API reference, UpdateEndpoint (same wording)
``InService`` on the new config after
``update_seconds``; during the update
``EndpointConfigName`` stays the deployed    API reference, DescribeEndpoint:
config, the new one is in                    ``PendingDeploymentSummary`` ("only returned when the
``PendingDeploymentSummary``                 endpoint is creating or updating with a new endpoint
                                             configuration")
``DeleteEndpoint`` → ``Deleting``, gone      API reference, DescribeEndpoint ``EndpointStatus``
after ``delete_seconds``                     (``Deleting``)
Update or delete while ``Creating``,         ValidationException ``Cannot update in-progress
``Updating``, ``SystemUpdating``,            endpoint "<arn>".`` (the wording SageMaker returns for
``RollingBack`` or ``Deleting`` rejected     both calls, as matched by aws/amazon-sagemaker-operator-
                                             for-k8s ``DeleteEndpointInProgressMessagePrefix``)
``CreateEndpoint`` for an existing name      ValidationException ``Cannot create already existing
(``Deleting`` included) rejected             endpoint "<arn>".``
``Failed`` stays failed: only delete         API reference, DescribeEndpoint ``EndpointStatus``
                                             ("DeleteEndpoint is the only operation that can be
                                             performed on a failed endpoint"); SageMaker's message
                                             for the rejected update is not documented, the
                                             emulator's names that rule
A failed update rolls back: ``InService``    API reference, DescribeEndpoint ``FailureReason`` and
on the previous config, ``FailureReason``    the blue/green rollback ("the endpoint returns to the
set                                          previous configuration")
==========================================  =====================================================

A create or update fails when an ``EndpointFailure`` fault is pending in ``faults.json``
(``{"EndpointFailure": {"error": "<FailureReason>", "times": 1}}``), or, with IAM enforced, when a
variant's model role may not read the model's data (SageMaker reads it as that role; in another
account's bucket the bucket and key policies decide too). Durations are SageMaker's
minutes scaled by the emulator's time scale, as Wait states are. State changes are applied when
the endpoint is next read, written or invoked, so no timer threads run. Install this after any
other plug-in that replaces ``UpdateEndpoint`` or ``InvokeEndpoint``: it wraps what it finds.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

__all__ = ["EndpointTiming", "install"]

#: Statuses in which SageMaker rejects UpdateEndpoint and DeleteEndpoint (DescribeEndpoint EndpointStatus enum).
IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


class EndpointTiming:
    """How long endpoint operations take here, in seconds before the time scale.

    Defaults are short next to AWS (endpoints take several minutes) but longer than one
    ``EndpointDeployment`` poll interval (30 s), so a deployment always sees the endpoint busy.
    """

    def __init__(self, *, create: float = 90.0, update: float = 90.0, delete: float = 30.0, scale: Any = 1.0) -> None:
        self._seconds = {"create": create, "update": update, "delete": delete}
        #: a factor, or the emulator's :class:`~sm_constructs.local.server.TimeScale` (read at each use,
        #: so a time scale changed on a running emulator applies to the next operation)
        self.scale = scale

    def _scaled(self, operation: str) -> float:
        factor = getattr(self.scale, "factor", self.scale)
        return float(self._seconds[operation] * factor)

    @property
    def create(self) -> float:
        return self._scaled("create")

    @property
    def update(self) -> float:
        return self._scaled("update")

    @property
    def delete(self) -> float:
        return self._scaled("delete")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def install(timing: EndpointTiming, faults: Any, model_access: Any = None) -> None:
    """Replace moto's endpoint calls (module docs). ``faults`` is the emulator's :class:`Faults`;
    ``model_access(backend, endpoint_config_name)`` gives the ``FailureReason`` when a variant's
    model role may not read its model data (IAM enforcement), else ``None``."""
    from moto.sagemaker import responses
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint

    from .. import patches

    backend_class = "moto.sagemaker.models:SageMakerModelBackend"

    lock = threading.RLock()
    # per endpoint object (kept off the object: moto describes every attribute it has)
    due_changes: dict[Any, tuple[datetime.datetime, str, str | None, str | None]] = {}
    pending_configs: dict[Any, str] = {}

    def arn(backend: Any, name: str) -> str:
        return FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)

    def pending_failure(backend: Any, config: str) -> str | None:
        fault = faults.take("EndpointFailure") if faults is not None else None
        return fault or (model_access(backend, config) if model_access is not None else None)

    def settle(backend: Any, name: str) -> Any:
        """Apply the state change that is due, if any; the endpoint or None when it is gone."""
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return None
        due = due_changes.get(endpoint)
        if due is None or _now() < due[0]:
            return endpoint
        _, status, config, failure = due
        due_changes.pop(endpoint)
        pending_configs.pop(endpoint, None)
        if status == "Deleted":
            del backend.endpoints[name]
            return None
        endpoint.endpoint_status = status
        endpoint.failure_reason = failure
        if config is not None:
            described = backend.describe_endpoint_config(config)
            endpoint.endpoint_config_name = config
            endpoint.production_variants = endpoint._process_production_variants(described["ProductionVariants"])
            endpoint.data_capture_config = described.get("DataCaptureConfig")
        endpoint.last_modified_time = _now()
        return endpoint

    def schedule(endpoint: Any, seconds: float, status: str, config: str | None, failure: str | None) -> None:
        due_changes[endpoint] = (_now() + datetime.timedelta(seconds=seconds), status, config, failure)
        endpoint.last_modified_time = _now()

    def require(backend: Any, name: str) -> Any:
        endpoint = settle(backend, name)
        if endpoint is None:
            raise ValidationError(message=f'Could not find endpoint "{arn(backend, name)}".')
        return endpoint

    def reject_in_progress(backend: Any, endpoint: Any) -> None:
        if endpoint.endpoint_status in IN_PROGRESS:
            raise ValidationError(
                message=f'Cannot update in-progress endpoint "{arn(backend, endpoint.endpoint_name)}".'
            )

    @patches.wrap(backend_class, "create_endpoint", why="an endpoint is Creating for a while, then InService or Failed")
    def create_endpoint(
        original_create: Any, self: Any, endpoint_name: str, endpoint_config_name: str, tags: Any
    ) -> Any:
        with lock:
            if settle(self, endpoint_name) is not None:
                raise ValidationError(message=f'Cannot create already existing endpoint "{arn(self, endpoint_name)}".')
            endpoint = original_create(self, endpoint_name, endpoint_config_name, tags)
            endpoint.endpoint_status = "Creating"
            failure = pending_failure(self, endpoint_config_name)
            pending_configs[endpoint] = endpoint_config_name
            schedule(endpoint, timing.create, "Failed" if failure else "InService", None, failure)
            return endpoint

    def update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str) -> str:
        with lock:
            endpoint = require(self, endpoint_name)
            reject_in_progress(self, endpoint)
            if endpoint.endpoint_status == "Failed":
                raise ValidationError(
                    message=f'Cannot update failed endpoint "{arn(self, endpoint_name)}": '
                    "DeleteEndpoint is the only operation allowed on a failed endpoint."
                )
            self.describe_endpoint_config(endpoint_config_name)  # "Could not find endpoint configuration"
            endpoint.endpoint_status = "Updating"
            pending_configs[endpoint] = endpoint_config_name
            failure = pending_failure(self, endpoint_config_name)
            # a failed update rolls back: InService on the config it had, with the reason
            schedule(endpoint, timing.update, "InService", None if failure else endpoint_config_name, failure)
            return str(endpoint.arn)

    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        with lock:
            endpoint = require(self, endpoint_name)
            reject_in_progress(self, endpoint)
            endpoint.endpoint_status = "Deleting"
            schedule(endpoint, timing.delete, "Deleted", None, None)

    @patches.wrap(backend_class, "describe_endpoint", why="applies the due state change; PendingDeploymentSummary")
    def describe_endpoint(original_describe: Any, self: Any, endpoint_name: str) -> dict[str, Any]:
        with lock:
            endpoint = settle(self, endpoint_name)
            described = original_describe(self, endpoint_name)  # "Could not find endpoint" when gone
            pending = pending_configs.get(endpoint)
            if pending is not None and endpoint.endpoint_status in ("Creating", "Updating"):
                described["PendingDeploymentSummary"] = {"EndpointConfigName": pending}
            return described

    def update_endpoint_response(self: Any) -> Any:
        endpoint_arn = self.sagemaker_backend.update_endpoint(
            endpoint_name=self._get_param("EndpointName"), endpoint_config_name=self._get_param("EndpointConfigName")
        )
        return responses.ActionResult({"EndpointArn": endpoint_arn})

    from urllib.parse import unquote

    from moto.sagemaker.models import sagemaker_backends

    @patches.wrap(
        "moto.sagemakerruntime.responses:SageMakerRuntimeResponse",
        "invoke_endpoint",
        why="an invocation sees the endpoint's current status (wraps sagemaker_runtime's when installed after it)",
    )
    def invoke_endpoint(original_invoke: Any, self: Any) -> Any:
        """Invocations read the endpoint's status: apply what is due first (POST /endpoints/<name>/invocations)."""
        with lock:
            settle(sagemaker_backends[self.current_account][self.region], unquote(self.path.split("/")[2]))
        return original_invoke(self)

    why = "an endpoint is Deleting for a while, then gone; an in-progress one refuses"
    patches.replace(backend_class, "delete_endpoint", delete_endpoint, why=why)
    why = "UpdateEndpoint (moto has none): Updating for a while, a failed update rolls back"
    patches.add(backend_class, "update_endpoint", update_endpoint, why=why)
    patches.add("moto.sagemaker.responses:SageMakerResponse", "update_endpoint", update_endpoint_response, why=why)
    patches.apply()
