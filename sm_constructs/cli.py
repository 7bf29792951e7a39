"""``sm-pipeline``: start and follow pipeline executions (AWS, or any endpoint in AWS_ENDPOINT_URL).

    sm-pipeline list
    sm-pipeline run <state machine name or ARN> [--input JSON | --input @file.json] [--name NAME] [--watch]
                    [--from STEP --reuse <execution ARN>] [--json]
    sm-pipeline watch <execution ARN> [--json]
    sm-pipeline cost <state machine name or ARN>
    sm-pipeline models <model package group>
    sm-pipeline approve <model package group> [--version N] [--reject] [--description TEXT] [--follow]
    sm-pipeline invoke <endpoint name> --body @rows.csv [--content-type text/csv]

A watched run ends with a summary (``sm_constructs._run_summary``): steps with status and time, jobs,
cache hits, metrics, the quality gate's verdict, outputs and cost; ``--json`` ends a successful run with its
raw output on one line instead. ``approve`` names the release execution the approval started
(``--follow`` watches it). A failed run ends with the failed state, the error, the job's
FailureReason and the last lines of its log (CloudWatch Logs ``/aws/sagemaker/<kind>Jobs``), each
on its own line.

``--from Train --reuse <execution>`` is a selective re-run: the new execution starts at the step
``Train`` and takes the results of the steps before it from that execution's history (its input
too, with ``--input`` merged over it), without running them again. ``watch`` names the steps that
reused an earlier job (step caching) and ends with what each job of the run cost (:mod:`sm_constructs.cost`).
``cost`` prints a run's worst case per job step, before running it.

Errors (unknown pipeline, malformed input, no endpoint or credentials) are one line on stderr
and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ._events import APPROVAL_EVENT
from ._lineage_read import chain_lines, read_lineage, run_outcome, start_actions
from ._run_summary import add_follow_arguments, cache_hits, summary
from .cost import PriceTable, actual_cost, dollars, input_defaults, job_states, worst_case

__all__ = ["cache_hits", "cost_lines", "main", "watch"]

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
#: An execution that started this long before the approval call returned is not the approval's release.
CLOCK_SKEW_SECONDS = 5.0


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 1 (2 for usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _client() -> Any:
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("stepfunctions", config=config)


def _state_machines(client: Any) -> list[dict[str, Any]]:
    machines: list[dict[str, Any]] = []
    for page in client.get_paginator("list_state_machines").paginate():
        machines.extend(page["stateMachines"])
    return machines


def _resolve(client: Any, pipeline: str) -> str:
    if pipeline.startswith("arn:"):
        return pipeline
    machines = _state_machines(client)
    for machine in machines:
        if machine["name"] == pipeline:
            return str(machine["stateMachineArn"])
    known = ", ".join(sorted(m["name"] for m in machines)) or "none"
    raise CliError(f"no pipeline named '{pipeline}' (state machines here: {known})")


def _parse_input(raw: str | None) -> str:
    if raw is None:
        return "{}"
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            text = path.read_text()
        except OSError as exc:
            raise CliError(f"cannot read input file {path}: {exc.strerror}", 2) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--input is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", 2) from None
    if not isinstance(value, dict):
        raise CliError('--input must be a JSON object, e.g. \'{"inputDataUri": "s3://bucket/raw/"}\'', 2)
    return json.dumps(value)


def _count_states(definition: dict[str, Any]) -> int:
    total = 0
    for state in definition.get("States", {}).values():
        total += 1
        for branch in state.get("Branches", []):
            total += _count_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                total += _count_states(state[key])
    return total


def _progress(client: Any, execution_arn: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The execution now: its description, the states it finished and runs, and its history.

    :param seen: the history an earlier call returned (``events``): only the events after it are read,
        newest first (``reverseOrder``), so following a long execution does not read it all again at
        every check (each page is a GetExecutionHistory request).
    """
    described = client.describe_execution(executionArn=execution_arn)
    known = seen or []
    last = known[-1]["id"] if known else 0
    new: list[dict[str, Any]] = []
    pages = client.get_paginator("get_execution_history").paginate(executionArn=execution_arn, reverseOrder=True)
    for page in pages:
        fresh = [e for e in page["events"] if e["id"] > last]
        new.extend(fresh)
        if len(fresh) < len(page["events"]):
            break
    events = known + new[::-1]
    done = [e["stateExitedEventDetails"]["name"] for e in events if "stateExitedEventDetails" in e]
    return {"described": described, "done": done, "current": _running(events) or None, "events": events}


def _running(events: list[dict[str, Any]]) -> str:
    """The states running now, in the order they started: with parallel branches, one per branch
    (a Parallel or Map state itself is not listed; its branches' states are)."""
    running: dict[str, int] = {}
    for e in events:
        if e["type"].startswith(("Parallel", "Map")):
            continue
        if "stateEnteredEventDetails" in e:
            name = e["stateEnteredEventDetails"]["name"]
            running[name] = running.get(name, 0) + 1
        elif "stateExitedEventDetails" in e:
            name = e["stateExitedEventDetails"]["name"]
            running[name] = running.get(name, 0) - 1
    return ", ".join(name for name, count in running.items() if count > 0)


def _failure_cause(progress: dict[str, Any]) -> str:
    described = progress["described"]
    error, cause = described.get("error"), described.get("cause")
    if not error:
        for event in reversed(progress["events"]):
            for key in ("executionFailedEventDetails", "taskFailedEventDetails", "executionTimedOutEventDetails"):
                if key in event:
                    error = event[key].get("error")
                    cause = event[key].get("cause")
                    break
            if error:
                break
    return f"{error or described['status']}: {_short_cause(cause) or 'no cause reported'}"


#: describe-response field with the job name → CloudWatch Logs group SageMaker writes the job's log to
#: ("Log group and stream names", Amazon SageMaker Developer Guide, *Log Amazon SageMaker Events with CloudWatch*)
JOB_LOG_GROUPS = {
    "ProcessingJobName": "/aws/sagemaker/ProcessingJobs",
    "TrainingJobName": "/aws/sagemaker/TrainingJobs",
    "TransformJobName": "/aws/sagemaker/TransformJobs",
}
LOG_LINES = 10


def _as_json(cause: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(cause or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _short_cause(cause: str | None) -> str | None:
    """A job's describe response as its FailureReason; any other cause as it is."""
    described = _as_json(cause)
    if described and "FailureReason" in described:
        return str(described["FailureReason"])
    return cause


def _failed_task(events: list[dict[str, Any]]) -> tuple[str | None, dict[str, Any] | None]:
    """The state whose task failed last, and the failure's details."""
    failed = [e for e in events if "taskFailedEventDetails" in e]
    if not failed:
        return None, None
    last = failed[-1]
    by_id = {e["id"]: e for e in events}
    event: dict[str, Any] | None = last
    while event is not None and "stateEnteredEventDetails" not in event:  # back to the state it ran in
        event = by_id.get(event.get("previousEventId", -1))
    state = event["stateEnteredEventDetails"]["name"] if event else None
    return state, last["taskFailedEventDetails"]


def _job_log(job_field: str, job_name: str, lines: int = LOG_LINES) -> list[str]:
    """The last ``lines`` of the job's own streams (``<job name>/<host>-<epoch>``, "Log group and stream
    names" above): each stream's newest events (``GetLogEvents``, ``startFromHead=false``), merged
    by time. Never another job's lines, even when many jobs log to the group at once."""
    group = JOB_LOG_GROUPS[job_field]
    try:
        logs = boto3.client("logs", config=Config(connect_timeout=5, read_timeout=30))
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job_name}/")["logStreams"]
        events = [
            event
            for stream in streams
            for event in logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=False, limit=lines
            )["events"]
        ]
    except (ClientError, BotoCoreError):
        return []
    events.sort(key=lambda e: e["timestamp"])  # stable: a stream's lines keep their order
    return [e["message"].rstrip("\n") for e in events][-lines:]


def failure_report(progress: dict[str, Any]) -> list[str]:
    """The failed state, the error, the job's FailureReason and its last log lines, one per line."""
    described = progress["described"]
    state, task = _failed_task(progress["events"])
    lines = [f"{described['status'].lower()}: {_failure_cause(progress)}"]
    if state:
        lines.append(f"  failed state: {state}")
    if task:
        lines.append(f"  error: {task.get('error')}")
    job = _as_json((task or {}).get("cause")) or _as_json(described.get("cause")) or {}
    for field in JOB_LOG_GROUPS:
        if field in job:
            lines.append(f"  job: {job[field]}")
            if job.get("FailureReason"):
                lines.append(f"  FailureReason: {job['FailureReason']}")
            log = _job_log(field, str(job[field]))
            if log:
                lines.append(f"  last lines of the job log ({JOB_LOG_GROUPS[field]}):")
                lines.extend(f"    {line}" for line in log)
            break
    else:
        cause = (task or {}).get("cause") or described.get("cause")
        if cause:
            lines.append(f"  cause: {cause}")
    return lines


def _resume_steps(definition: dict[str, Any]) -> list[str]:
    """The steps a pipeline can start at, in order (the choices of its ``Resume`` state)."""
    choices = definition.get("States", {}).get("Resume", {}).get("Choices", [])
    steps = []
    for choice in choices:
        for rule in choice.get("And", [choice]):
            if "StringEquals" in rule:
                steps.append(str(rule["StringEquals"]))
    return steps


def _history(client: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def _step_results(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest ``steps`` (results by step) the execution's state data held."""
    found: dict[str, Any] = {}
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        try:
            data = json.loads(details.get("output") or "null")
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("steps"), dict):
            found.update(data["steps"])
    return found


def resume_input(client: Any, state_machine_arn: str, step: str, execution_arn: str, extra: str) -> str:
    """Execution input that starts at ``step`` with the earlier steps' results of ``execution_arn``."""
    definition = json.loads(client.describe_state_machine(stateMachineArn=state_machine_arn)["definition"])
    steps = _resume_steps(definition)
    if step not in steps:
        known = ", ".join(steps) or "none (the pipeline has no Resume state)"
        raise CliError(f"--from {step}: not a step this pipeline can start at (steps: {known})", 2)
    earlier = client.describe_execution(executionArn=execution_arn)
    if earlier["stateMachineArn"] != state_machine_arn:
        raise CliError(
            f"--reuse {execution_arn}: an execution of another state machine ({earlier['stateMachineArn']})", 2
        )
    results = _step_results(_history(client, execution_arn))
    before = steps[: steps.index(step)]
    missing = [s for s in before if s not in results]
    if missing:
        raise CliError(f"--reuse {execution_arn}: no result for {', '.join(missing)} in its history; start earlier", 1)
    payload = {**json.loads(earlier.get("input") or "{}"), **json.loads(extra)}
    payload["resume"] = {"from": step, "steps": {s: results[s] for s in before}, "execution": execution_arn}
    return json.dumps(payload)


def cost_lines(sagemaker: Any, events: list[dict[str, Any]]) -> list[str]:
    """What each job an execution ran cost (:func:`sm_constructs.cost.actual_cost`), then the total; a
    step that reused an earlier job (cache hit, ``--reuse``) ran none and costs nothing in this run."""
    region = sagemaker.meta.region_name
    entered = {e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e}
    lines, total = [], 0.0
    for step, result in _step_results(events).items():
        if not isinstance(result, dict) or not any(k.endswith("JobName") for k in result):
            continue
        if step not in entered:
            lines.append(f"{step}: $0.00 (reused an earlier job)")
            continue
        cost = actual_cost(sagemaker, step, result, region=region)
        if cost is not None:
            lines.append(cost.line())
            total += cost.usd
    if lines:
        lines.append(f"total: {dollars(total)} ({PriceTable.load().describe()})")
    return lines


def watch(
    client: Any,
    execution_arn: str,
    *,
    interval: float = 5.0,
    out: Callable[[str], None] = print,
    raw: bool = False,
) -> int:
    """Follow an execution to its end; 0 when it succeeded.

    It ends with a summary (steps with status and time, jobs, cache hits, metrics, the quality gate's
    verdict, outputs); with ``raw`` a success ends with the execution's output as one JSON line instead.
    """
    start = time.monotonic()
    described = client.describe_execution(executionArn=execution_arn)
    definition = json.loads(client.describe_state_machine(stateMachineArn=described["stateMachineArn"])["definition"])
    total = _count_states(definition)
    last = None
    shown: set[str] = set()
    events: list[dict[str, Any]] = []
    while True:
        progress = _progress(client, execution_arn, events)
        events = progress["events"]
        status = progress["described"]["status"]
        state = (status, len(set(progress["done"])), progress["current"])
        if state != last:
            out(
                f"[{time.monotonic() - start:6.0f}s] {status:9s} states done {state[1]}/{total}"
                + (f"  current: {state[2]}" if state[2] else "")
            )
            last = state
        for hit in cache_hits(progress["events"]):
            if hit not in shown:
                shown.add(hit)
                out(f"[{time.monotonic() - start:6.0f}s] {hit}")
        if status in TERMINAL:
            break
        time.sleep(interval)
    took = time.monotonic() - start
    if status == "SUCCEEDED" and raw:
        out(f"succeeded in {took:.0f}s; output: {progress['described'].get('output', '{}')}")
        for line in cost_lines(_sagemaker(), progress["events"]):
            out(f"cost: {line}")
        return 0
    if status == "SUCCEEDED":
        out(f"succeeded in {took:.0f}s: {execution_arn}")
    for line in summary(definition, progress["described"], progress["events"]):
        out(line)
    if status == "SUCCEEDED":
        costs = cost_lines(_sagemaker(), progress["events"])
        if costs:
            out("cost:")
            for line in costs:
                out(f"  {line}")
        out(f"raw output: sm-pipeline watch {execution_arn} --json")
        return 0
    for line in failure_report(progress):
        out(line)
    return 1


def _cmd_list(client: Any, args: argparse.Namespace) -> int:
    for machine in _state_machines(client):
        print(f"{machine['name']}\t{machine['stateMachineArn']}")
    return 0


def _cmd_run(client: Any, args: argparse.Namespace) -> int:
    payload = _parse_input(args.input)
    arn = _resolve(client, args.pipeline)
    if (args.from_step is None) != (args.reuse is None):
        raise CliError("--from and --reuse go together: --from <step> --reuse <execution ARN>", 2)
    if args.from_step is not None:
        payload = resume_input(client, arn, args.from_step, args.reuse, payload)
    # A generated name (as AWS would choose) also for emulators that do not generate one.
    kwargs = {"stateMachineArn": arn, "input": payload, "name": args.name or str(uuid.uuid4())}
    execution = client.start_execution(**kwargs)["executionArn"]
    print(f"started {execution}")
    return watch(client, execution, interval=args.interval, raw=args.json) if args.watch else 0


def _cmd_watch(client: Any, args: argparse.Namespace) -> int:
    return watch(client, args.execution, interval=args.interval, raw=args.json)


def _cmd_cost(client: Any, args: argparse.Namespace) -> int:
    arn = _resolve(client, args.pipeline)
    definition = json.loads(client.describe_state_machine(stateMachineArn=arn)["definition"])
    costs = worst_case(job_states(definition), input_defaults(definition), region=client.meta.region_name)
    for cost in costs:
        print(cost.line())
    print(f"worst case per run: {dollars(sum(c.usd for c in costs))} ({PriceTable.load().describe()})")
    return 0


def _cmd_lineage(client: Any, args: argparse.Namespace) -> int:
    sm = _sagemaker()
    starts = start_actions(sm, args.target)
    outcome = run_outcome(sm, args.target) if ":execution:" in args.target else None
    if not starts and outcome is None:
        raise CliError(f"no lineage recorded for {args.target} (runs record it when they end; see docs/provenance.md)")
    if outcome is not None:  # a run that ended before any step ran (an invalid input) has no actions
        print(f"run: {outcome}")
    for line in chain_lines(read_lineage(sm, starts)) if starts else []:
        print(line)
    return 0


# ---- Model Registry ----------------------------------------------------------------------------
def _sagemaker() -> Any:
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("sagemaker", config=config)


def _versions(sm: Any, group: str) -> list[dict[str, Any]]:
    """The group's versions, oldest first."""
    try:
        sm.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            raise CliError(f"no model package group named '{group}'") from None
        raise
    versions: list[dict[str, Any]] = []
    for page in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        versions.extend(page["ModelPackageSummaryList"])
    return sorted(versions, key=lambda v: v.get("ModelPackageVersion", 0))


def _metrics(sm: Any, arn: str) -> str:
    """The version's model-quality report: its ``metrics`` object when readable, else where it is."""
    described = sm.describe_model_package(ModelPackageName=arn)
    uri = described.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    if not uri:
        return "-"
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        metrics = json.loads(body).get("metrics", {})
        return ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()) or uri
    except (ClientError, BotoCoreError, ValueError, AttributeError):
        return uri


def _cmd_models(client: Any, args: argparse.Namespace) -> int:
    sm = _sagemaker()
    versions = _versions(sm, args.group)
    if not versions:
        print(f"{args.group}: no versions registered")
        return 0
    print("version\tstatus\tcreated\tmetrics")
    for v in versions:
        created: Any = v.get("CreationTime")
        created_text = created.isoformat(timespec="seconds") if hasattr(created, "isoformat") else str(created)
        status = v.get("ModelApprovalStatus", "-")
        print(f"{v.get('ModelPackageVersion')}\t{status}\t{created_text}\t{_metrics(sm, v['ModelPackageArn'])}")
    return 0


def _cmd_approve(client: Any, args: argparse.Namespace) -> int:
    sm = _sagemaker()
    versions = _versions(sm, args.group)
    if args.version is not None:
        chosen = [v for v in versions if v.get("ModelPackageVersion") == args.version]
        if not chosen:
            known = ", ".join(str(v.get("ModelPackageVersion")) for v in versions) or "none"
            raise CliError(f"{args.group} has no version {args.version} (versions: {known})")
    else:
        chosen = [v for v in versions if v.get("ModelApprovalStatus") == "PendingManualApproval"][-1:]
        if not chosen:
            raise CliError(f"{args.group} has no version pending approval; name one with --version")
    version = chosen[0]
    status = "Rejected" if args.reject else "Approved"
    request = {"ModelPackageArn": version["ModelPackageArn"], "ModelApprovalStatus": status}
    if args.description:
        request["ApprovalDescription"] = args.description
    approved_at = time.time()
    sm.update_model_package(**request)
    print(f"{args.group} version {version.get('ModelPackageVersion')}: {status} ({version['ModelPackageArn']})")
    if args.reject:
        return 0
    machines = release_state_machines(args.group)
    if not machines:
        print(f"no EventBridge rule starts a state machine when a version of {args.group} is approved")
        return 1 if args.follow else 0
    release = find_release(client, machines, version["ModelPackageArn"], since=approved_at, wait=args.wait)
    if release is None:
        print(f"no release execution for this version started within {args.wait:.0f}s on {', '.join(machines)}")
        return 1 if args.follow else 0
    print(f"release started: {release}")
    return watch(client, release, interval=args.interval) if args.follow else 0


# ---- The release an approval starts ------------------------------------------------------------
def _matches(values: Any, value: str) -> bool:
    """An event pattern field (absent, or a list of exact values) matches ``value``."""
    return values is None or (isinstance(values, list) and value in values)


def release_state_machines(group: str) -> list[str]:
    """State machines that an EventBridge rule (default bus) starts on the approval of a version of
    ``group``: rules whose pattern matches the Model Registry's "SageMaker Model Package State
    Change" event for the group with status ``Approved`` (``ModelDeployment``'s rule is one)."""
    events = boto3.client("events", config=Config(connect_timeout=5, read_timeout=30))
    machines: list[str] = []
    for page in events.get_paginator("list_rules").paginate():
        for rule in page["Rules"]:
            try:
                pattern = json.loads(rule.get("EventPattern") or "{}")
            except ValueError:
                continue
            detail = pattern.get("detail") or {}
            if not (
                _matches(pattern.get("source"), APPROVAL_EVENT["source"])
                and _matches(pattern.get("detail-type"), APPROVAL_EVENT["detail_type"])
                and _matches(detail.get("ModelPackageGroupName"), group)
                and _matches(detail.get("ModelApprovalStatus"), APPROVAL_EVENT["approved"])
            ):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                if ":states:" in target["Arn"] and ":stateMachine:" in target["Arn"]:
                    machines.append(target["Arn"])
    return machines


def find_release(
    client: Any, machines: list[str], package_arn: str, *, since: float, wait: float, poll: float = 1.0
) -> str | None:
    """The execution one of ``machines`` started for the approval of ``package_arn`` (its input is the
    approval event, ``detail.ModelPackageArn``), waiting up to ``wait`` seconds for EventBridge to deliver it."""
    deadline = time.monotonic() + wait
    while True:
        for machine in machines:
            for execution in client.list_executions(stateMachineArn=machine, maxResults=20)["executions"]:
                started = execution["startDate"]
                if hasattr(started, "timestamp") and started.timestamp() < since - CLOCK_SKEW_SECONDS:
                    continue
                described = client.describe_execution(executionArn=execution["executionArn"])
                try:
                    detail = json.loads(described.get("input") or "{}").get("detail") or {}
                except (ValueError, AttributeError):
                    continue
                if detail.get("ModelPackageArn") == package_arn:
                    return str(execution["executionArn"])
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def _read_body(raw: str) -> bytes:
    if not raw.startswith("@"):
        return raw.encode()
    try:
        return Path(raw[1:]).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read body file {raw[1:]}: {exc.strerror}", 2) from None


def _cmd_invoke(client: Any, args: argparse.Namespace) -> int:
    runtime = boto3.client("sagemaker-runtime", config=Config(connect_timeout=5, read_timeout=60))
    response = runtime.invoke_endpoint(
        EndpointName=args.endpoint, Body=_read_body(args.body), ContentType=args.content_type, Accept=args.accept
    )
    sys.stdout.write(response["Body"].read().decode("utf-8", "replace"))
    sys.stdout.flush()
    return 0


_Argument = tuple[tuple[str, ...], dict[str, Any]]


def _arg(*flags: str, **options: Any) -> _Argument:
    """One argument of a sub-command: ``add_argument``'s flags and options."""
    return flags, options


@dataclass(frozen=True)
class _Command:
    """One sub-command: its name, help line, handler and arguments; one that ``follows`` an execution
    also takes :func:`~sm_constructs._run_summary.add_follow_arguments` (``--interval``, ``--json``)."""

    name: str
    help: str
    handler: Callable[[Any, argparse.Namespace], int]
    arguments: tuple[_Argument, ...] = ()
    follows: bool = False


_PIPELINE = _arg("pipeline", help="state machine name or ARN")
_GROUP = _arg("group", help="model package group name")

_COMMANDS = (
    _Command("list", "list the state machines", _cmd_list),
    _Command(
        "run",
        "start an execution",
        _cmd_run,
        (
            _PIPELINE,
            _arg("--input", help="execution input: JSON object, or @file.json"),
            _arg("--name", help="execution name (default: generated)"),
            _arg("--watch", action="store_true", help="follow the execution to its end"),
            _arg("--from", dest="from_step", metavar="STEP", help="start at this step (with --reuse)"),
            _arg("--reuse", metavar="EXECUTION_ARN", help="take the earlier steps' results from this execution"),
        ),
        follows=True,
    ),
    _Command("watch", "follow an execution", _cmd_watch, (_arg("execution", help="execution ARN"),), follows=True),
    _Command("cost", "print a run's worst-case cost per job step", _cmd_cost, (_PIPELINE,)),
    _Command(
        "lineage",
        "print the chain data → jobs → model version → endpoint",
        _cmd_lineage,
        (_arg("target", help="execution ARN, model package version ARN or endpoint name"),),
    ),
    _Command("models", "list a model package group's versions with status and metrics", _cmd_models, (_GROUP,)),
    _Command(
        "approve",
        "approve (or reject) a model version",
        _cmd_approve,
        (
            _GROUP,
            _arg("--version", type=int, help="version number (default: the newest pending approval)"),
            _arg("--reject", action="store_true", help="reject instead of approving"),
            _arg("--description", help="why (stored as the approval description)"),
            _arg("--follow", action="store_true", help="follow the release execution the approval starts"),
            _arg("--wait", type=float, default=60.0, help="seconds to wait for the release to start"),
            _arg("--interval", type=float, default=5.0, help="seconds between progress checks (--follow)"),
        ),
    ),
    _Command(
        "invoke",
        "send a request to an endpoint, print the response",
        _cmd_invoke,
        (
            _arg("endpoint", help="endpoint name"),
            _arg("--body", required=True, help="request body, or @file (e.g. @rows.csv)"),
            _arg("--content-type", default="text/csv"),
            _arg("--accept", default="text/csv"),
        ),
    ),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sm-pipeline", description="Start and follow SageMaker pipeline executions.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS:
        sub_parser = sub.add_parser(command.name, help=command.help)
        for flags, options in command.arguments:
            sub_parser.add_argument(*flags, **options)
        if command.follows:
            add_follow_arguments(sub_parser, interval=5.0)
        sub_parser.set_defaults(func=command.handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "AWS")
    try:
        return int(args.func(_client(), args))
    except CliError as exc:
        print(f"sm-pipeline: {exc}", file=sys.stderr)
        return exc.code
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"sm-pipeline: {error.get('Code', 'error')}: {error.get('Message', exc)}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"sm-pipeline: cannot reach Step Functions ({endpoint}): {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sm-pipeline: interrupted (the execution keeps running)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
