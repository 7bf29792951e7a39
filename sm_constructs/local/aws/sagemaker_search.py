"""SageMaker ``Search`` (training jobs) and ``ListProcessingJobs`` for the emulator, as AWS documents them.

moto's versions fall short of what a step cache relies on: its ``Search`` stops at the first
``Tags.*`` filter (later filters are ignored) and neither sorts nor limits, and its
``ListProcessingJobs`` applies ``MaxResults`` before the filters and ignores ``SortBy``. Both are
replaced here for the cases the cache uses, following botocore's SageMaker model documentation:

* ``Search`` with ``Resource: TrainingJob``: every filter must hold (AND); ``Name`` is a field of
  the training job record (``TrainingJobStatus``, ``CreationTime`` ...), ``Tags.<key>``,
  ``HyperParameters.<name>`` or ``Metrics.<name>``; ``Operator`` defaults to ``Equals``;
  ``GreaterThan``/``LessThan`` (and ``...OrEqualTo``) are refused on text properties and ``In`` /
  ``Contains`` on anything else ("Not supported for text properties" / "Only supported for text
  properties"); ``SortBy``/``SortOrder``; pages of ``MaxResults`` (default 10) and ``NextToken``.
  ``NestedFilters`` and ``SubExpressions`` are refused with a clear message rather than ignored.
  Each result is the training job's description with its ``Tags``. Other resources stay moto's.
* ``ListProcessingJobs``: the filters (``NameContains``, ``StatusEquals``, creation and
  modification times), then ``SortBy`` (``Name``, ``CreationTime``, ``Status``) and ``SortOrder``
  (default ``CreationTime`` ``Descending``), then pages of ``MaxResults`` (default 10) and
  ``NextToken``.
"""

from __future__ import annotations

from typing import Any

from .._sagemaker_requests import answer_with, page, request_members, request_time, timestamp

__all__ = ["install"]

_COMPARISONS = {
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
_TEXT_ONLY = {"In", "Contains"}


class SearchError(Exception):
    """A request SageMaker refuses with ``ValidationException``."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _property(record: dict[str, Any], name: str) -> tuple[bool, Any, str]:
    """(present, value, kind) of a filter's property: kind is text, number or time."""
    if name.startswith("Tags."):
        key = name[len("Tags.") :]
        values = [t["Value"] for t in record.get("Tags", []) if t.get("Key") == key]
        return (bool(values), values[0] if values else None, "text")
    if name.startswith("HyperParameters."):
        hps = record.get("HyperParameters") or {}
        key = name[len("HyperParameters.") :]
        hp = hps.get(key)
        return (key in hps, hp, "number" if _number(hp) is not None else "text")
    if name.startswith("Metrics."):
        key = name[len("Metrics.") :]
        values = [m.get("Value") for m in record.get("FinalMetricDataList") or [] if m.get("MetricName") == key]
        return (bool(values), values[0] if values else None, "number")
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            if part[:1].isupper():
                return (False, None, "text")
            raise SearchError(f"Unknown property name: {name}")
        value = value[part]
    if name.endswith("Time"):
        return (True, value, "time")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (True, value, "number")
    return (True, value, "text")


def _matches(record: dict[str, Any], flt: dict[str, Any]) -> bool:
    name = flt["Name"]
    operator = flt.get("Operator", "Equals")
    expected = flt.get("Value")
    present, actual, kind = _property(record, name)
    if operator == "Exists":
        return present
    if operator == "NotExists":
        return not present
    if expected is None:
        raise SearchError(f"Filter {name} {operator} needs a Value")
    if operator in _COMPARISONS:
        if kind == "text":
            raise SearchError(f"Operator {operator} is not supported for text property {name}")
        if not present:
            return False
        a: Any
        b: Any
        if kind == "time":
            a, b = timestamp(actual), timestamp(expected)
            if b is None:
                raise SearchError(f"Value {expected!r} of {name} is not a timestamp")
        else:
            a, b = _number(actual), _number(expected)
            if b is None:
                raise SearchError(f"Value {expected!r} of {name} is not a number")
        return a is not None and bool(_COMPARISONS[operator](a, b))
    if operator in _TEXT_ONLY and kind != "text":
        raise SearchError(f"Operator {operator} is only supported for text properties, not {name}")
    if not present:
        return operator == "NotEquals"
    if operator == "In":
        return str(actual) in str(expected).split(",")
    if operator == "Contains":
        return str(expected) in str(actual)
    equal = (
        timestamp(actual) == timestamp(expected)
        if kind == "time"
        else (_number(actual) == _number(expected) if kind == "number" else str(actual) == str(expected))
    )
    if operator == "Equals":
        return equal
    if operator == "NotEquals":
        return not equal
    raise SearchError(f"Unknown operator {operator}")


def search_training_jobs(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``Search`` over the backend's training jobs (see the module docs)."""
    expression = params.get("SearchExpression") or {}
    if expression.get("NestedFilters") or expression.get("SubExpressions"):
        raise SearchError("the emulator's Search supports Filters only (no NestedFilters or SubExpressions)")
    if expression.get("Operator", "And") != "And":
        raise SearchError("the emulator's Search supports the And operator only")
    records = []
    for job in list(backend.training_jobs.values()):
        record = dict(job.response_object)
        record.pop("ResponseMetadata", None)
        record["Tags"] = list(getattr(job, "tags", None) or [])
        record["CreationTime"] = getattr(job, "creation_time", record.get("CreationTime"))
        records.append(record)
    found = [r for r in records if all(_matches(r, f) for f in expression.get("Filters", []))]
    sort_by = params.get("SortBy")
    if sort_by:
        key = [(r, _property(r, sort_by)) for r in found]
        key.sort(
            key=lambda item: (timestamp(item[1][1]) or item[1][1]) if item[1][2] == "time" else item[1][1],
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        found = [r for r, _ in key]
    shown, more = page(found, params)
    return {"Results": [{"TrainingJob": r} for r in shown], **more}


def list_processing_jobs(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``ListProcessingJobs``: filters, then sort, then a page (see the module docs)."""
    jobs = list(backend.processing_jobs.values())
    name = params.get("NameContains")
    if name:
        jobs = [j for j in jobs if name in j.processing_job_name]
    if params.get("StatusEquals"):
        jobs = [j for j in jobs if j.processing_job_status == params["StatusEquals"]]
    for field, attr, after in (
        ("CreationTimeAfter", "creation_time", True),
        ("CreationTimeBefore", "creation_time", False),
        ("LastModifiedTimeAfter", "last_modified_time", True),
        ("LastModifiedTimeBefore", "last_modified_time", False),
    ):
        bound = request_time(params, field)
        if bound is not None:
            jobs = (
                [j for j in jobs if (timestamp(getattr(j, attr)) or bound) > bound]
                if after
                else [j for j in jobs if (timestamp(getattr(j, attr)) or bound) < bound]
            )
    sort_by = params.get("SortBy", "CreationTime")
    sort_key = {
        "Name": lambda j: j.processing_job_name,
        "CreationTime": lambda j: timestamp(j.creation_time),
        "Status": lambda j: j.processing_job_status,
    }[sort_by]
    jobs.sort(key=sort_key, reverse=params.get("SortOrder", "Descending") == "Descending")
    shown, more = page(jobs, params)
    return {
        "ProcessingJobSummaries": [
            {
                "ProcessingJobName": j.processing_job_name,
                "ProcessingJobArn": j.arn,
                "CreationTime": j.creation_time,
                "LastModifiedTime": j.last_modified_time,
                "ProcessingJobStatus": j.processing_job_status,
            }
            for j in shown
        ],
        **more,
    }


def install() -> None:
    """Replace moto's handlers of the two calls (training-job Search; ListProcessingJobs)."""
    from moto.sagemaker.exceptions import ValidationError

    from .. import patches

    @patches.wrap(
        "moto.sagemaker.responses:SageMakerResponse", "search", why="Search over training jobs as AWS documents it"
    )
    def search(original_search: Any, self: Any) -> Any:
        params = request_members(self)
        if params.get("Resource") != "TrainingJob":
            return original_search(self)
        try:
            result = search_training_jobs(self.sagemaker_backend, params)
        except SearchError as exc:
            raise ValidationError(message=str(exc)) from None
        return _result(result)

    patches.replace(
        "moto.sagemaker.responses:SageMakerResponse",
        "list_processing_jobs",
        answer_with(list_processing_jobs),
        why="ListProcessingJobs with every filter, sort order and limit AWS documents (step caching looks jobs up)",
    )
    patches.apply()


def _result(value: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(value)
