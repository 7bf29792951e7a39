"""How the emulator's own SageMaker handlers read a request and page what a ``List*`` call returns.

* SageMaker's protocol is ``json`` (botocore's ``sagemaker`` model, ``metadata.protocol``): a
  request's members are its JSON body, where a ``Timestamp`` member is epoch seconds (botocore's
  JSON serializer) or, from other clients, ISO 8601 text; one the emulator cannot read as a time is
  refused with a ValidationException, never ignored.
* A ``List*`` call returns at most ``MaxResults`` items, 10 when it is not given ("The default value
  is 10": ``MaxResults`` of ListArtifacts, ListAssociations, ListTrainingJobsForHyperParameterTuningJob
  ... in botocore's model), and a ``NextToken`` while items are left, which the next call passes
  back. The emulator's token is the offset of the next page; a token it did not write is refused
  with a ValidationException, as AWS refuses one it cannot read.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ._paging import offset_page

__all__ = ["answer_with", "page", "request_members", "request_time", "timestamp"]

_Item = TypeVar("_Item")
#: ``MaxResults`` when a List* request does not give it (botocore's model, see the module docs).
DEFAULT_PAGE_SIZE = 10


def request_members(response: Any) -> dict[str, Any]:
    """The members of the request a moto ``BaseResponse`` handles (its JSON body)."""
    return dict(json.loads(response.body or "{}"))


def timestamp(value: Any) -> datetime.datetime | None:
    """``value`` as a time in UTC: a ``datetime`` (naive ones are UTC), epoch seconds, or ISO 8601
    text; ``None`` for anything else."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    return None


def request_time(params: dict[str, Any], member: str) -> datetime.datetime | None:
    """The time the request's ``member`` gives (``None`` when it gives none); refused when it is not one."""
    value = params.get(member)
    if value is None:
        return None
    found = timestamp(value)
    if found is None:
        from moto.sagemaker.exceptions import ValidationError

        raise ValidationError(message=f"{member} {value!r} is not a timestamp.")
    return found


def answer_with(respond: Callable[[Any, dict[str, Any]], dict[str, Any]]) -> Callable[[Any], Any]:
    """A handler for moto's ``SageMakerResponse`` that answers with ``respond(backend, request members)``."""

    def handle(self: Any) -> Any:
        from moto.core.responses import ActionResult

        return ActionResult(respond(self.sagemaker_backend, request_members(self)))

    return handle


def page(items: Sequence[_Item], params: dict[str, Any]) -> tuple[list[_Item], dict[str, str]]:
    """The page of ``items`` the request's ``NextToken`` and ``MaxResults`` name, and ``{"NextToken": ...}``
    for the next one while items are left (else ``{}``), to merge into the response."""
    from moto.sagemaker.exceptions import ValidationError

    size = int(params.get("MaxResults") or DEFAULT_PAGE_SIZE)
    found, after = offset_page(items, params.get("NextToken") or None, size, lambda why: ValidationError(message=why))
    return found, ({"NextToken": after} if after is not None else {})
