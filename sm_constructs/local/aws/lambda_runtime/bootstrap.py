"""One invocation of a Python Lambda handler, as Lambda's Python runtime runs it.

Run by :mod:`sm_constructs.local.aws.awslambda` as ``python bootstrap.py <invocation.json> <result.json>``
in the function's environment. Handler resolution and the error shapes follow Lambda's Python runtime
interface client (github.com/aws/aws-lambda-python-runtime-interface-client, ``awslambdaric/bootstrap.py``):
``module.function`` split at the last dot, ``/`` in the module path read as a package separator, and
``Runtime.MalformedHandlerName`` / ``Runtime.ImportModuleError`` / ``Runtime.UserCodeSyntaxError`` /
``Runtime.HandlerNotFound`` / ``Runtime.MarshalError`` for a handler that cannot be loaded or answered.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The context object Lambda passes to Python handlers (AWS Lambda docs, "Using the Lambda context
    object to retrieve Python function information")."""

    def __init__(self, invocation: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = invocation["functionArn"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.aws_request_id = invocation["requestId"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = time.time() * 1000 + invocation["timeoutMs"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _error(error_type: str, message: str, request_id: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack or []}


def _handler(spec: str, request_id: str) -> Any:
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Failed(_error("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}", request_id)) from None
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise _Failed(
            _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}", request_id)
        ) from None
    except SyntaxError as e:
        raise _Failed(
            _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}", request_id)
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise _Failed(_error("Runtime.HandlerNotFound", message, request_id))
    return handler


class _Failed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error


def main(invocation_path: str, result_path: str) -> None:
    with open(invocation_path) as f:
        invocation = json.load(f)
    request_id = invocation["requestId"]
    sys.path.insert(0, invocation["taskRoot"])
    os.chdir(invocation["taskRoot"])
    try:
        handler = _handler(invocation["handler"], request_id)
        with open(invocation["readyPath"], "w"):  # the init phase is over; the timeout runs from here
            pass
        try:
            result = handler(invocation["event"], LambdaContext(invocation))
        except Exception as e:
            stack = traceback.format_list(traceback.extract_tb(e.__traceback__)[1:])
            raise _Failed(_error(type(e).__name__, str(e), request_id, stack)) from None
        try:
            payload = {"result": json.loads(json.dumps(result))}
        except (TypeError, ValueError) as e:
            raise _Failed(_error("Runtime.MarshalError", f"Unable to marshal response: {e}", request_id)) from None
    except _Failed as failed:
        payload = {"error": failed.error}
    sys.stdout.flush()
    sys.stderr.flush()
    with open(result_path, "w") as f:
        json.dump(payload, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
