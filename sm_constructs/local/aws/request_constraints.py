"""Every request to a JSON-protocol service is checked against its model's constraints, as AWS checks it.

botocore's client checks only what its ``ParamValidator`` checks: required members, types, and
``min``. A request that breaks a ``max``, an ``enum`` or a ``pattern`` of botocore's model leaves the
client and is refused by AWS with a ``ValidationException`` ("1 validation error detected: ...").
moto checks few of them (``GetExecutionHistory`` with ``maxResults=5000`` is answered in full), so a
script or workflow that would fail on AWS would pass here. This plug-in checks each request to a
service whose botocore model speaks the ``json`` protocol (Step Functions, SageMaker, CloudWatch Logs,
EventBridge, KMS, ...) with :func:`sm_constructs._validation.received_request_problems` before moto
answers it, and refuses it with the service's ``ValidationException`` naming every member it breaks.

Requests in other protocols (S3, IAM, CloudFormation, Lambda's REST API) carry members in the path,
query and headers; they are left to moto.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from .. import patches

__all__ = ["install", "message", "refusal"]


@cache
def _json_operations(service: str) -> frozenset[str]:
    """The operations of ``service`` when botocore's model of it speaks ``json``; else none."""
    import botocore.exceptions

    from sm_constructs._validation import service_shapes

    try:
        model = service_shapes(service)
    except (FileNotFoundError, IndexError, botocore.exceptions.BotoCoreError):
        return frozenset()
    return frozenset(model["operations"]) if model["metadata"].get("protocol") == "json" else frozenset()


def refusal(service: str, operation: str, body: str | bytes | None) -> str | None:
    """The ``ValidationException`` message for a request ``service`` receives, or None when it is valid.

    Only JSON-protocol operations the model names are checked; a body that is not a JSON object is
    left to moto (it answers with the protocol's own error).
    """
    if operation not in _json_operations(service):
        return None
    try:
        request = json.loads(body or "{}")
    except ValueError:
        return None
    return message(service, operation, request) if isinstance(request, dict) else None


def message(service: str, operation: str, request: dict[str, Any]) -> str | None:
    """The ``ValidationException`` message for ``request`` (its members), or None when it is valid."""
    from sm_constructs._validation import received_request_problems

    problems = received_request_problems(service, operation, request)
    if not problems:
        return None
    count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
    return f"{count}: {'; '.join(problems)}"


def install() -> None:
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    class ValidationException(ServiceException):
        code = "ValidationException"

    @patches.wrap(
        "moto.core.responses:BaseResponse",
        "call_action",
        why="a JSON-protocol request is checked against the max, enum and pattern constraints of its model, "
        "as AWS checks it (moto answers requests AWS refuses)",
    )
    def call_action(original: Any, self: Any) -> Any:
        service = self.boto3_service_name if self.service_name else None
        if not service or not _json_operations(service):  # read the action only where it is checked
            return original(self)
        refused = refusal(service, self._get_action(), self.body)
        if refused is None:
            return original(self)
        status, headers, body = self.serialized(ActionResult(ValidationException(refused)))
        headers, body = self._enrich_response(headers, body)
        return status, headers, body

    patches.apply()
