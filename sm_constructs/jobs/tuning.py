"""Hyperparameter tuning jobs (CreateHyperParameterTuningJob) over a training definition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

from aws_cdk import Duration
from constructs import Construct

from .._algorithms import xgboost_hyperparameters
from .._iam_facts import TUNING
from .._validation import Problems, _nearest, carry, service_shapes, typed
from .training import ModelTrainingDefinition, TrainingDefinition, check_xgboost_hyperparameter

__all__ = ["CategoricalRange", "ContinuousRange", "IntegerRange", "TuningDefinition"]

#: Hyperparameters one tuning job may tune, all kinds together (the per-kind list ``max`` of the model).
_MAX_RANGES: int = service_shapes("sagemaker")["shapes"]["IntegerParameterRanges"]["max"]
Scaling = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


@dataclass(frozen=True)
class _NumericRange:
    name: str
    min_value: float
    max_value: float
    _: KW_ONLY
    scaling: Scaling = "Auto"

    def render(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "MinValue": carry(str(self.min_value), self.min_value),
            "MaxValue": carry(str(self.max_value), self.max_value),
            "ScalingType": self.scaling,
        }


@dataclass(frozen=True)
class IntegerRange(_NumericRange):
    """Whole-number hyperparameter between ``min_value`` and ``max_value``.

    :param name: the hyperparameter.
    :param min_value: lowest value.
    :param max_value: highest value.
    :param scaling: ``Auto``, ``Linear``, ``Logarithmic`` or ``ReverseLogarithmic``. Default: ``Auto``.
    """

    min_value: int
    max_value: int


@dataclass(frozen=True)
class ContinuousRange(_NumericRange):
    """Real-valued hyperparameter between ``min_value`` and ``max_value``.

    :param name: the hyperparameter.
    :param min_value: lowest value.
    :param max_value: highest value.
    :param scaling: ``Auto``, ``Linear``, ``Logarithmic`` or ``ReverseLogarithmic``. Default: ``Auto``.
    """


@dataclass(frozen=True)
class CategoricalRange:
    """A hyperparameter that takes one of ``values``.

    :param name: the hyperparameter.
    :param values: the values to try.
    """

    name: str
    values: Sequence[str]

    def render(self) -> dict[str, Any]:
        return {"Name": self.name, "Values": carry([carry(str(v), v) for v in self.values], self.values)}


ParameterRange = IntegerRange | ContinuousRange | CategoricalRange


def _check_xgboost_ranges(problems: Problems, ranges: Sequence[ParameterRange]) -> None:
    """Every value a range can send must pass the built-in XGBoost container's table: the name, each
    categorical value, and numeric bounds inside the hyperparameter's interval (a continuous range
    over an integer hyperparameter sends values the container cannot parse)."""
    table = xgboost_hyperparameters()
    for r in ranges:
        field = f"ranges[{r.name}]"
        row = table.get(r.name)
        if row is None:
            problems.add(
                field,
                r.name,
                "not a hyperparameter of the built-in XGBoost algorithm (SageMaker Developer Guide, "
                f"'XGBoost hyperparameters'){_nearest(r.name, table.names())}",
            )
        elif isinstance(r, CategoricalRange):
            for value in r.values:
                check_xgboost_hyperparameter(problems, field, r.name, value)
        elif not row.numeric:
            problems.add(field, r.name, f"{r.name} takes {row.range_text()}: tune it with a CategoricalRange")
        elif isinstance(r, ContinuousRange) and row.kind == "Integer":
            problems.add(field, r.name, f"{r.name} is a whole number: tune it with an IntegerRange")
        else:
            for bound in (r.min_value, r.max_value):
                check_xgboost_hyperparameter(problems, field, r.name, bound)


class TuningDefinition(ModelTrainingDefinition):
    """A hyperparameter tuning job that trains ``training`` many times and keeps the best model.

    The task output carries the best training job's name *and* its model artifact URI
    (``<output_path>/<best job>/output/model.tar.gz``, the layout SageMaker writes), so the next
    state can create a model from it.

    :param training: the training definition used as template; its static hyperparameters become
        ``StaticHyperParameters`` (a tuned name may not also be static).
    :param objective_metric: metric to optimize, e.g. ``validation:auc``.
    :param objective_type: ``Maximize`` (default) or ``Minimize``.
    :param ranges: the hyperparameters to tune.
    :param strategy: ``Bayesian`` (default), ``Random``, ``Hyperband`` or ``Grid``.
    :param max_training_jobs: Default: 10.
    :param max_parallel_jobs: Default: 2.
    :param early_stopping: ``Off`` (default) or ``Auto``.
    :param name_prefix: tuning job names are limited to 32 chars: at most 19 here. Default: - ``<stack name>-<id>``,
        lower-cased and cut to 19.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = TUNING

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        training: TrainingDefinition,
        objective_metric: str,
        ranges: Sequence[ParameterRange],
        objective_type: Literal["Maximize", "Minimize"] = "Maximize",
        strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = "Bayesian",
        max_training_jobs: int = 10,
        max_parallel_jobs: int = 2,
        early_stopping: Literal["Off", "Auto"] = "Off",
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        # Enums, the metric name, range names and values, counts per range kind: from the model.
        problems.int_range("max_training_jobs", max_training_jobs, 1, 750)  # the account quota's default
        problems.int_range("max_parallel_jobs", max_parallel_jobs, 1, 100)
        if (
            isinstance(max_parallel_jobs, int)
            and isinstance(max_training_jobs, int)
            and max_parallel_jobs > max_training_jobs
        ):
            problems.add("max_parallel_jobs", max_parallel_jobs, "cannot exceed max_training_jobs")
        if not ranges:
            problems.add("ranges", [], "give at least one hyperparameter range")
        elif isinstance(ranges, Sequence) and len(ranges) > _MAX_RANGES:
            # botocore's ParameterRanges documentation: the 30 per kind is also the job's total.
            problems.add("ranges", f"<{len(ranges)} ranges>", f"at most {_MAX_RANGES} hyperparameters in all ranges")
        names = [r.name for r in ranges]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.add("ranges", dup, "each hyperparameter is tuned once")
        static = training.hyperparameters if isinstance(training.hyperparameters, Mapping) else {}
        for name in names:
            if name in static:
                problems.add("ranges", name, "is also a static hyperparameter of the training definition")
        for r in ranges:
            if isinstance(r, _NumericRange) and r.min_value >= r.max_value:
                problems.add(f"ranges[{r.name}]", (r.min_value, r.max_value), "min_value must be below max_value")
            if isinstance(r, _NumericRange) and r.scaling == "Logarithmic" and r.min_value <= 0:
                problems.add(f"ranges[{r.name}]", r.min_value, "logarithmic scaling needs min_value > 0")
        if training.image_config.family == "xgboost" and training.entry_point is None:
            _check_xgboost_ranges(problems, ranges)
        if strategy == "Grid" and any(not isinstance(r, CategoricalRange) for r in ranges):
            problems.add("strategy", strategy, "Grid search tunes categorical ranges only")
        if training.use_spot_instances and strategy == "Hyperband":
            problems.conflict(["strategy", "training.use_spot_instances"], "Hyperband does not support managed spot")
        super().__init__(scope, id, name_prefix=name_prefix, role=training.role, tags=tags, problems=problems)
        self.training = training
        self.objective_metric = objective_metric
        self.objective_type = objective_type
        self.ranges = list(ranges)
        self.strategy = strategy
        self.max_training_jobs = max_training_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.early_stopping = early_stopping
        self._check_request()

    def render_request(self) -> dict[str, Any]:
        ranges: dict[str, list[dict[str, Any]]] = {}
        for r in self.ranges:
            key = {
                IntegerRange: "IntegerParameterRanges",
                ContinuousRange: "ContinuousParameterRanges",
                CategoricalRange: "CategoricalParameterRanges",
            }[type(r)]
            ranges.setdefault(key, []).append(r.render())
        template = self.training.job_template()
        static = self.training.rendered_hyperparameters()
        if static:
            template["StaticHyperParameters"] = static
        config: dict[str, Any] = {
            "Strategy": self.strategy,
            "HyperParameterTuningJobObjective": {"Type": self.objective_type, "MetricName": self.objective_metric},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": self.max_training_jobs,
                "MaxParallelTrainingJobs": self.max_parallel_jobs,
            },
            "ParameterRanges": ranges,
        }
        if self.strategy != "Hyperband":
            config["TrainingJobEarlyStoppingType"] = self.early_stopping
        return {
            "HyperParameterTuningJobName": self._name(),
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": template,
            "Tags": self._tags(),
        }

    def result_selector(self) -> dict[str, Any]:
        return {
            "HyperParameterTuningJobName.$": "$.HyperParameterTuningJobName",
            "HyperParameterTuningJobArn.$": "$.HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus.$": "$.HyperParameterTuningJobStatus",
            "BestTrainingJobName.$": "$.BestTrainingJob.TrainingJobName",
            "BestTrainingJobArn.$": "$.BestTrainingJob.TrainingJobArn",
            "BestObjectiveValue.$": "$.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value",
            "ModelArtifacts.$": (
                "States.Format('{}/{}/output/model.tar.gz', $.TrainingJobDefinition.OutputDataConfig.S3OutputPath, "
                "$.BestTrainingJob.TrainingJobName)"
            ),
            "Image.$": "$.TrainingJobDefinition.AlgorithmSpecification.TrainingImage",
        }

    def default_timeout(self) -> Duration:
        rounds = -(-self.max_training_jobs // self.max_parallel_jobs)
        return Duration.seconds(rounds * int(self.training.default_timeout().to_seconds()) + 3600)
