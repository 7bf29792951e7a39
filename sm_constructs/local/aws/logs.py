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

    @patches.wrap(
        "moto.logs.responses:LogsResponse",
        "filter_log_events",
        why="FilterLogEvents ignores logStreamNamePrefix (every stream's events are returned)",
    )
    def filter_log_events(original: Any, self: Any) -> str:
        prefix = self._get_param("logStreamNamePrefix")
        if prefix is None:
            return original(self)
        if self._get_param("logStreamNames"):
            raise InvalidParameterException(
                msg="Cannot specify both logStreamNamePrefix and logStreamNames in the same request"
            )
        group_name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(group_name)
        names = sorted(n for n in (group.streams if group is not None else {}) if n.startswith(prefix))
        if not names:
            return json.dumps({"events": [], "searchedLogStreams": []})
        events, next_token, searched = self.logs_backend.filter_log_events(
            group_name,
            names,
            self._get_param("startTime"),
            self._get_param("endTime"),
            self._get_param("limit"),
            self._get_param("nextToken"),
            self._get_param("filterPattern"),
            self._get_param("interleaved", False),
        )
        return json.dumps({"events": events, "nextToken": next_token, "searchedLogStreams": searched})

    patches.apply()
