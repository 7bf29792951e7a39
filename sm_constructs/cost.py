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
× instance count. A step that reused an earlier job (step caching) costs nothing in this run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["JobCost", "JobState", "PriceTable", "actual_cost", "dollars", "job_states", "worst_case"]


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


#: describe call, instance config path, start and end fields of each kind of job.
_DESCRIBE = {
    "TrainingJobName": ("describe_training_job", "ResourceConfig", None, None, "training"),
    "ProcessingJobName": (
        "describe_processing_job",
        "ProcessingResources.ClusterConfig",
        "ProcessingStartTime",
        "ProcessingEndTime",
        "processing",
    ),
    "TransformJobName": (
        "describe_transform_job",
        "TransformResources",
        "TransformStartTime",
        "TransformEndTime",
        "transform",
    ),
}


def actual_cost(
    sagemaker: Any, step: str, result: Mapping[str, Any], *, region: str | None, table: PriceTable | None = None
) -> JobCost | None:
    """The cost of the job a step ran (its task result names it), from SageMaker's description."""
    prices = table or PriceTable.load()
    for field, (call, cluster, start, end, use) in _DESCRIBE.items():
        name = result.get(field)
        if not isinstance(name, str):
            continue
        described = getattr(sagemaker, call)(**{field: name})
        config = _field(described, f"{cluster}.InstanceType", {}), _field(described, f"{cluster}.InstanceCount", {})
        if start is None:
            seconds, basis = described.get("BillableTimeInSeconds"), "BillableTimeInSeconds"
        else:
            began, ended = described.get(start), described.get(end)
            seconds = (ended - began).total_seconds() if began and ended else None
            basis = f"{end} - {start}"
        missing = [
            n
            for n, v in ((basis, seconds), (f"{cluster}.InstanceType", config[0]), ("InstanceCount", config[1]))
            if v is None
        ]
        if missing:
            return JobCost(step=step, use=use, problem=f"{name}'s description has no {', '.join(missing)}")
        hourly = prices.hourly(region, use, str(config[0]))
        if hourly is None:
            return JobCost(
                step=step,
                use=use,
                instance_type=str(config[0]),
                problem=f"no {use} price for {config[0]} in {prices.region(region)}",
            )
        return JobCost(
            step=step,
            use=use,
            instance_type=str(config[0]),
            instance_count=int(config[1]),
            seconds=float(seconds),
            hourly=hourly,
            basis=basis,
        )
    return None
