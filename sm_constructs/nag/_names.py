"""Evaluating run-time name expressions the way Step Functions does, with moto's ASL interpreter.

A SageMaker name must be new for every attempt of a task (a retried create would otherwise fail
with "already exists") and valid for every execution name (1 to 80 characters, Step Functions
``StartExecution``), within SageMaker's own limit (63 characters for most jobs). Each expression
is run in a one-state machine by moto (an interpreter independent of this project) for the
shortest and the longest execution name, twice per execution as two attempts would be
(``$$.State.RetryCount`` is 0, then 1). moto is needed for this check only; without it, or when
the expression reads execution input, the name cannot be verified and the rule says so.

Loading moto's interpreter costs a synth about 2.5 s of CPU (moto imports its EC2 and Batch models
with it), so what moto made of each expression (its names, or why it could not evaluate it) is kept
on disk, one JSON file per moto version, and a later synth that finds all its expressions there does
not load moto at all. The folder is ``$SM_CONSTRUCTS_CACHE_DIR``, by default
:func:`~sm_constructs._user_cache.cache_root` (``$XDG_CACHE_HOME/sm-constructs``, else
``~/.cache/sm-constructs``); ``off`` keeps nothing. An execution moto did not finish in time (a busy
machine) is not kept: the next synth runs it again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .._user_cache import cache_root

__all__ = ["EXECUTION_NAMES", "NameEvaluation", "evaluate_name", "evaluate_names"]

#: Shortest and longest execution names Step Functions accepts (StartExecution ``name``: 1-80 chars).
EXECUTION_NAMES = ("x", ("run-" * 20)[:79] + "x")
_RETRY_COUNT = "$$.State.RetryCount"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class NameEvaluation:
    """Names an expression produced: ``attempts[execution name] = (first attempt, second attempt)``."""

    attempts: dict[str, tuple[str, str]]
    #: Why the expression could not be evaluated ("" when it was).
    error: str = ""

    def problems(self, max_len: int, pattern: object) -> list[str]:
        """Length, pattern and uniqueness problems of the produced names."""
        found: list[str] = []
        seen: set[str] = set()
        for execution, (first, second) in self.attempts.items():
            for name in (first, second):
                if not isinstance(name, str):
                    found.append(f"yields {name!r}, not a string")
                    continue
                if len(name) > max_len:
                    found.append(f"yields {len(name)} chars for a {len(execution)}-char execution name (max {max_len})")
                elif not pattern.fullmatch(name):  # type: ignore[attr-defined]
                    found.append(f"yields {name!r}, which does not match SageMaker's pattern")
            if first == second:
                found.append(f"yields the same name {first!r} on a retry")
            if first in seen:
                found.append(f"yields {first!r} again for another execution")
            seen.update((first, second))
        return sorted(set(found))


_CACHE: dict[str, NameEvaluation] = {}
#: Bumped when what is evaluated, or how, changes: kept results of an older way are not read.
_KEPT_FORMAT = 2
#: ``_wait``'s status for an execution moto did not finish: depends on the machine's load, so never kept.
_UNFINISHED = "TIMED_OUT (moto)"
_kept_loaded = False


def kept_results_file() -> Path | None:
    """Where evaluations by the installed moto are kept; None when keeping is off or moto is not installed."""
    folder = os.environ.get("SM_CONSTRUCTS_CACHE_DIR")
    if folder == "off":
        return None
    try:
        version = metadata.version("moto")
    except metadata.PackageNotFoundError:
        return None
    key = hashlib.sha256(json.dumps([_KEPT_FORMAT, version, EXECUTION_NAMES]).encode()).hexdigest()[:16]
    return Path(folder or cache_root()) / f"job-names-moto-{version}-{key}.json"


def _load_kept() -> None:
    """Once per process: the kept evaluations join the in-process cache. A file that is unreadable or not
    of the expected shape (every expression evaluated for exactly the execution names, two names each)
    counts as none."""
    global _kept_loaded
    _kept_loaded = True
    path = kept_results_file()
    try:
        kept = json.loads(path.read_text()) if path is not None and path.is_file() else {}
    except (OSError, ValueError):
        return
    if not isinstance(kept, dict):
        return
    found: dict[str, NameEvaluation] = {}
    for expression, result in kept.items():
        attempts, error = (result.get("attempts"), result.get("error")) if isinstance(result, dict) else (None, None)
        if isinstance(error, str) and error and attempts == {}:
            found[expression] = NameEvaluation({}, error)
        elif (
            isinstance(attempts, dict)
            and error == ""
            and sorted(attempts) == sorted(EXECUTION_NAMES)
            and all(
                isinstance(a, list) and len(a) == 2 and all(isinstance(n, str) for n in a) for a in attempts.values()
            )
        ):
            found[expression] = NameEvaluation({e: (a[0], a[1]) for e, a in attempts.items()})
        else:
            return
    for expression, evaluation in found.items():
        _CACHE.setdefault(expression, evaluation)


def _keep(results: dict[str, NameEvaluation]) -> None:
    """Add finished evaluations to the kept file (written whole, then renamed: a reader never sees half)."""
    path = kept_results_file()
    finished = {
        e: {"attempts": {x: list(a) for x, a in r.attempts.items()}, "error": r.error}
        for e, r in results.items()
        if _UNFINISHED not in r.error
    }
    if path is None or not finished:
        return
    try:
        kept = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        kept = {}
    kept = {**(kept if isinstance(kept, dict) else {}), **finished}
    written = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".job-names-", delete=False) as out:
            written = out.name
            json.dump(kept, out, sort_keys=True)
        os.replace(written, path)
    except OSError:  # a read-only or full disk: the results are only not kept
        if written is not None:
            with contextlib.suppress(OSError):
                os.unlink(written)


def evaluate_name(expression: str) -> NameEvaluation:
    """Run ``expression`` (a JSONPath intrinsic or path) in moto's Step Functions interpreter."""
    return evaluate_names((expression,))[expression]


def evaluate_names(expressions: tuple[str, ...]) -> dict[str, NameEvaluation]:
    """Evaluate several expressions in one state machine; one by one when one of them fails."""
    if not _kept_loaded:
        _load_kept()
    todo = tuple(dict.fromkeys(e for e in expressions if e not in _CACHE))
    new: dict[str, NameEvaluation] = {}
    if len(todo) > 1:
        batch = _run(todo)
        if batch is None:
            for expression in todo:
                new.update(_run((expression,)) or {})
        else:
            new.update(batch)
    elif todo:  # a single expression always gets a result
        new.update(_run(todo) or {})
    if new:
        _CACHE.update(new)
        _keep(new)
    return {e: _CACHE[e] for e in expressions}


def _run(expressions: tuple[str, ...]) -> dict[str, NameEvaluation] | None:
    """Results per expression; ``None`` when a batch of several fails (the caller retries one by one)."""
    try:
        from botocore.config import Config
        from moto import mock_aws
    except ImportError:  # pragma: no cover - moto is a dependency of the nag extra
        return {e: NameEvaluation({}, "moto is not installed (pip install 'sm-constructs[nag]')") for e in expressions}
    parameters = {}
    for i, expression in enumerate(expressions):
        parameters[f"n{i}first.$"] = expression.replace(_RETRY_COUNT, "$.attempt0")
        parameters[f"n{i}second.$"] = expression.replace(_RETRY_COUNT, "$.attempt1")
    asl = {"StartAt": "Name", "States": {"Name": {"Type": "Pass", "Parameters": parameters, "End": True}}}
    attempts: dict[str, dict[str, tuple[str, str]]] = {e: {} for e in expressions}
    # moto logs the interpreter's stack for an expression it cannot evaluate; the finding reports it instead.
    quiet = logging.getLogger("moto.stepfunctions.parser")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    with _LOCK, mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        try:
            # In-process moto only: never an endpoint from the environment (AWS_ENDPOINT_URL of an emulator).
            config = Config(ignore_configured_endpoint_urls=True)
            client = _session().client("stepfunctions", config=config)
            arn = client.create_state_machine(
                name="names", definition=json.dumps(asl), roleArn="arn:aws:iam::123456789012:role/names"
            )["stateMachineArn"]
            for execution in EXECUTION_NAMES:
                started = client.start_execution(
                    stateMachineArn=arn, name=execution, input='{"attempt0": 0, "attempt1": 1}'
                )
                described = _wait(client, started["executionArn"])
                if described["status"] != "SUCCEEDED":
                    if len(expressions) > 1:
                        return None
                    reason = f"{described.get('error', '')} {described.get('cause', '')}".strip()
                    return {expressions[0]: NameEvaluation({}, f"evaluation ended {described['status']}: {reason}")}
                output = json.loads(described["output"])
                for i, expression in enumerate(expressions):
                    attempts[expression][execution] = (output[f"n{i}first"], output[f"n{i}second"])
        except Exception as error:  # moto rejects the expression: it cannot be verified here
            if len(expressions) > 1:
                return None
            return {expressions[0]: NameEvaluation({}, f"moto could not evaluate it: {error}")}
        finally:
            quiet.setLevel(level)
    return {e: NameEvaluation(attempts[e]) for e in expressions}


@functools.cache
def _session() -> Any:
    """One boto3 session for every evaluation of the process, made under moto's mock (after moto put its
    stubber among botocore's handlers, so the session's clients reach moto) and so holding moto's fake
    credentials. A new session per evaluation (``boto3.client``: moto resets boto3's default session) reads
    botocore's endpoint rules and Step Functions model again, about 0.1 s of CPU each time."""
    import boto3

    return boto3.Session(region_name="us-east-1")


def _wait(client: object, execution_arn: str) -> dict:
    for _ in range(500):
        described = client.describe_execution(executionArn=execution_arn)  # type: ignore[attr-defined]
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    return {"status": _UNFINISHED}
