"""CloudWatch Logs: ``FilterLogEvents`` honours ``logStreamNamePrefix`` (a plug-in for moto's Logs).

moto ignores ``logStreamNamePrefix`` and returns every stream's events, so a reader asking for one
job's stream (``<job name>/algo-1-<epoch>`` in ``/aws/sagemaker/TrainingJobs``) gets the lines of
every job that logged to the group. botocore's ``logs`` model documents the member: "Filters the
results to include only events from log streams that have names starting with this prefix. If you
specify a value for both logStreamNamePrefix and logStreamNames, the action returns an
InvalidParameterException error."
"""

from __future__ import annotations

import json
from typing import Any

from .. import patches

__all__ = ["install"]


def install() -> None:
    from moto.logs.exceptions import InvalidParameterException
    from moto.logs.responses import LogsResponse

    original = getattr(LogsResponse.filter_log_events, "__wrapped__", LogsResponse.filter_log_events)

    def filter_log_events(self: Any) -> str:
        prefix = self._get_param("logStreamNamePrefix")
        if prefix is None:
            return original(self)
        if self._get_param("logStreamNames"):
            raise InvalidParameterException(
                msg="Cannot specify both logStreamNamePrefix and logStreamNames in the same request"
            )
        group = self.logs_backend.groups.get(self._get_param("logGroupName"))
        names = sorted(n for n in (group.streams if group is not None else {}) if n.startswith(prefix))
        if not names:
            return json.dumps({"events": [], "searchedLogStreams": []})
        # moto reads the stream names from the request: the prefix becomes the list of streams it names
        self._get_param = _with_streams(self._get_param, names)
        return original(self)

    filter_log_events.__wrapped__ = original  # type: ignore[attr-defined]

    patches.replace(
        "moto.logs.responses:LogsResponse",
        "filter_log_events",
        filter_log_events,
        why="FilterLogEvents ignores logStreamNamePrefix (every stream's events are returned)",
    )
    patches.apply()


def _with_streams(get_param: Any, names: list[str]) -> Any:
    def patched(name: str, if_none: Any = None) -> Any:
        if name == "logStreamNames":
            return names
        if name == "logStreamNamePrefix":
            return None
        return get_param(name, if_none)

    return patched
