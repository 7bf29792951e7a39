"""Step caching: reuse an earlier job whose request was the same, without a Lambda function.

Before a cached definition creates its job, the state machine computes a **cache key**: the
SHA-256 (``States.Hash``) of ``States.JsonToString`` over the request as it will be sent, minus
what differs per run: the job name, the tags, and every value read from the execution context
(``$$.Execution.Name`` in an output path, ``States.UUID``). Everything else counts: image, code
(a code asset's S3 key is its content hash), arguments, hyperparameters, instance types, and the
inputs, which are usually earlier steps' outputs, so a step whose inputs changed misses too.

It then looks for a **Completed** job of the same kind carrying that key, created within
``expire_after``:

* training jobs: ``aws-sdk:sagemaker:search`` (``Resource: TrainingJob``) with the filters
  ``Tags.sm-constructs:cache-key Equals <key>`` and ``TrainingJobStatus Equals Completed``, newest first;
* processing jobs are no Search resource (botocore's ``Search`` ``Resource`` enum), so a cached
  processing job's name carries an index of its key (the MD5 of the same text), found with
  ``aws-sdk:sagemaker:listProcessingJobs`` (``NameContains``, ``StatusEquals: Completed``, newest
  first); its tags (``listTags``) must hold the full SHA-256 key.

Failed and stopped jobs never match (the status filters). **Expiry** is computed in the state
machine: ``$$.Execution.StartTime`` (ISO 8601) becomes a day number (days since 1970-01-01, from
two tables generated here from the Gregorian calendar, years 2020 to 2119) with intrinsic
functions only; a job created on a miss is tagged ``sm-constructs:cache-day`` with that number, and
a candidate hits only when its day is at least today minus ``expire_after`` (whole days). Day
numbers have five digits until the year 2243, so a string comparison orders them.

**On a hit** the step's result is the earlier job's description passed through the same result
selector as the ``.sync`` task's, so later steps read the same fields (and so the earlier job's
output locations); no job is created. **On a miss** the job runs as usual, tagged with the key.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._iam_facts import ANY_RESOURCE, CACHE_READ_ACTIONS, LIST_PROCESSING_JOBS_ACTIONS, SEARCH_ACTIONS
from .._memo import statement

if TYPE_CHECKING:
    from ._base import SageMakerDefinition, SageMakerTask

__all__ = ["CACHE_DAY_TAG", "CACHE_KEY_TAG", "CachedStep", "StepCache", "cache_key_request"]

#: Tag holding the cache key (SHA-256 hex) on every job a cached step creates.
CACHE_KEY_TAG = "sm-constructs:cache-key"
#: Tag holding the day (days since 1970-01-01) the job was created on.
CACHE_DAY_TAG = "sm-constructs:cache-day"
#: Characters a cached processing job's name adds to its prefix: ``-<32 hex key index>-<4 hex>``.
CACHED_PROCESSING_SUFFIX_CHARS = 38
#: Years the in-state calendar covers.
FIRST_YEAR, LAST_YEAR = 2020, 2119


@dataclass(frozen=True, kw_only=True)
class StepCache:
    """Reuse a Completed job with the same request instead of running it again.

    :param expire_after: how old a reused job may be, in whole days (at least 1). Default: 30 days.
    """

    expire_after: Duration = field(default_factory=lambda: Duration.days(30))

    @property
    def days(self) -> int:
        return int(self.expire_after.to_days())


def acknowledge_lookups(machine: Any, steps: list[CachedStep]) -> None:
    """What cdk-nag cannot see is safe in a state machine ``machine`` (an MlStateMachine) running ``steps``.

    * AwsSolutions-IAM5 on ``*``: Search and ListProcessingJobs take no resource ARN (SM-PERMS).
    * SageMakerChecks UniqueJobName is unverified for a cached processing step: its name reads the
      key index from the state, which the rule cannot evaluate.
    """
    from .._nag import acknowledge, iam5

    acknowledge(
        machine.role,
        [iam5(resource=ANY_RESOURCE)],
        "Step caching looks up earlier jobs with sagemaker:Search and sagemaker:ListProcessingJobs, which take no "
        "resource ARN (SageMaker API permissions reference); every other cache call is scoped to the step's prefix.",
    )
    named = [f"SageMaker-UniqueJobName[Unverified::{step.task.state_id}]" for step in steps if step.indexed]
    if named:
        acknowledge(
            machine,
            named,
            "A cached processing job is named <prefix>-<MD5 of its cache key, 32 hex digits computed by the "
            "<step>CacheKeyHash state>-<4 hex of a fresh States.UUID per attempt>; the prefix is checked at synth "
            "to leave room for the 38 characters (63 in all), so every execution name gives a valid, new name.",
        )


def _is_per_run(value: Any) -> bool:
    return isinstance(value, str) and ("$$." in value or "States.UUID" in value)


def _key_fields(rendered: Any) -> Any:
    if isinstance(rendered, dict):
        return {k: _key_fields(v) for k, v in rendered.items() if not (k.endswith(".$") and _is_per_run(v))}
    if isinstance(rendered, list):
        return [_key_fields(v) for v in rendered]
    return rendered


def cache_key_request(definition: SageMakerDefinition) -> dict[str, Any]:
    """What the cache key is computed over: the rendered request (``Key.$`` for run-time values)
    without the name, the tags and any value read from the execution context."""
    rendered = definition.request_parameters()
    skip = {definition.api.name_field, "Tags"}
    kept = {k: v for k, v in rendered.items() if k.removesuffix(".$") not in skip}
    return dict(_key_fields(kept))


def _calendar_tables() -> tuple[list[int], list[int], list[list[int]]]:
    """Day number of 31 December before each year, leap flags, days before each month (common, leap)."""
    epoch = datetime.date(1970, 1, 1)
    years = [(datetime.date(y, 1, 1) - epoch).days - 1 for y in range(FIRST_YEAR, LAST_YEAR + 1)]
    leap = [int(calendar.isleap(y)) for y in range(FIRST_YEAR, LAST_YEAR + 1)]
    months = [
        [sum(calendar.monthrange(year, m)[1] for m in range(1, month)) for month in range(1, 13)]
        for year in (2023, 2024)  # a common year, a leap year
    ]
    return years, leap, months


def _array(values: list[Any]) -> str:
    return f"States.Array({', '.join(str(v) for v in values)})"


def _day_number(path: str) -> str:
    """Intrinsic: the day number of the ``[year - 2020, month - 1, day]`` numbers at ``path``."""
    years, leap, months = _calendar_tables()
    year_start = f"States.ArrayGetItem({_array(years)}, {path}[0])"
    is_leap = f"States.ArrayGetItem({_array(leap)}, {path}[0])"
    month_start = (
        f"States.ArrayGetItem(States.ArrayGetItem(States.Array({_array(months[0])}, {_array(months[1])}), "
        f"{is_leap}), {path}[1])"
    )
    return f"States.MathAdd(States.MathAdd({year_start}, {month_start}), {path}[2])"


_DATE = "States.StringSplit(States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, 'T'), 0), '-')"


def _date_parts() -> str:
    """Intrinsic: ``[year - 2020, month - 1, day]`` of the execution's start (``"09"`` read as ``109 - 100``)."""
    part = "States.ArrayGetItem(" + _DATE + ", {})"
    year = f"States.MathAdd(States.StringToJson({part.format(0)}), -{FIRST_YEAR})"
    month = f"States.MathAdd(States.StringToJson(States.Format('1{{}}', {part.format(1)})), -101)"
    day = f"States.MathAdd(States.StringToJson(States.Format('1{{}}', {part.format(2)})), -100)"
    return f"States.Array({year}, {month}, {day})"


def _pass(scope: Construct, id: str, *, parameters: dict[str, Any], result_path: str, **extra: Any) -> sfn.CustomState:
    return sfn.CustomState(
        scope,
        id,
        state_json={"Type": "Pass", "Parameters": parameters, "ResultPath": result_path, **extra},
    )


def _tag_values(list_path: str, tag: str) -> str:
    return f"{list_path}[?(@.Key == '{tag}')].Value"


class CachedStep(sfn.StateMachineFragment):
    """A definition's task behind a cache lookup: key → lookup → hit (earlier job) or the task.

    :attr:`task` is the job's task (a miss), :attr:`lookups` the SDK calls of the lookup (for
    retries and catches), :attr:`hit` the state whose result is the earlier job.
    """

    def __init__(self, definition: SageMakerDefinition, task: SageMakerTask, cache: StepCache) -> None:
        from ._base import SageMakerTask, add_default_retry, integration_arn

        id = task.state_id
        super().__init__(definition, f"{id}Cache")
        self.task = task
        base = f"$.cache.{definition.node.id}"
        self.key_path = f"{base}.key"
        compute = _pass(
            self,
            f"{id}CacheKey",
            parameters={"request": cache_key_request(definition), "date.$": _date_parts()},
            result_path=base,
            Comment=f"Cache key of {id}: its request without name, tags and per-run values",
        )
        today = _day_number(f"{base}.date")
        hashed = _pass(
            self,
            f"{id}CacheKeyHash",
            parameters={
                "key.$": f"States.Hash(States.JsonToString({base}.request), 'SHA-256')",
                "index.$": f"States.Hash(States.JsonToString({base}.request), 'MD5')",
                "day.$": f"States.Format('{{}}', {today})",
                "cutoff.$": f"States.Format('{{}}', States.MathAdd({today}, -{cache.days}))",
            },
            result_path=base,
        )
        api = definition.api
        read_own = statement(
            definition, actions=list(CACHE_READ_ACTIONS), resources=[definition.resource_arn_pattern()]
        )
        self.lookups: list[SageMakerTask] = []
        #: Whether the job's name carries the key index (processing jobs; see the module docs).
        self.indexed = api.operation != "CreateTrainingJob"
        choice = sfn.Choice(self, f"{id}CacheHitOrMiss")
        if api.operation == "CreateTrainingJob":
            lookup = SageMakerTask(
                self,
                f"{id}CacheLookup",
                resource=integration_arn(definition, "search", sync=False, sdk=True),
                parameters={
                    "Resource": "TrainingJob",
                    "SearchExpression": {
                        "Filters": [
                            {"Name": f"Tags.{CACHE_KEY_TAG}", "Operator": "Equals", "Value.$": self.key_path},
                            {"Name": "TrainingJobStatus", "Operator": "Equals", "Value": "Completed"},
                        ]
                    },
                    "SortBy": "CreationTime",
                    "SortOrder": "Descending",
                    "MaxResults": 1,
                },
                policy_statements=[statement(definition, actions=list(SEARCH_ACTIONS), resources=[ANY_RESOURCE])],
                result_selector={
                    "jobs.$": "$.Results[*].TrainingJob",
                    "days.$": _tag_values("$.Results[*].TrainingJob.Tags", CACHE_DAY_TAG),
                },
                result_path=f"{base}.found",
            )
            self.lookups.append(lookup)
            self.hit: sfn.State = _pass(
                self,
                f"{id}CacheHit",
                parameters=dict(definition.result_selector() or {}),
                result_path=task.state_json.get("ResultPath", f"$.steps.{id}"),
                InputPath=f"{base}.found.jobs[0]",
                Comment="The earlier job's description, selected as the task selects its result",
            )
            compute.next(hashed).next(lookup).next(choice)
            choice.when(self._fresh(base), self.hit)
        else:
            candidates = SageMakerTask(
                self,
                f"{id}CacheLookup",
                resource=integration_arn(definition, "listProcessingJobs", sync=False, sdk=True),
                parameters={
                    "NameContains.$": f"{base}.index",
                    "StatusEquals": "Completed",
                    "SortBy": "CreationTime",
                    "SortOrder": "Descending",
                    "MaxResults": 1,
                },
                policy_statements=[
                    statement(definition, actions=list(LIST_PROCESSING_JOBS_ACTIONS), resources=[ANY_RESOURCE])
                ],
                result_selector={
                    "arns.$": "$.ProcessingJobSummaries[*].ProcessingJobArn",
                    "names.$": "$.ProcessingJobSummaries[*].ProcessingJobName",
                },
                result_path=f"{base}.candidates",
            )
            tags = SageMakerTask(
                self,
                f"{id}CacheTags",
                resource=integration_arn(definition, "listTags", sync=False, sdk=True),
                parameters={"ResourceArn.$": f"{base}.candidates.arns[0]"},
                policy_statements=[read_own],
                result_selector={
                    "keys.$": _tag_values("$.Tags", CACHE_KEY_TAG),
                    "days.$": _tag_values("$.Tags", CACHE_DAY_TAG),
                },
                result_path=f"{base}.found",
            )
            self.hit = SageMakerTask(
                self,
                f"{id}CacheHit",
                resource=integration_arn(definition, "describeProcessingJob", sync=False, sdk=True),
                parameters={"ProcessingJobName.$": f"{base}.candidates.names[0]"},
                policy_statements=[read_own],
                result_selector=definition.result_selector(),
                result_path=task.state_json.get("ResultPath", f"$.steps.{id}"),
                comment="The earlier job's description, selected as the task selects its result",
            )
            self.lookups += [candidates, tags, self.hit]
            found = sfn.Choice(self, f"{id}CacheCandidate")
            compute.next(hashed).next(candidates).next(found)
            found.when(sfn.Condition.is_present(f"{base}.candidates.names[0]"), tags).otherwise(task)
            tags.next(choice)
            choice.when(
                sfn.Condition.and_(
                    sfn.Condition.is_present(f"{base}.found.keys[0]"),
                    sfn.Condition.string_equals_json_path(f"{base}.found.keys[0]", self.key_path),
                    self._fresh(base),
                ),
                self.hit,
            )
        choice.otherwise(task)
        for lookup in self.lookups:
            add_default_retry(lookup, max_attempts=3)
        self._start = compute
        self._ends = [self.hit, task]

    @property
    def start_state(self) -> sfn.State:
        return self._start

    @property
    def end_states(self) -> list[sfn.INextable]:
        return list(self._ends)

    @staticmethod
    def _fresh(base: str) -> sfn.Condition:
        day = f"{base}.found.days[0]"
        return sfn.Condition.and_(
            sfn.Condition.is_present(day), sfn.Condition.string_greater_than_equals_json_path(day, f"{base}.cutoff")
        )
