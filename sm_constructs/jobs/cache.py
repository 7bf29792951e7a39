"""Step caching: reuse an earlier job whose request was the same, without a Lambda function.

Before a cached definition creates its job, the state machine computes a **cache key**: the
SHA-256 (``States.Hash``) of ``States.JsonToString`` over the request as it will be sent, minus
what differs per run: the job name, the tags, and every value read from the execution context
(``$$.Execution.Name`` in an output path, ``States.UUID``). Everything else counts: image, code
(a code asset's S3 key is its content hash), arguments, hyperparameters, instance types, and the
inputs, which are usually earlier steps' outputs, so a step whose inputs changed misses too.

The key also covers the **data** under each S3 input prefix (:class:`DataFingerprint`): its object
versions are listed (``aws-sdk:s3:listObjectVersions``, paged) and hashed in-state, and the key is
the SHA-256 of the request's hash and the fingerprints' hash. New or changed data misses; the same
data hits. Data that cannot be fingerprinted (too many objects, a URI the states cannot rebuild)
runs the job without the cache, tagged ``uncached``, with the reason in ``$.cache.<step>.reason``.

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
output locations), with ``"Reused": true``; no job is created. **On a miss** the job runs as usual,
tagged with the key.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._fragment import BuiltFragment
from .._iam_facts import (
    ANY_RESOURCE,
    CACHE_READ_ACTIONS,
    LIST_PROCESSING_JOBS_ACTIONS,
    LIST_VERSIONS_ACTIONS,
    S3_PREFIX_CONDITION,
    SEARCH_ACTIONS,
)
from .._memo import node_id, statement
from .._nag import acknowledge, iam5
from .._validation import Problems
from ..cost import REUSED_KEY
from ._common import CODE_CHANNEL
from ._task import SageMakerTask, add_default_retry, integration_arn

if TYPE_CHECKING:
    from ._base import SageMakerDefinition

__all__ = [
    "CACHE_DAY_TAG",
    "CACHE_KEY_TAG",
    "CachedStep",
    "DataFingerprint",
    "DataInput",
    "StepCache",
    "cache_key_request",
    "data_inputs",
]

#: Tag holding the cache key (SHA-256 hex) on every job a cached step creates.
CACHE_KEY_TAG = "sm-constructs:cache-key"
#: Tag holding the day (days since 1970-01-01) the job was created on.
CACHE_DAY_TAG = "sm-constructs:cache-day"
#: Characters a cached processing job's name adds to its prefix: ``-<32 hex key index>-<4 hex>``.
CACHED_PROCESSING_SUFFIX_CHARS = 38
#: Key and key index of a job run without the cache (its data could not be fingerprinted): no lookup
#: ever asks for it, so such a job is never reused.
NOT_CACHED = "uncached"
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


class CachedStep(BuiltFragment):
    """A definition's task behind a cache lookup: key → lookup → hit (earlier job) or the task.

    :attr:`task` is the job's task (a miss), :attr:`lookups` the SDK calls of the lookup (for
    retries and catches), :attr:`hit` the state whose result is the earlier job.

    :param definition: the definition whose task is cached.
    :param task: its task (run on a miss).
    :param cache: how long a result counts (:class:`StepCache`).
    :param input_defaults: the defaults of the pipeline's ``s3_uri`` input fields, by JSONPath, to locate the
        inputs to fingerprint. Default: - none.
    """

    def __init__(
        self,
        definition: SageMakerDefinition,
        task: SageMakerTask,
        cache: StepCache,
        *,
        input_defaults: Mapping[str, str] | None = None,
    ) -> None:
        id = task.state_id
        super().__init__(definition, f"{id}Cache")
        self.task = task
        base = f"$.cache.{node_id(definition)}"
        self.key_path = f"{base}.key"
        #: The S3 inputs whose data the key fingerprints (see :class:`DataFingerprint`).
        self.data_inputs = data_inputs(definition, input_defaults or {})
        #: The Map that fingerprints them (its other errors are the caller's to catch, like the lookups').
        self.fingerprint: sfn.Map | None = None
        compute = _pass(
            self,
            f"{id}CacheKey",
            parameters={
                "request": cache_key_request(definition),
                "date.$": _date_parts(),
                **({"inputs": [i.value for i in self.data_inputs]} if self.data_inputs else {}),
            },
            result_path=base,
            Comment=f"Cache key of {id}: its request without name, tags and per-run values, and its input data",
        )
        today = _day_number(f"{base}.date")
        keyed = f"States.JsonToString({base}.request)"
        if self.data_inputs:
            keyed = (
                f"States.Format('{{}}{{}}', States.Hash({keyed}, 'SHA-256'), "
                f"States.Hash(States.JsonToString({base}.data), 'SHA-256'))"
            )
        hashed = _pass(
            self,
            f"{id}CacheKeyHash",
            parameters={
                "key.$": f"States.Hash({keyed}, 'SHA-256')",
                "index.$": f"States.Hash({keyed}, 'MD5')",
                "day.$": f"States.Format('{{}}', {today})",
                "cutoff.$": f"States.Format('{{}}', States.MathAdd({today}, -{cache.days}))",
                **({"data.$": f"{base}.data"} if self.data_inputs else {}),
            },
            result_path=base,
        )
        keying: sfn.IChainable = hashed
        if self.data_inputs:
            fingerprint = DataFingerprint(
                self, f"{id}Data", inputs=self.data_inputs, items_path=f"{base}.inputs", result_path=f"{base}.data"
            )
            #: Where the step goes when its data cannot be fingerprinted: the job runs, tagged so it never hits.
            self.not_cached = _pass(
                self,
                f"{id}NotCached",
                parameters={
                    "key": NOT_CACHED,
                    "index": NOT_CACHED,
                    "day.$": f"States.Format('{{}}', {today})",
                    "reason.$": f"{base}.uncached.Cause",
                },
                result_path=base,
                Comment="The input data could not be fingerprinted (the reason says why): run without the cache",
            )
            fingerprint.map.add_catch(self.not_cached, errors=[NOT_CACHED_ERROR], result_path=f"{base}.uncached")
            self.fingerprint = fingerprint.map
            self.not_cached.next(task)
            keying = fingerprint.next(hashed)
        api = definition.api
        read_own = statement(
            definition, actions=list(CACHE_READ_ACTIONS), resources=[definition.resource_arn_pattern()]
        )
        self.lookups: list[SageMakerTask] = []
        #: Whether the job's name carries the key index (processing jobs; see the module docs).
        self.indexed = api.operation != "CreateTrainingJob"
        choice = sfn.Choice(self, f"{id}CacheHitOrMiss")
        #: A hit's result: the earlier job selected as the task selects its own, marked ``Reused`` (it ran no
        #: job in this run, so the run manifest prices it at nothing).
        reused = {**(definition.result_selector() or {}), REUSED_KEY: True}
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
                parameters=reused,
                result_path=task.state_json.get("ResultPath", f"$.steps.{id}"),
                InputPath=f"{base}.found.jobs[0]",
                Comment="The earlier job's description, selected as the task selects its result",
            )
            compute.next(keying)
            hashed.next(lookup).next(choice)
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
                result_selector=reused,
                result_path=task.state_json.get("ResultPath", f"$.steps.{id}"),
                comment="The earlier job's description, selected as the task selects its result",
            )
            self.lookups += [candidates, tags, self.hit]
            found = sfn.Choice(self, f"{id}CacheCandidate")
            compute.next(keying)
            hashed.next(candidates).next(found)
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

    @staticmethod
    def _fresh(base: str) -> sfn.Condition:
        day = f"{base}.found.days[0]"
        return sfn.Condition.and_(
            sfn.Condition.is_present(day), sfn.Condition.string_greater_than_equals_json_path(day, f"{base}.cutoff")
        )


# ---- data fingerprint ------------------------------------------------------------------------
#: Object versions per listing page. Each page's VersionIds, IsLatest flags, ETags and Sizes are
#: hashed as JSON arrays with ``States.Hash``, whose input is at most 10,000 characters (AWS docs,
#: "Intrinsic functions", States.Hash); 100 entries keep every array under it (an ETag is at most
#: ~45 characters as JSON). Keys are not hashed: an S3 key is up to 1,024 bytes, so a page of keys could
#: exceed the limit, and an intrinsic failure is a ``States.Runtime`` error no Catch handles.
PAGE_SIZE = 100
#: Pages listed per input before the step gives up caching (1,000 object versions).
MAX_PAGES = 10
#: Key levels (``/``-separated parts after the bucket) an input URI may have: the prefix is
#: rebuilt from ``States.StringSplit`` with ``States.Format``, one state per depth.
MAX_DEPTH = 8
#: Error a fingerprint raises when the data cannot be fingerprinted; the step then runs uncached.
NOT_CACHED_ERROR = "SmConstructs.NotCached"


@dataclass(frozen=True)
class DataInput:
    """One S3 input of a cached step: ``value`` as rendered (``uri`` or ``uri.$``) and where the
    state machine may list it (bucket, key prefix), known at synth."""

    name: str
    value: dict[str, Any]
    bucket: str
    prefix: str


def _s3_location(uri: str) -> tuple[str, str] | None:
    if not uri.startswith("s3://"):
        return None
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return (bucket, prefix) if bucket else None


_FORMAT = re.compile(r"^States\.Format\('s3://\{\}/([^'{}]*)[^']*',\s*'([^']+)'")


def _where(path: str, input_defaults: Mapping[str, str]) -> tuple[str, str] | None:
    """The bucket and fixed key prefix a JSONPath input URI lies under, when known at synth."""
    if path in input_defaults:
        return _s3_location(input_defaults[path])
    if (match := _FORMAT.match(path)) is not None:  # States.Format('s3://{}/fixed/{}...', '<bucket>', ...)
        return match.group(2), match.group(1)
    return None


def data_inputs(definition: SageMakerDefinition, input_defaults: Mapping[str, str]) -> list[DataInput]:
    """The S3 inputs a cached step fingerprints: every input prefix except the step's own code (its
    key is its content hash) and earlier steps' results (``$.steps.*``: a location that is new
    whenever the producing step ran again, and so already part of the request)."""
    request = definition.render_request()
    found = [
        (i["InputName"], i["S3Input"]["S3Uri"])
        for i in request.get("ProcessingInputs", [])
        if "S3Input" in i and i["InputName"] != CODE_CHANNEL
    ] + [
        (c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"])
        for c in request.get("InputDataConfig", [])
        if "S3DataSource" in c.get("DataSource", {})
    ]
    problems = Problems.at(type(definition).__name__, definition)
    inputs = []
    for name, uri in found:
        value = dict(sfn.FieldUtils.render_object({"uri": uri}) or {})
        path = value.get("uri.$")
        if isinstance(path, str) and path.startswith("$.steps."):
            continue
        where = _s3_location(value["uri"]) if path is None else _where(path, input_defaults)
        if where is None:
            problems.add(
                f"inputs[{name}]",
                path or uri,
                "a cached step lists each input prefix to fingerprint its data, and the state machine may list "
                "only where it is known at synth: read the URI from an MlPipeline InputField(kind='s3_uri') "
                "with a default (its bucket and prefix scope the listing) or give an s3:// URI",
            )
            continue
        inputs.append(DataInput(name=name, value=value, bucket=where[0], prefix=where[1]))
    problems.raise_if_any()
    return inputs


class DataFingerprint(BuiltFragment):
    """A Map over a step's input URIs: list each prefix's object versions page by page
    (``aws-sdk:s3:listObjectVersions``) and fold each page into a SHA-256 with intrinsics.

    Each item's result is ``{uri, fingerprint, pages}``. A URI the states cannot list (more than
    :data:`MAX_DEPTH` levels, an empty path segment) or a prefix of more than :data:`MAX_PAGES`
    pages fails with :data:`NOT_CACHED_ERROR` and a cause saying why; the step's Catch then runs
    the job without the cache. Any other error (a listing denied) fails the step, as a lookup's does.
    """

    def __init__(self, scope: Construct, id: str, *, inputs: list[DataInput], items_path: str, result_path: str):
        super().__init__(scope, id)
        locate = _pass(
            self,
            f"{id}Locate",
            parameters={
                "uri.$": "$.uri",
                "parts.$": "States.StringSplit($.uri, '/')",
                "depth.$": "States.ArrayLength(States.StringSplit($.uri, '/'))",
                "fold": {"fingerprint": "", "pages": 0},
            },
            result_path="$",
        )
        depth = sfn.Choice(self, f"{id}Depth")
        depth.when(
            sfn.Condition.string_matches("$.uri", "s3://*//*"),
            self._not_cached(f"{id}EmptySegment", "an empty path segment (//), which the states cannot rebuild"),
        )
        slash = sfn.Choice(self, f"{id}Slash")
        for d in range(MAX_DEPTH + 1):
            parts = [f"$.parts[{2 + i}]" for i in range(d)]
            prefix = parts[0] if d == 1 else f"States.Format('{'/'.join(['{}'] * d)}', {', '.join(parts)})"
            build = _pass(
                self,
                f"{id}Prefix{d}",
                parameters={"bucket.$": "$.parts[1]", **({"prefix.$": prefix} if d else {"prefix": ""})},
                result_path="$.location",
            )
            depth.when(sfn.Condition.number_equals("$.depth", 2 + d), build.next(slash))
        depth.otherwise(self._not_cached(f"{id}TooDeep", f"more than {MAX_DEPTH} key levels below the bucket"))
        trailing = _pass(
            self,
            f"{id}Trailing",
            parameters={"bucket.$": "$.location.bucket", "prefix.$": "States.Format('{}/', $.location.prefix)"},
            result_path="$.location",
        )
        statements = [
            statement(
                scope,
                actions=list(LIST_VERSIONS_ACTIONS),
                resources=[f"arn:{Aws.PARTITION}:s3:::{i.bucket}"],
                conditions={"StringLike": {S3_PREFIX_CONDITION: f"{i.prefix}*"}},
            )
            for i in inputs
        ]
        listing = {"Bucket.$": "$.location.bucket", "Prefix.$": "$.location.prefix", "MaxKeys": PAGE_SIZE}
        first = SageMakerTask(
            self,
            f"{id}List",
            resource=_s3_sdk("listObjectVersions"),
            parameters=listing,
            policy_statements=statements,
            result_path="$.listing",
        )
        following = SageMakerTask(
            self,
            f"{id}ListNext",
            resource=_s3_sdk("listObjectVersions"),
            parameters={
                **listing,
                "KeyMarker.$": "$.listing.NextKeyMarker",
                "VersionIdMarker.$": "$.listing.NextVersionIdMarker",
            },
            policy_statements=statements,
            result_path="$.listing",
        )
        for task in (first, following):
            add_default_retry(task, max_attempts=3)
        slash.when(
            sfn.Condition.and_(
                sfn.Condition.number_greater_than("$.depth", 2), sfn.Condition.string_matches("$.uri", "*/")
            ),
            trailing.next(first),
        ).otherwise(first)

        def field(name: str) -> str:
            return f"States.Hash(States.JsonToString($.listing.Versions[*].{name}), 'SHA-256')"

        fold = _pass(
            self,
            f"{id}Fold",
            parameters={
                "fingerprint.$": "States.Hash(States.Format('{}{}{}{}{}', $.fold.fingerprint, "
                + ", ".join(field(n) for n in ("VersionId", "IsLatest", "ETag", "Size"))
                + "), 'SHA-256')",
                "pages.$": "States.MathAdd($.fold.pages, 1)",
            },
            result_path="$.fold",
            Comment="Fold this page's versions (VersionId, IsLatest, ETag, Size) into the fingerprint",
        )
        empty = _pass(
            self,
            f"{id}FoldEmpty",
            parameters={
                "fingerprint.$": "States.Hash(States.Format('{}-', $.fold.fingerprint), 'SHA-256')",
                "pages.$": "States.MathAdd($.fold.pages, 1)",
            },
            result_path="$.fold",
            Comment="A page without versions (an empty prefix, or delete markers only)",
        )
        more = sfn.Choice(self, f"{id}More")
        truncated = sfn.Condition.boolean_equals("$.listing.IsTruncated", True)
        more.when(
            sfn.Condition.and_(truncated, sfn.Condition.number_greater_than_equals("$.fold.pages", MAX_PAGES)),
            self._not_cached(
                f"{id}TooMany", f"more than {MAX_PAGES * PAGE_SIZE} object versions ({MAX_PAGES} listing pages)"
            ),
        )
        more.when(truncated, following)
        done = _pass(
            self,
            f"{id}Done",
            parameters={"uri.$": "$.uri", "fingerprint.$": "$.fold.fingerprint", "pages.$": "$.fold.pages"},
            result_path="$",
        )
        more.otherwise(done)
        page = sfn.Choice(self, f"{id}Page")
        page.when(sfn.Condition.is_present("$.listing.Versions"), fold).otherwise(empty)
        fold.next(more)
        empty.next(more)
        first.next(page)
        following.next(page)

        self.map = sfn.Map(
            self,
            id,
            items_path=items_path,
            item_selector={"uri": sfn.JsonPath.string_at("$$.Map.Item.Value.uri")},
            result_path=result_path,
            comment="Fingerprint each input prefix: its object versions, listed and hashed",
        )
        self.map.item_processor(sfn.Chain.start(locate).next(depth))
        self._start = self.map
        self._ends = [self.map]

    def _not_cached(self, id: str, why: str) -> sfn.Fail:
        return sfn.Fail(
            self,
            id,
            error=NOT_CACHED_ERROR,
            cause_path=sfn.JsonPath.format(
                f"{{}} has {why}: the step runs without the cache", sfn.JsonPath.string_at("$.uri")
            ),
        )


def _s3_sdk(action: str) -> str:
    return f"arn:{Aws.PARTITION}:states:::aws-sdk:s3:{action}"
