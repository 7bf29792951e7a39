"""Step Functions' optimized SageMaker integration for moto's state machine interpreter.

moto forwards ``arn:aws:states:::sagemaker:*`` requests without checking them and has no ``.sync``
pattern for SageMaker. :class:`SageMakerIntegration` supplies both, as AWS behaves:

* every request is validated against botocore's SageMaker model first; a bad key or type fails the
  task with SageMaker's ``ValidationException`` and botocore's own report as the cause;
* errors are named as Step Functions names them for this integration
  (:func:`sm_constructs._sfn_errors.optimized_error_name`, the table the library's retries read);
* request-response calls go to moto's SageMaker backend with the parameters exactly as the state
  machine rendered them;
* ``.sync`` creates the job, hands it to the local :class:`~sm_constructs.local.jobs.runner.JobRunner`,
  then polls ``Describe*`` until the job is Completed (the task output is the describe response, as
  on AWS) or Failed/Stopped (``States.TaskFailed`` with the describe response as the cause);
* faults can be injected per operation (:class:`Faults`) to exercise Retry and Catch.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import boto_client

from ..._service_model import service_model
from ..._sfn_errors import optimized_error_name

__all__ = ["JOB_KINDS", "Faults", "SageMakerIntegration", "optimized_error_name"]

#: create operation → (job kind, name field, status field) for the jobs ``.sync`` waits for.
JOB_KINDS: dict[str, tuple[str, str, str]] = {
    "CreateProcessingJob": ("ProcessingJob", "ProcessingJobName", "ProcessingJobStatus"),
    "CreateTrainingJob": ("TrainingJob", "TrainingJobName", "TrainingJobStatus"),
    "CreateTransformJob": ("TransformJob", "TransformJobName", "TransformJobStatus"),
    "CreateHyperParameterTuningJob": (
        "HyperParameterTuningJob",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
    ),
}
_FAILED = {"Failed", "Stopped"}
_event_details = cast(Any, EventDetails)  # moto's TypedDict lists every event kind as required


class Faults:
    """Errors to raise on the next calls of an operation, read from a JSON file so tests in another
    process can set them: ``{"CreateTrainingJob": {"error": "ThrottlingException", "times": 1}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def take(self, operation: str) -> str | None:
        fault = self.take_fault(operation)
        return str(fault["error"]) if fault else None

    def take_fault(self, key: str) -> dict[str, Any] | None:
        """The fault for ``key`` if one is left (and count it taken), e.g. ``{"seconds": 60, "times": 2}``."""
        with self._lock:
            if not self.path.exists():
                return None
            faults = json.loads(self.path.read_text() or "{}")
            fault = faults.get(key)
            if not fault or fault.get("times", 1) <= 0:
                return None
            fault["times"] = fault.get("times", 1) - 1
            self.path.write_text(json.dumps(faults))
            return dict(fault)


_SAGEMAKER = service_model("sagemaker")


def _cause(message: str, code: str) -> str:
    """The cause as the optimized integration words it: the message, then the SDK's service, status and code."""
    if "(Service: AmazonSageMaker;" in message:
        return message
    return f"{message} (Service: AmazonSageMaker; Status Code: 400; Error Code: {code}; Request ID: local; Proxy: null)"


def _json_safe(value: Any) -> Any:
    """Describe responses as Step Functions returns them: timestamps as epoch milliseconds."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


class SageMakerIntegration(StateTaskServiceCallback):
    """``arn:aws:states:::sagemaker:<action>[.sync]`` for moto's interpreter (see the module docs)."""

    #: set by the emulator: runs a created job locally; called with (operation, request, region)
    runner: Callable[[str, dict[str, Any], str], None] | None = None
    faults: Faults | None = None
    _model = _SAGEMAKER

    def __init__(self) -> None:
        patterns: Any = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
        super().__init__(supported_integration_patterns=patterns)

    def _validate_service_integration_is_supported(self) -> None:
        if self.resource.condition == ResourceCondition.WaitForTaskToken:
            raise ValueError(f"SageMaker has no .waitForTaskToken integration: {self.resource.resource_arn}")

    @property
    def _operation(self) -> str:
        action = self.resource.api_action
        return action[0].upper() + action[1:]

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            code = ex.response["Error"]["Code"]
            error = optimized_error_name(code)
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.TaskFailed,
                event_details=_event_details(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=error,
                        cause=_cause(ex.response["Error"]["Message"], code),
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                    )
                ),
            )
        return super()._from_error(env=env, ex=ex)

    def _client(self, region: str, credentials: Any) -> Any:
        return boto_client.boto_client_for(service="sagemaker", region=region, state_credentials=credentials)

    def _eval_service_task(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> None:
        operation = self._operation
        shape = self._model.operation_model(operation).input_shape
        report = ParamValidator().validate(normalised_parameters, shape)
        if report.has_errors():
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": report.generate_report()}}, operation
            )
        fault = self.faults.take(operation) if self.faults else None
        if fault:
            raise ClientError({"Error": {"Code": fault, "Message": f"{fault} (injected fault)"}}, operation)
        client = self._client(resource_runtime_part.region, state_credentials)

        def call() -> Any:
            return getattr(client, xform_name(operation))(**normalised_parameters)

        if operation in JOB_KINDS:
            response = self.create_job(operation, normalised_parameters, resource_runtime_part.region, call)
        else:
            response = call()
        response.pop("ResponseMetadata", None)
        env.stack.append(_json_safe(response))

    def create_job(self, operation: str, request: dict[str, Any], region: str, create: Callable[[], Any]) -> Any:
        """Create a job (``create`` calls SageMaker) and hand it to the runner; quotas wrap this."""
        response = create()
        runner = type(self).runner
        if runner is not None:
            runner(operation, request, region)
        return response

    def _build_sync_resolver(
        self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
    ) -> Callable[[], Any]:
        env.stack.pop()  # the create response; .sync outputs the describe response instead
        operation = self._operation
        if operation not in JOB_KINDS:
            raise ValueError(f"SageMaker has no .sync integration for {operation}")
        kind, name_field, status_field = JOB_KINDS[operation]
        name = normalised_parameters[name_field]
        client = self._client(resource_runtime_part.region, state_credentials)
        describe = getattr(client, xform_name(f"Describe{kind}"))

        def resolve() -> Any:
            described = describe(**{name_field: name})
            described.pop("ResponseMetadata", None)
            status = described.get(status_field)
            if status == "Completed":
                return _json_safe(described)
            if status in _FAILED:
                raise FailureEventException(
                    FailureEvent(
                        env=env,
                        error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                        event_type=HistoryEventType.TaskFailed,
                        event_details=_event_details(
                            taskFailedEventDetails=TaskFailedEventDetails(
                                error="States.TaskFailed",
                                cause=json.dumps(_json_safe(described)),
                                resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type(),
                            )
                        ),
                    )
                )
            return None

        return resolve
