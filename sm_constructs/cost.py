"""What a pipeline run costs: the worst case before it runs, the actual cost after.

Prices come from one table kept in the repository, ``data/prices.json``, with its source (the
Amazon SageMaker AI pricing page), the date and a default region: USD per instance-hour by use
(``training``, ``processing``, ``transform``) and instance type.

**Worst case** of a job step (AWS: SageMaker bills instance-hours, per second): its
``MaxRuntimeInSeconds`` × instance count × price per hour, and for a tuning step that times
``MaxNumberOfTrainingJobs``. A transform job has no runtime limit in SageMaker's API; its bound is
the task's ``TimeoutSeconds`` (``max_runtime`` + 1 hour). Values read from the execution input
(``$.input.<field>``) are priced at the field's default. The figures are read from the rendered
requests, so the same function prices a construct at synth and a deployed state machine
(``sm-pipeline cost``).

**Actual cost** of a finished job: training bills ``BillableTimeInSeconds`` × instance count
(botocore's SageMaker model, ``DescribeTrainingJobResponse.BillableTimeInSeconds``: "Multiply
BillableTimeInSeconds by the number of instances (InstanceCount) in your training cluster to get
the total compute time SageMaker bills you"); processing and transform jobs their duration
(``ProcessingEndTime`` − ``ProcessingStartTime``, ``TransformEndTime`` − ``TransformStartTime``)
× instance count (managed spot training too: its ``BillableTimeInSeconds`` is what is billed). A
step that reused an earlier job (step caching) costs nothing in this run. :data:`BILLING` says where
each kind of job's description holds these fields; :func:`actual_cost` reads them from SageMaker,
and the run manifest from the step's result, which keeps them (:func:`billing_selector`), in a
JSONata state (:func:`manifest_cost`) that applies the same rule to the same table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["BILLING", "Billing", "JobCost", "JobState", "PriceTable", "actual_cost", "billing_selector", "dollars"]
__all__ += ["job_states", "manifest_cost", "manifest_prices", "worst_case"]


def dollars(amount: float) -> str:
    """``$1.50`` for 1.4999999999999998: cents rounded half up after dropping float noise."""
    return "$" + str(Decimal(repr(round(amount, 9))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


#: SageMaker create operation → the price table's use of the instances.
USES = {
    "CreateTrainingJob": "training",
    "CreateHyperParameterTuningJob": "training",
    "CreateProcessingJob": "processing",
    "CreateTransformJob": "transform",
}


@dataclass(frozen=True)
class PriceTable:
    """USD per instance-hour by region, use and instance type (``data/prices.json``).

    :param source: where the prices come from (``page``, ``as_of``, ``currency``, ``verified``).
    :param default_region: the region priced for an environment-agnostic stack.
    :param regions: region -> use -> instance type -> USD per instance-hour.
    """

    source: Mapping[str, str]
    default_region: str
    regions: Mapping[str, Mapping[str, Mapping[str, float]]]

    @staticmethod
    @cache
    def load() -> PriceTable:
        text = resources.files("sm_constructs.data").joinpath("prices.json").read_text(encoding="utf-8")
        data = json.loads(text)
        return PriceTable(source=data["source"], default_region=data["default_region"], regions=data["regions"])

    def region(self, region: str | None) -> str:
        """``region``, or the table's default for an environment-agnostic stack (``None``)."""
        return region or self.default_region

    def hourly(self, region: str | None, use: str, instance_type: str) -> float | None:
        return self.regions.get(self.region(region), {}).get(use, {}).get(instance_type)

    def describe(self) -> str:
        checked = "" if self.source.get("verified") else "; NOT VERIFIED against the page: see data/prices.json"
        return f"prices: {self.source['page']}, as of {self.source['as_of']} ({self.source['currency']}){checked}"


@dataclass(frozen=True)
class JobState:
    """One job step as rendered: its state name, create operation, ``Parameters`` and timeout."""

    step: str
    operation: str
    parameters: Mapping[str, Any]
    timeout_seconds: int | None = None


@dataclass(frozen=True)
class JobCost:
    """The priced instances of one step; ``problem`` says why it could not be priced.

    :param step: the step's state name.
    :param use: the price table's use (e.g. processing, training).
    :param instance_type: Default: - none (not priced).
    :param instance_count: Default: 0.
    :param seconds: the time priced, per job. Default: 0.
    :param jobs: how many jobs the step runs. Default: 1.
    :param hourly: USD per instance-hour. Default: - none (not priced).
    :param problem: why the step could not be priced. Default: - none.
    :param basis: what ``seconds`` is read from. Default: ``MaxRuntimeInSeconds``.
    """

    step: str
    use: str
    instance_type: str | None = None
    instance_count: int = 0
    seconds: float = 0
    jobs: int = 1
    hourly: float | None = None
    problem: str | None = None
    basis: str = "MaxRuntimeInSeconds"

    @property
    def usd(self) -> float:
        if self.hourly is None:
            return 0.0
        return self.hourly * self.instance_count * self.seconds / 3600 * self.jobs

    def line(self) -> str:
        if self.problem is not None:
            return f"{self.step}: not priced: {self.problem}"
        jobs = f"{self.jobs} jobs × " if self.jobs != 1 else ""
        time = f"{self.seconds / 3600:.2f} h" if self.seconds >= 36 else f"{self.seconds:.0f} s"
        return (
            f"{self.step}: {dollars(self.usd)} = {jobs}{self.instance_count} × {self.instance_type} × "
            f"{time} ({self.basis}) × ${self.hourly}/h"
        )


def _field(parameters: Mapping[str, Any], path: str, defaults: Mapping[str, Any]) -> Any:
    """The value at ``a.b.c`` of rendered parameters: literal, or ``$.input.<field>``'s default."""
    *parents, last = path.split(".")
    node: Any = parameters
    for part in parents:
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        return None
    if last in node:
        return node[last]
    reference = node.get(f"{last}.$")
    if isinstance(reference, str) and reference.startswith("$.input."):
        return defaults.get(reference.removeprefix("$.input."))
    return None


_RESOURCES = {
    "CreateTrainingJob": ("ResourceConfig", "StoppingCondition.MaxRuntimeInSeconds"),
    "CreateProcessingJob": ("ProcessingResources.ClusterConfig", "StoppingCondition.MaxRuntimeInSeconds"),
    "CreateTransformJob": ("TransformResources", None),
    "CreateHyperParameterTuningJob": (
        "TrainingJobDefinition.ResourceConfig",
        "TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds",
    ),
}


def _worst(job: JobState, defaults: Mapping[str, Any], table: PriceTable, region: str | None) -> JobCost:
    use = USES[job.operation]
    cluster, runtime = _RESOURCES[job.operation]
    p, d = job.parameters, defaults
    instance_type = _field(p, f"{cluster}.InstanceType", d)
    count = _field(p, f"{cluster}.InstanceCount", d)
    seconds, basis = (
        (_field(p, runtime, d), "MaxRuntimeInSeconds") if runtime else (job.timeout_seconds, "task timeout")
    )
    jobs = 1
    if job.operation == "CreateHyperParameterTuningJob":
        jobs = _field(p, "HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs", d)
    unknown = [
        name
        for name, value in (
            ("instance type", instance_type),
            ("instance count", count),
            (basis, seconds),
            ("jobs", jobs),
        )
        if value is None
    ]
    if unknown:
        return JobCost(step=job.step, use=use, problem=f"{', '.join(unknown)} unknown before the run (no default)")
    assert seconds is not None
    hourly = table.hourly(region, use, str(instance_type))
    if hourly is None:
        return JobCost(
            step=job.step,
            use=use,
            instance_type=str(instance_type),
            problem=f"no {use} price for {instance_type} in {table.region(region)} in the price table",
        )
    return JobCost(
        step=job.step,
        use=use,
        instance_type=str(instance_type),
        instance_count=int(count),
        seconds=float(seconds),
        jobs=int(jobs),
        hourly=hourly,
        basis=basis,
    )


def worst_case(
    jobs: Iterable[JobState], defaults: Mapping[str, Any], *, region: str | None, table: PriceTable | None = None
) -> list[JobCost]:
    """The worst-case cost of each job step (see the module docs)."""
    prices = table or PriceTable.load()
    return [_worst(job, defaults, prices, region) for job in jobs]


def job_states(definition: Mapping[str, Any]) -> Iterator[JobState]:
    """The job steps of a state machine definition (ASL), nested branches and Map processors included."""
    for name, state in (definition.get("States") or {}).items():
        resource = str(state.get("Resource", ""))
        action = resource.rsplit(":", 1)[-1].removesuffix(".sync") if ":sagemaker:" in resource else ""
        operation = action[:1].upper() + action[1:]
        if operation in USES and "aws-sdk" not in resource:
            yield JobState(name, operation, state.get("Parameters") or {}, state.get("TimeoutSeconds"))
        for branch in state.get("Branches", []):
            yield from job_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from job_states(state[key])


def input_defaults(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The execution-input defaults an MlPipeline's ``LoadDefaults`` state holds (empty otherwise)."""
    state = (definition.get("States") or {}).get("LoadDefaults") or {}
    return dict((state.get("Result") or {}).get("defaults") or {})


@dataclass(frozen=True)
class Billing:
    """What SageMaker bills a finished job of one kind from, in its ``Describe*`` response (see the module docs).

    :param use: the price table's use of the instances.
    :param name_field: the field naming the job in a step's result and in the describe request.
    :param describe: the boto3 ``sagemaker`` method that describes the job.
    :param cluster: where the response holds ``InstanceType`` and ``InstanceCount``.
    :param start: the start time field. Default: - none: ``BillableTimeInSeconds`` is billed.
    :param end: the end time field. Default: - none: ``BillableTimeInSeconds`` is billed.
    """

    use: str
    name_field: str
    describe: str
    cluster: str
    start: str | None = None
    end: str | None = None

    @property
    def basis(self) -> str:
        """What the billed seconds are read from."""
        return "BillableTimeInSeconds" if self.start is None else f"{self.end} - {self.start}"

    @property
    def fields(self) -> dict[str, str]:
        """The response fields the bill is computed from, by the name a step's result keeps them under."""
        times = {"BillableTimeInSeconds": "BillableTimeInSeconds"} if self.start is None else {}
        if self.start is not None and self.end is not None:
            times = {self.start: self.start, self.end: self.end}
        cluster = {n: f"{self.cluster}.{n}" for n in ("InstanceType", "InstanceCount")}
        return {**cluster, **times}


#: How each kind of job the actual cost covers is billed, by create operation. A tuning job is not
#: priced after the run: its training jobs are billed each, and the step's result names only the best.
BILLING = {
    "CreateTrainingJob": Billing("training", "TrainingJobName", "describe_training_job", "ResourceConfig"),
    "CreateProcessingJob": Billing(
        "processing",
        "ProcessingJobName",
        "describe_processing_job",
        "ProcessingResources.ClusterConfig",
        "ProcessingStartTime",
        "ProcessingEndTime",
    ),
    "CreateTransformJob": Billing(
        "transform",
        "TransformJobName",
        "describe_transform_job",
        "TransformResources",
        "TransformStartTime",
        "TransformEndTime",
    ),
}
#: The key of a job step's result that holds :attr:`Billing.fields` (:func:`billing_selector`).
BILLING_KEY = "Billing"
#: The key set (``true``) in a step's result that is an earlier job's: a cache hit (:mod:`sm_constructs.jobs.cache`).
REUSED_KEY = "Reused"


def billing_selector(operation: str) -> dict[str, Any]:
    """What a job step's ``ResultSelector`` keeps for its cost (``{"Billing": {...}}``), none for a job not priced."""
    billing = BILLING.get(operation)
    if billing is None:
        return {}
    return {BILLING_KEY: {f"{name}.$": f"$.{path}" for name, path in billing.fields.items()}}


def _priced(
    step: str,
    billing: Billing,
    instance_type: Any,
    count: Any,
    seconds: Any,
    where: str,
    table: PriceTable,
    region: str | None,
) -> JobCost:
    named = ((billing.basis, seconds), (f"{billing.cluster}.InstanceType", instance_type), ("InstanceCount", count))
    missing = [n for n, v in named if v is None]
    if missing:
        return JobCost(step=step, use=billing.use, problem=f"{where} has no {', '.join(missing)}")
    hourly = table.hourly(region, billing.use, str(instance_type))
    if hourly is None:
        return JobCost(
            step=step,
            use=billing.use,
            instance_type=str(instance_type),
            problem=f"no {billing.use} price for {instance_type} in {table.region(region)}",
        )
    return JobCost(
        step=step,
        use=billing.use,
        instance_type=str(instance_type),
        instance_count=int(count),
        seconds=float(seconds),
        hourly=hourly,
        basis=billing.basis,
    )


def actual_cost(
    sagemaker: Any, step: str, result: Mapping[str, Any], *, region: str | None, table: PriceTable | None = None
) -> JobCost | None:
    """The cost of the job a step ran (its task result names it), from SageMaker's description."""
    prices = table or PriceTable.load()
    for billing in BILLING.values():
        name = result.get(billing.name_field)
        if not isinstance(name, str):
            continue
        described = getattr(sagemaker, billing.describe)(**{billing.name_field: name})
        instance_type = _field(described, f"{billing.cluster}.InstanceType", {})
        count = _field(described, f"{billing.cluster}.InstanceCount", {})
        if billing.start is None:
            seconds = described.get("BillableTimeInSeconds")
        else:
            began, ended = described.get(billing.start), described.get(billing.end or "")
            seconds = (ended - began).total_seconds() if began and ended else None
        return _priced(step, billing, instance_type, count, seconds, f"{name}'s description", prices, region)
    return None


# ---- in the run manifest ------------------------------------------------------------------------
def manifest_prices(
    jobs: Iterable[JobState], *, region: str | None, table: PriceTable | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """The prices a run of ``jobs`` can need: region -> use -> instance type -> USD per instance-hour.

    The stack's region, or every region of the table for an environment-agnostic stack (the run reads its
    region from its execution ARN); the instance types the requests name, or every type of a use
    whose instance type is read from the execution input."""
    prices = table or PriceTable.load()
    named: dict[str, set[str] | None] = {}
    for job in jobs:
        billing = BILLING.get(job.operation)
        if billing is None:
            continue
        cluster = _field(job.parameters, billing.cluster, {})
        literal = cluster.get("InstanceType") if isinstance(cluster, Mapping) else None
        types = named.setdefault(billing.use, set())
        if isinstance(literal, str) and types is not None:
            types.add(literal)
        else:
            named[billing.use] = None  # any type of the use
    regions = [region] if region else list(prices.regions)
    return {
        r: {
            use: {
                t: p for t, p in sorted(prices.regions.get(r, {}).get(use, {}).items()) if types is None or t in types
            }
            for use, types in sorted(named.items())
        }
        for r in regions
    }


def manifest_cost(steps: Mapping[str, str], prices: Mapping[str, Any], *, source: str) -> str:
    """A JSONata expression of the run's cost from the state's input (``$states.input.steps``).

    ``steps`` maps each job step whose result is ``$.steps.<step>`` to its create operation (those
    :data:`BILLING` covers are priced); ``prices`` come from :func:`manifest_prices`. Each step's figure
    is :func:`actual_cost`'s: the same fields, the same table and ``hourly × count × seconds / 3600``;
    a step whose result is an earlier job's (``Reused``: a cache hit; or given by a selective re-run's
    ``input.resume.steps``) costs nothing; a step that did not run is left out."""
    calls = []
    for step, operation in steps.items():
        billing = BILLING.get(operation)
        if billing is None:
            continue
        if billing.start is None:
            seconds = "$b.BillableTimeInSeconds"
        else:
            seconds = f"($ms($b.{billing.end}) - $ms($b.{billing.start})) / 1000"
        name, use, basis = (json.dumps(v) for v in (step, billing.use, billing.basis))
        calls.append(
            f"{name}: ($r := $lookup($states.input.steps, {name}); $b := $r.{BILLING_KEY}; "
            f"$exists($r) ? $job({name}, $r.{billing.name_field}, {use}, {basis}, $r, {seconds}))"
        )
    return _MANIFEST_COST.format(
        prices=json.dumps(prices, separators=(",", ":")),
        billing=BILLING_KEY,
        reused=REUSED_KEY,
        source=json.dumps(source),
        steps=", ".join(calls),
    )


#: The JSONata of :func:`manifest_cost`; ``$job`` prices one step's result as :func:`_priced` does.
_MANIFEST_COST = (
    "($prices := {prices}; "
    '$region := $split($states.context.Execution.Id, ":")[3]; '
    "$resumed := $keys($states.input.input.resume.steps); "
    '$ms := function($t) {{ $type($t) = "string" ? $toMillis($t) : $type($t) = "number" ? $t }}; '
    "$job := function($step, $name, $use, $basis, $r, $seconds) {{ ("
    "$b := $r.{billing}; "
    "$hourly := $lookup($lookup($lookup($prices, $region), $use), $b.InstanceType); "
    '$missing := [$not($type($seconds) = "number") ? $basis, $not($type($b.InstanceType) = "string") ? "InstanceType", '
    '$not($type($b.InstanceCount) = "number") ? "InstanceCount"]; '
    '$r.{reused} = true or $step in $resumed ? {{"reused": true, "usd": 0}} : '
    '$count($missing) > 0 ? {{"use": $use, "problem": $name & "\'s description has no " & $join($missing, ", "), '
    '"usd": 0}} : '
    '$not($exists($hourly)) ? {{"use": $use, "instanceType": $b.InstanceType, '
    '"problem": "no " & $use & " price for " & $b.InstanceType & " in " & $region, "usd": 0}} : '
    '{{"use": $use, "instanceType": $b.InstanceType, "instanceCount": $b.InstanceCount, "seconds": $seconds, '
    '"basis": $basis, "hourlyUsd": $hourly, "usd": $hourly * $b.InstanceCount * $seconds / 3600, '
    '"priceSource": {source}}}'
    ") }}; "
    "$steps := {{{steps}}}; "
    '{{"steps": $steps, "usd": $sum([$steps.*.usd]), "region": $region, "prices": {source}}})'
)
