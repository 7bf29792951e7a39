"""The end of ``sm-pipeline run --watch`` / ``watch``: what an execution did, read from its history.

Steps with status and time, the SageMaker jobs they ran, cache hits, metrics, the quality gate's
verdict and where the outputs are, one fact per line, instead of the execution's raw output (which
``--json`` still prints). Everything comes from ``DescribeExecution``, ``GetExecutionHistory`` and the
state machine's definition, so it reads the same on AWS and in the emulator.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

__all__ = ["cache_hits", "summary"]

#: States of the step cache (``sm_constructs.jobs.cache``) that serve a step rather than being one.
CACHE_STATE_SUFFIXES = ("CacheKey", "CacheKeyHash", "CacheLookup", "CacheCandidate", "CacheTags", "CacheHitOrMiss")
#: State types that do work (the rest route data: Pass, Choice, Wait, Succeed, Fail).
WORK_TYPES = {"Task", "Parallel", "Map"}
#: Numeric comparison of a Choice rule against a path → how the gate's verdict names it
#: (Amazon States Language, "Choice Rules").
COMPARISONS = {
    "NumericGreaterThanEqualsPath": ">=",
    "NumericGreaterThanPath": ">",
    "NumericLessThanEqualsPath": "<=",
    "NumericLessThanPath": "<",
    "NumericEqualsPath": "==",
}
#: The quality gate of ``MlPipeline`` (``sm_constructs.pipeline``): its Choice and where it leads.
GATE = "QualityGate"
GATE_VERDICTS = {
    "QualityGatePassed": "passed",
    "QualityGateNotMet": "not met",
    "QualityGateMetricMissing": "metric missing",
}


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, in branches and map processors too."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition.get("States", {}).items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_states(branch))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found.update(_states(state[key]))
    return found


def _owner(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> str | None:
    """The state an event belongs to: back along ``previousEventId`` to a ``*StateEntered`` event."""
    seen = 0
    current: dict[str, Any] | None = event
    while current is not None and seen < len(by_id):
        if "stateEnteredEventDetails" in current:
            return str(current["stateEnteredEventDetails"]["name"])
        current = by_id.get(current.get("previousEventId", -1))
        seen += 1
    return None


def _seconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return (end - start).total_seconds()
    return None


def cache_hits(events: list[dict[str, Any]]) -> list[str]:
    """``<step>: cache hit, reused <job>`` for every step that reused an earlier job (its ``<step>CacheHit``
    state), and ``<step>: not cached, <reason>`` for every step whose input data could not be fingerprinted
    (its ``<step>NotCached`` state)."""
    hits = []
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        name = str(details.get("name", ""))
        if name.endswith("NotCached"):
            step = name.removesuffix("NotCached")
            try:
                reason = json.loads(details.get("output") or "{}")["cache"][step]["reason"]
            except (json.JSONDecodeError, KeyError, TypeError):
                reason = "its input data could not be fingerprinted"
            hits.append(f"{step}: not cached, {reason}")
        if name.endswith("CacheHit"):
            data = _json(details.get("output"))
            step = name.removesuffix("CacheHit")
            result = (data.get("steps") or {}).get(step, {}) if isinstance(data, dict) else {}
            job = next((v for k, v in result.items() if k.endswith("JobName")), "an earlier job")
            hits.append(f"{step}: cache hit, reused {job}")
    return hits


def _jobs(result: Any) -> list[str]:
    """``<job name> (<status>)`` for every SageMaker job a task's result describes."""
    if not isinstance(result, dict):
        return []
    jobs = []
    for key, value in result.items():
        if key.endswith("JobName") and isinstance(value, str):
            status = result.get(key.replace("JobName", "JobStatus"))
            jobs.append(f"{value} ({status})" if status else value)
    return jobs


def _outputs(step: str, result: Any) -> list[str]:
    """Where a job's result says its outputs are: processing outputs, model artifact, transform output,
    registered model version."""
    if not isinstance(result, dict):
        return []
    found = []
    for output in (result.get("ProcessingOutputConfig") or {}).get("Outputs", []):
        uri = (output.get("S3Output") or {}).get("S3Uri")
        if uri:
            found.append(f"{step} {output.get('OutputName', 'output')}: {uri}")
    model = (result.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
    if model:
        found.append(f"{step} model: {model}")
    transform = (result.get("TransformOutput") or {}).get("S3OutputPath")
    if transform:
        found.append(f"{step} predictions: {transform}")
    if isinstance(result.get("ModelPackageArn"), str):
        found.append(f"{step} model version: {result['ModelPackageArn']}")
    return found


def _metrics(step: str, result: Any) -> list[str]:
    """A training job's final metrics (``FinalMetricDataList``)."""
    if not isinstance(result, dict):
        return []
    return [
        f"{step} {metric['MetricName']} = {metric['Value']:g}"
        for metric in result.get("FinalMetricDataList") or []
        if isinstance(metric, dict) and isinstance(metric.get("Value"), int | float) and "MetricName" in metric
    ]


def _status(outcome: str | None, left: bool) -> str:
    """A step's status: its task's last outcome; a failure it left through a Catch is ``caught``."""
    if outcome and outcome.startswith("failed: ") and left:
        return outcome.replace("failed: ", "caught: ", 1)
    return outcome or ("done" if left else "did not finish")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _path(data: Any, path: str) -> Any:
    """A ``$.a.b`` reference path's value (the only form the gate uses), or None."""
    for part in path.removeprefix("$").strip(".").split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _gate(definition_states: dict[str, dict[str, Any]], entered: dict[str, dict[str, Any]]) -> str | None:
    """The quality gate's verdict: the metric, its value, the comparison and the threshold."""
    if GATE not in entered:
        return None
    verdict = next((text for state, text in GATE_VERDICTS.items() if state in entered), "no verdict")
    rule = _gate_rule(definition_states)
    if rule is None:
        return verdict
    metric, symbol, threshold = rule
    state_input = _json(entered[GATE]["stateEnteredEventDetails"].get("input"))
    value, limit = _path(state_input, metric), _path(state_input, threshold)
    name = metric.rsplit(".report.", 1)[-1]
    return f"{verdict}: {name} = {_number(value)} {symbol} {_number(limit)} (threshold: {threshold})"


def _gate_rule(definition_states: dict[str, dict[str, Any]]) -> tuple[str, str, str] | None:
    """The gate's metric path, comparison and threshold path, from its Choice state."""
    for choice in definition_states.get(GATE, {}).get("Choices", []):
        for rule in choice.get("And", [choice]):
            for key, symbol in COMPARISONS.items():
                if key in rule:
                    return str(rule["Variable"]), symbol, str(rule[key])
    return None


def _leaves(data: Any, prefix: str = "") -> list[str]:
    if isinstance(data, dict):
        return [line for key, value in data.items() for line in _leaves(value, f"{prefix}{key}.")]
    if isinstance(data, int | float) and not isinstance(data, bool):
        return [f"{prefix.rstrip('.')} = {data:g}"]
    return []


def _report(definition_states: dict[str, dict[str, Any]], entered: dict[str, dict[str, Any]]) -> list[str]:
    """The numbers of the evaluation report the quality gate read."""
    rule = _gate_rule(definition_states)
    if GATE not in entered or rule is None or ".report." not in rule[0]:
        return []
    state_input = _json(entered[GATE]["stateEnteredEventDetails"].get("input"))
    return _leaves(_path(state_input, rule[0].rsplit(".report.", 1)[0] + ".report"))


def summary(definition: dict[str, Any], described: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """The lines that end a watched execution (after its ``succeeded in ...`` or failure line)."""
    by_id = {e["id"]: e for e in events}
    states = _states(definition)
    entered: dict[str, dict[str, Any]] = {}
    exited: dict[str, dict[str, Any]] = {}
    outcome: dict[str, str] = {}
    results: dict[str, Any] = {}
    for event in events:
        if "stateEnteredEventDetails" in event:
            entered.setdefault(event["stateEnteredEventDetails"]["name"], event)
        elif "stateExitedEventDetails" in event:
            exited[event["stateExitedEventDetails"]["name"]] = event
        elif "taskSucceededEventDetails" in event or "taskFailedEventDetails" in event:
            owner = _owner(event, by_id)
            if owner is None:
                continue
            if "taskSucceededEventDetails" in event:
                outcome[owner] = "succeeded"
                results[owner] = _json(event["taskSucceededEventDetails"].get("output"))
            else:
                outcome[owner] = f"failed: {event['taskFailedEventDetails'].get('error', 'error')}"
    lines = []
    steps = [
        name
        for name in entered
        if states.get(name, {}).get("Type") in WORK_TYPES and not name.endswith(CACHE_STATE_SUFFIXES)
    ]
    if steps:
        lines.append("steps:")
        statuses = {name: _status(outcome.get(name), name in exited) for name in steps}
        width, status_width = max(map(len, steps)), max(map(len, statuses.values()))
        for name in steps:
            seconds = _seconds(entered[name].get("timestamp"), (exited.get(name) or {}).get("timestamp"))
            took = f"{seconds:7.1f}s" if seconds is not None else "        "
            jobs = ", ".join(_jobs(results.get(name)))
            lines.append(f"  {name:<{width}}  {statuses[name]:<{status_width}} {took}  {jobs}".rstrip())
    for label, found in (
        ("cache hits", cache_hits(events)),
        ("metrics", [m for name in steps for m in _metrics(name, results.get(name))]),
    ):
        if found:
            lines.append(f"{label}:")
            lines.extend(f"  {line}" for line in found)
    for label, found in (("evaluation", _report(states, entered)),):
        if found:
            lines.append(f"{label}:")
            lines.extend(f"  {line}" for line in found)
    verdict = _gate(states, entered)
    if verdict:
        lines.append(f"quality gate: {verdict}")
    outputs: list[str] = []
    for name in steps:  # each location once, named by the first step whose result has it
        outputs += [
            o
            for o in _outputs(name, results.get(name))
            if not any(o.split(": ", 1)[1] == s.split(": ", 1)[1] for s in outputs)
        ]
    if outputs:
        lines.append("outputs:")
        lines.extend(f"  {line}" for line in outputs)
    return lines


def add_follow_arguments(parser: argparse.ArgumentParser, *, interval: float) -> None:
    """The options of a command that follows an execution to its end (``sm-pipeline run --watch`` and
    ``watch``, ``sm-local run``): how often it looks, and ``--json`` for the raw output instead of :func:`summary`."""
    parser.add_argument("--interval", type=float, default=interval, help="seconds between progress checks")
    parser.add_argument("--json", action="store_true", help="end with the execution's raw output instead of a summary")
