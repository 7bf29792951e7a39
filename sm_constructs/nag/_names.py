"""Evaluating run-time name expressions the way Step Functions does, with moto's ASL interpreter.

A SageMaker name must be new for every attempt of a task (a retried create would otherwise fail
with "already exists") and valid for every execution name (1 to 80 characters, Step Functions
``StartExecution``), within SageMaker's own limit (63 characters for most jobs). Each expression
is run in a one-state machine by moto (an interpreter independent of this project) for the
shortest and the longest execution name, twice per execution as two attempts would be
(``$$.State.RetryCount`` is 0, then 1). moto is needed for this check only; without it, or when
the expression reads execution input, the name cannot be verified and the rule says so.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

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


def evaluate_name(expression: str) -> NameEvaluation:
    """Run ``expression`` (a JSONPath intrinsic or path) in moto's Step Functions interpreter."""
    return evaluate_names((expression,))[expression]


def evaluate_names(expressions: tuple[str, ...]) -> dict[str, NameEvaluation]:
    """Evaluate several expressions in one state machine; one by one when one of them fails."""
    todo = tuple(dict.fromkeys(e for e in expressions if e not in _CACHE))
    if len(todo) > 1:
        batch = _run(todo)
        if batch is None:
            for expression in todo:
                _CACHE.update(_run((expression,)) or {})
        else:
            _CACHE.update(batch)
    elif todo:  # a single expression always gets a result
        _CACHE.update(_run(todo) or {})
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
    return {"status": "TIMED_OUT (moto)"}
