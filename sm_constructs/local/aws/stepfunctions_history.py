"""``GetExecutionHistory`` pages as Step Functions pages it (a plug-in for moto's Step Functions).

moto answers every call with the whole history, oldest first, whatever the request asks. botocore's
model of the operation says what AWS does, and the emulator does that:

* ``maxResults``: "The maximum number of results that are returned per call ... The default is 100 and
  the maximum allowed page size is 1000. A value of 0 uses the default."
* ``nextToken``: returned while events are left; the next call passes it back. The emulator's token is
  the offset of the next page; one it did not write is refused (``InvalidToken``).
* ``reverseOrder``: "Lists events in descending order of their ``timeStamp``" (newest first), so a
  client that follows a running execution reads only the events it has not seen.
* ``includeExecutionData``: "whether execution data (input or output of a history event) is
  returned. The default is ``true``."
"""

from __future__ import annotations

from typing import Any

from .. import patches
from .._paging import offset_page

__all__ = ["DEFAULT_PAGE_SIZE", "install"]

#: ``maxResults`` when a request gives none or 0 (botocore's model, see the module docs).
DEFAULT_PAGE_SIZE = 100
#: Members of an event's ``...EventDetails`` that ``includeExecutionData=false`` leaves out.
_EXECUTION_DATA = ("input", "output")


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {k: v for k, v in value.items() if k not in _EXECUTION_DATA}
        if key.endswith("EventDetails") and isinstance(value, dict)
        else value
        for key, value in event.items()
    }


def page(events: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """The response to a ``GetExecutionHistory`` request (``params``) over the whole history ``events``."""
    from moto.stepfunctions.exceptions import InvalidToken

    ordered = events[::-1] if params.get("reverseOrder") else events
    size = int(params.get("maxResults") or DEFAULT_PAGE_SIZE)
    found, after = offset_page(ordered, params.get("nextToken"), size, InvalidToken)
    if params.get("includeExecutionData") is False:
        found = [_without_data(event) for event in found]
    return {"events": found} | ({"nextToken": after} if after is not None else {})


def install() -> None:
    @patches.wrap(
        "moto.stepfunctions.responses:StepFunctionResponse",
        "get_execution_history",
        why="GetExecutionHistory honours maxResults, nextToken, reverseOrder and includeExecutionData, as on AWS",
    )
    def get_execution_history(original: Any, self: Any) -> Any:
        from moto.core.responses import ActionResult

        whole = original(self).result
        params = {
            name: self._get_param(name) for name in ("maxResults", "nextToken", "reverseOrder", "includeExecutionData")
        }
        return ActionResult(page(list(whole.get("events") or []), params))

    patches.apply()
