"""JSONata states (``"QueryLanguage": "JSONata"``) in moto's Step Functions interpreter.

moto parses JSONata states and composes each expression with its ``$states`` bindings, but evaluates
it through a JVM bridge it does not ship (``moto.stepfunctions.parser.asl.jsonata.jsonata``: the
evaluator is ``None``). The emulator evaluates it with ``jsonata-python``, a pure-Python port of the
JSONata reference implementation (Step Functions runs JSONata 2.0.6: AWS Step Functions Developer
Guide, "Transforming data with JSONata in Step Functions").

Step Functions adds six functions to JSONata (same page, "JSONata functions provided by Step
Functions"), each the counterpart of an intrinsic function. moto declares them as JSONata text, two
of them as stubs that return a "not supported" string, so the emulator binds its own instead, with
the intrinsics' rules (AWS Step Functions Developer Guide, "Intrinsic functions"):

* ``$partition(array, size)``: ``States.ArrayPartition``, chunks of ``size``, the last one shorter;
* ``$range(start, end, step)``: ``States.ArrayRange``, ``end`` included;
* ``$hash(value, algorithm)``: ``States.Hash``, hex digest; MD5, SHA-1, SHA-256, SHA-384, SHA-512;
* ``$random([seed])``: a number in [0, 1); the same seed gives the same number (not AWS's number);
* ``$uuid()``: a version 4 UUID;
* ``$parse(text)``: the JSON value a string holds.

A wrong argument or a failed evaluation is ``States.QueryEvaluationError``, as on AWS; moto's
interpreter would end the execution with ``States.Runtime``, which no ``Catch`` sees.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from typing import Any, cast

__all__ = ["STEP_FUNCTIONS_FUNCTIONS", "JSONataError", "evaluate", "install"]

_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
#: ``States.ArrayRange`` "supports a maximum of 1000 elements" (AWS: "Intrinsic functions").
_MAX_RANGE = 1000


class JSONataError(Exception):
    """An expression Step Functions would fail with ``States.QueryEvaluationError``."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JSONataError(f"${name}: expected a number, got {json.dumps(value)}")
    return value


def _partition(array: Any, size: Any) -> list[Any]:
    if not isinstance(array, list):
        raise JSONataError(f"$partition: expected an array, got {json.dumps(array)}")
    chunk = _number("partition", size)
    if chunk != int(chunk) or chunk <= 0:
        raise JSONataError(f"$partition: the chunk size must be a positive integer, got {size}")
    return [array[i : i + int(chunk)] for i in range(0, len(array), int(chunk))]


def _range(start: Any, end: Any, step: Any) -> list[float]:
    first, last, by = (_number("range", v) for v in (start, end, step))
    if by == 0:
        raise JSONataError("$range: the step must not be 0")
    count = max(0, math.floor((last - first) / by) + 1)
    if count > _MAX_RANGE:
        raise JSONataError(f"$range: {count} elements; at most {_MAX_RANGE}")
    return [first + i * by for i in range(count)]


def _hash(value: Any, algorithm: Any) -> str:
    if algorithm not in _HASHES:
        raise JSONataError(f"$hash: algorithm {json.dumps(algorithm)} is not one of {', '.join(_HASHES)}")
    if not isinstance(value, str):
        raise JSONataError(f"$hash: expected a string, got {json.dumps(value)}")
    return hashlib.new(_HASHES[algorithm], value.encode("utf-8")).hexdigest()


def _random(seed: Any = None) -> float:
    if seed is None:
        return random.random()
    return random.Random(_number("random", seed)).random()


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise JSONataError(f"$parse: expected a string, got {json.dumps(text)}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise JSONataError(f"$parse: not JSON ({error})") from None


#: The functions Step Functions adds to JSONata, by name.
STEP_FUNCTIONS_FUNCTIONS = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "random": _random,
    "uuid": lambda: str(uuid.uuid4()),
    "parse": _parse,
}


def evaluate(expression: str) -> Any:
    """The value of a JSONata expression (``None`` for null and undefined, as moto's bridge returns them)."""
    from jsonata import Jsonata
    from jsonata.jexception import JException

    try:
        compiled = Jsonata(expression)
        for name, function in STEP_FUNCTIONS_FUNCTIONS.items():
            compiled.register_lambda(name, function)
        return compiled.evaluate(None)
    except JException as error:
        raise JSONataError(str(error)) from None


def install() -> None:
    from .. import patches

    intrinsic = "moto.stepfunctions.parser.asl.component.intrinsic.jsonata"
    patches.replace(
        "moto.stepfunctions.parser.asl.jsonata.jsonata",
        "_eval_jsonata",
        evaluate,
        why="JSONata expressions are evaluated (moto's evaluator needs a JVM bridge it does not ship)",
    )
    patches.replace(
        intrinsic,
        "_DECLARATION_BY_VARIABLE_REFERENCE",
        {},
        why="Step Functions' JSONata functions are the emulator's (moto's $hash and $uuid return 'not supported')",
    )

    @patches.wrap(
        "moto.stepfunctions.parser.asl.component.common.string.string_expression:StringJSONata",
        "_eval_body",
        why="a JSONata evaluation error is States.QueryEvaluationError, which a Catch sees, as on AWS",
    )
    def eval_body(original: Any, self: Any, env: Any) -> None:
        try:
            original(self, env)
        except JSONataError as error:
            raise _query_evaluation_error(env, self.expression, str(error)) from None

    patches.apply()


def _query_evaluation_error(env: Any, expression: str, message: str) -> Exception:
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(
        error=name.error_name, cause=f"The JSONata expression '{expression}' failed: {message}"
    )
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=cast(Any, EventDetails)(
                evaluationFailedEventDetails=details
            ),  # moto's TypedDict lists every kind
        )
    )
