"""Hyperparameter tuning jobs run as real training trials on this machine.

moto completes a tuning job at once with a placeholder best job (``FakeTrainingJobName``) whose
model does not exist. Here a tuning job runs its trials through the :class:`~.runner.JobRunner`,
as SageMaker does (*How Hyperparameter Tuning Works*, Amazon SageMaker Developer Guide):

* ``Random``: each trial draws every tuned hyperparameter independently (uniformly, or uniformly
  in log space for ``Logarithmic``; ``ReverseLogarithmic`` is drawn as ``Linear``), seeded by
  ``RandomSeed`` when given; ``Grid``: every combination of the categorical ranges (SageMaker's grid
  search takes categorical ranges only), in order;
* ``Bayesian`` and ``Hyperband`` have no local implementation: their trials are drawn as ``Random``
  ones, and the job's log says so;
* ``MaxNumberOfTrainingJobs`` trials (Default: the grid's size, else 1), at most
  ``MaxParallelTrainingJobs`` at a time; each trial is an ordinary training job named
  ``<tuning job>-<NNN>-<8 hex>`` (visible to ``DescribeTrainingJob``), with the static and the
  drawn hyperparameters;
* the objective metric is read from each trial's ``FinalMetricDataList``; ``BestTrainingJob`` is
  the completed trial with the best value (``Maximize``/``Minimize``), so its
  ``<S3OutputPath>/<job>/output/model.tar.gz`` exists downstream. With no completed trial that
  reports the metric the tuning job fails, naming the trials' failure reasons;
* ``ListTrainingJobsForHyperParameterTuningJob`` (moto: not implemented) lists the trials as
  botocore's SageMaker model documents it: ``StatusEquals``; ``SortBy`` ``Name`` (default),
  ``CreationTime``, ``Status`` or ``FinalObjectiveMetricValue`` (trials without the objective
  metric left out); ``SortOrder`` (default ``Ascending``); ``MaxResults`` (default 10) and
  ``NextToken``; an unknown tuning job is ``ResourceNotFound``.
"""

from __future__ import annotations

import datetime
import itertools
import math
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._sagemaker_requests import answer_with, page

__all__ = ["install", "list_trials", "run_tuning_job", "trial_hyperparameters"]

#: Strategies without a local implementation, drawn as Random trials.
_RANDOM_FALLBACK = {"Bayesian", "Hyperband"}


def _number(text: str) -> float:
    return float(text)


def _draw(rng: random.Random, low: float, high: float, scaling: str) -> float:
    if scaling == "Logarithmic" and low > 0:
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    return rng.uniform(low, high)


def trial_hyperparameters(config: dict[str, Any]) -> list[dict[str, str]]:
    """The tuned hyperparameters of every trial a tuning job configuration asks for."""
    strategy = config.get("Strategy", "Bayesian")
    ranges = config.get("ParameterRanges", {})
    limits = config.get("ResourceLimits", {})
    categorical = ranges.get("CategoricalParameterRanges", [])
    if strategy == "Grid":
        names = [r["Name"] for r in categorical]
        grid = [
            dict(zip(names, values, strict=True)) for values in itertools.product(*(r["Values"] for r in categorical))
        ]
        return grid[: limits.get("MaxNumberOfTrainingJobs", len(grid))]
    rng = random.Random(config.get("RandomSeed"))
    trials = []
    for _ in range(int(limits.get("MaxNumberOfTrainingJobs", 1))):
        values: dict[str, str] = {}
        for r in ranges.get("IntegerParameterRanges", []):
            low, high = _number(r["MinValue"]), _number(r["MaxValue"])
            values[r["Name"]] = str(
                min(int(high), max(int(low), round(_draw(rng, low, high, r.get("ScalingType", "")))))
            )
        for r in ranges.get("ContinuousParameterRanges", []):
            low, high = _number(r["MinValue"]), _number(r["MaxValue"])
            values[r["Name"]] = f"{_draw(rng, low, high, r.get('ScalingType', '')):.6g}"
        for r in categorical:
            values[r["Name"]] = rng.choice(r["Values"])
        trials.append(values)
    return trials


def _training_request(name: str, definition: dict[str, Any], tuned: dict[str, str]) -> dict[str, Any]:
    """CreateTrainingJob for one trial, from the tuning job's TrainingJobDefinition."""
    request = {
        "TrainingJobName": name,
        "HyperParameters": {**definition.get("StaticHyperParameters", {}), **tuned},
        "AlgorithmSpecification": {
            k: v for k, v in definition["AlgorithmSpecification"].items() if k not in ("AlgorithmName",)
        },
    }
    for key in (
        "RoleArn",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
        "VpcConfig",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
        "CheckpointConfig",
        "Environment",
    ):
        if key in definition:
            request[key] = definition[key]
    return request


def run_tuning_job(runner: Any, name: str, request: dict[str, Any], job: Any, region: str, sagemaker: Any) -> None:
    """Run the trials of tuning job ``name`` and record the best one on moto's ``job``."""
    config = request["HyperParameterTuningJobConfig"]
    definition = request.get("TrainingJobDefinition") or (request.get("TrainingJobDefinitions") or [{}])[0]
    objective = config["HyperParameterTuningJobObjective"]
    log = Path(runner.workdir) / "jobs" / name / "job.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    strategy = config.get("Strategy", "Bayesian")
    trials = trial_hyperparameters(config)
    with log.open("w") as out:
        out.write(f"tuning job {name}: {len(trials)} trials, strategy {strategy}\n")
        if strategy in _RANDOM_FALLBACK:
            out.write(f"{strategy} search has no local implementation: trials are drawn as Random search draws them\n")
    names = [f"{name}-{i + 1:03d}-{uuid.uuid4().hex[:8]}" for i in range(len(trials))]
    requests = [_training_request(n, definition, t) for n, t in zip(names, trials, strict=True)]
    job.local_trials = {n: (t, objective) for n, t in zip(names, trials, strict=True)}
    for trial in requests:
        sagemaker.create_training_job(**trial)
    job.training_job_status_counters = {
        "Completed": 0,
        "InProgress": len(requests),
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }

    def run(trial: dict[str, Any]) -> Any:
        trial_job = runner._job("CreateTrainingJob", trial["TrainingJobName"], region)
        trial_job.training_job_status = "InProgress"
        runner._run("CreateTrainingJob", trial["TrainingJobName"], trial, trial_job, "training_job_status", region)
        return trial_job

    parallel = max(1, int(config.get("ResourceLimits", {}).get("MaxParallelTrainingJobs", 1)))
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix=f"tuning-{name}") as pool:
        finished = list(pool.map(run, requests))

    scored = []
    failures = []
    for trial, trial_job in zip(requests, finished, strict=True):
        metrics = {m["MetricName"]: m["Value"] for m in trial_job.final_metric_data_list or []}
        if trial_job.training_job_status == "Completed" and objective["MetricName"] in metrics:
            scored.append((metrics[objective["MetricName"]], trial, trial_job))
        else:
            failures.append(
                f"{trial['TrainingJobName']}: {getattr(trial_job, 'failure_reason', None) or 'no ' + objective['MetricName']}"
            )
    completed = sum(1 for j in finished if j.training_job_status == "Completed")
    job.training_job_status_counters = {
        "Completed": completed,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": len(finished) - completed,
        "Stopped": 0,
    }
    job.objective_status_counters = {"Succeeded": len(scored), "Pending": 0, "Failed": len(finished) - len(scored)}
    now = datetime.datetime.now(datetime.UTC)
    job.last_modified_time = job.hyper_parameter_tuning_end_time = now
    with log.open("a") as out:
        for value, trial, _ in scored:
            out.write(f"{trial['TrainingJobName']}: {objective['MetricName']}={value}\n")
        for failure in failures:
            out.write(f"{failure}\n")
    if not scored:
        job.failure_reason = ("No training job succeeded with the objective metric. " + "; ".join(failures))[:1024]
        job.hyper_parameter_tuning_job_status = "Failed"
        return
    pick = max if objective.get("Type", "Maximize") == "Maximize" else min
    value, trial, trial_job = pick(scored, key=lambda s: s[0])
    tuned = {k: v for k, v in trial["HyperParameters"].items() if k not in definition.get("StaticHyperParameters", {})}
    best = {
        "TrainingJobName": trial["TrainingJobName"],
        "TrainingJobArn": trial_job.arn,
        "TuningJobName": name,
        "CreationTime": trial_job.creation_time,
        "TrainingStartTime": getattr(trial_job, "training_start_time", now),
        "TrainingEndTime": getattr(trial_job, "training_end_time", now),
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": tuned,
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "Type": objective.get("Type", "Maximize"),
            "MetricName": objective["MetricName"],
            "Value": value,
        },
        "ObjectiveStatus": "Succeeded",
    }
    job.best_training_job = best
    job.OverallBestTrainingJob = best
    job.tuning_job_completion_details = {}
    with log.open("a") as out:
        out.write(f"best: {trial['TrainingJobName']} {objective['MetricName']}={value} {tuned}\n")
    job.hyper_parameter_tuning_job_status = "Completed"


def _summary(
    backend: Any, tuning_job: str, trial: str, tuned: dict[str, str], objective: dict[str, Any]
) -> dict[str, Any]:
    described = backend.describe_training_job(trial)
    summary = {
        "TrainingJobName": trial,
        "TrainingJobArn": described["TrainingJobArn"],
        "TuningJobName": tuning_job,
        "CreationTime": described["CreationTime"],
        "TrainingJobStatus": described["TrainingJobStatus"],
        "TunedHyperParameters": tuned,
    }
    for key in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if described.get(key):
            summary[key] = described[key]
    metrics = {m["MetricName"]: m["Value"] for m in described.get("FinalMetricDataList") or []}
    if objective["MetricName"] in metrics:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.get("Type", "Maximize"),
            "MetricName": objective["MetricName"],
            "Value": metrics[objective["MetricName"]],
        }
    running = described["TrainingJobStatus"] in ("InProgress", "Stopping")
    scored = "FinalHyperParameterTuningJobObjectiveMetric" in summary
    summary["ObjectiveStatus"] = "Pending" if running else "Succeeded" if scored else "Failed"
    return summary


def list_trials(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The ``ListTrainingJobsForHyperParameterTuningJob`` response for ``params`` (module docs)."""
    from moto.sagemaker.exceptions import ResourceNotFound

    name = params["HyperParameterTuningJobName"]
    job = backend.hyper_parameter_tuning_jobs.get(name)
    if job is None:
        raise ResourceNotFound(message=f"Could not find hyper parameter tuning job '{name}'.")
    trials = getattr(job, "local_trials", {})
    summaries = [_summary(backend, name, trial, tuned, objective) for trial, (tuned, objective) in trials.items()]
    if params.get("StatusEquals"):
        summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
    sort_by = params.get("SortBy", "Name")
    if sort_by == "FinalObjectiveMetricValue":
        summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    key = {
        "Name": lambda s: s["TrainingJobName"],
        "CreationTime": lambda s: s["CreationTime"],
        "Status": lambda s: s["TrainingJobStatus"],
        "FinalObjectiveMetricValue": lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
    }[sort_by]
    summaries.sort(key=key, reverse=params.get("SortOrder", "Ascending") == "Descending")
    shown, more = page(summaries, params)
    return {"TrainingJobSummaries": shown, **more}


def install() -> None:
    """Answer ``ListTrainingJobsForHyperParameterTuningJob`` from the trials run here."""
    from .. import patches

    patches.add(
        "moto.sagemaker.responses:SageMakerResponse",
        "list_training_jobs_for_hyper_parameter_tuning_job",
        answer_with(list_trials),
        why="moto does not implement ListTrainingJobsForHyperParameterTuningJob; the trials are this module's",
    )
    patches.apply()
