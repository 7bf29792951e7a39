"""Field names of AWS SDK integrations (``arn:aws:states:::aws-sdk:<service>:<action>``) as on AWS.

Step Functions takes and returns the API's fields with an upper-case first letter whatever the
service's own casing (AWS docs, "Using AWS SDK service integrations": ``StateMachineArn`` for
Step Functions' ``stateMachineArn``, ``Executions`` for ``executions``). moto's interpreter
passes the task's parameters through unchanged and returns boto3's response keys, which only
works for services whose API is already PascalCase (SageMaker, S3). This plug-in maps both ways
with botocore's model of the operation: a parameter whose name matches a member once its first
letter is lowered is renamed to the member, and response members get an upper-case first letter.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from ..._service_model import service_model

__all__ = ["install"]


@cache
def _operation(service: str, action: str) -> OperationModel | None:
    try:
        model = service_model(service)
        return model.operation_model(action[0].upper() + action[1:])
    except Exception:  # unknown service or operation: leave the fields alone (boto reports the error)
        return None


def to_api(value: Any, shape: Shape | None) -> Any:
    """Rename ``StateMachineArn`` to ``stateMachineArn`` where the model says so, recursively."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = key
            if key not in shape.members and key[:1].lower() + key[1:] in shape.members:
                name = key[:1].lower() + key[1:]
            out[name] = to_api(item, shape.members.get(name))
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_api(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: to_api(v, shape.value) for k, v in value.items()}
    return value


def to_states(value: Any, shape: Shape | None) -> Any:
    """Give every modeled member an upper-case first letter, recursively (``executions`` → ``Executions``)."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            (key[:1].upper() + key[1:] if key in shape.members else key): to_states(item, shape.members.get(key))
            for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_states(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: to_states(v, shape.value) for k, v in value.items()}
    return value


#: Step Functions' SDK service names that are not botocore's, and the error prefix AWS gives their
#: errors (botocore's ``serviceId`` without spaces): ``aws-sdk:sagemakerruntime:invokeEndpoint`` is
#: botocore's ``sagemaker-runtime`` (serviceId "SageMaker Runtime"), used by a release's smoke test.
SDK_SERVICES = {"sagemakerruntime": ("sagemaker-runtime", "SageMakerRuntime")}


def install() -> None:
    from .. import patches

    service = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service"
    for name, (boto_name, error_name) in SDK_SERVICES.items():
        patches.entry(
            f"{service}.state_task_service:StateTaskService",
            "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
            (name,),
            boto_name,
            why=f"Step Functions' SDK name {name} is botocore's {boto_name}",
        )
        patches.entry(
            f"{service}.state_task_service_aws_sdk",
            "_SERVICE_ERROR_NAMES",
            (name,),
            error_name,
            why=f"SDK integration errors of {boto_name} are named {error_name}.<exception>, as on AWS",
        )

    @patches.wrap(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk:"
        "StateTaskServiceAwsSdk",
        "_eval_service_task",
        why="AWS SDK integrations take and give the API's field casing (botocore's model), as on AWS",
    )
    def eval_service_task(
        original: Any,
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        *args: Any,
        **kw: Any,
    ) -> None:
        operation = _operation(self._get_boto_service_name(), self.resource.api_action)
        if operation is not None:
            renamed = to_api(normalised_parameters, operation.input_shape)
            normalised_parameters.clear()
            normalised_parameters.update(renamed)
        original(self, env, resource_runtime_part, normalised_parameters, *args, **kw)
        if operation is not None and operation.output_shape is not None:
            env.stack.append(to_states(env.stack.pop(), operation.output_shape))

    patches.apply()
