"""Per-stack memo for values that cost jsii round trips to build: ARNs, tokens, shared statements.

A pipeline asks for the same ARN pattern, partition token or IAM statement once per job; building
each once per stack keeps synth time proportional to what is distinct, not to what is repeated.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar, cast

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

T = TypeVar("T")
_STACK_OF: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_BY_STACK: weakref.WeakKeyDictionary[Stack, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
_SECONDS: weakref.WeakKeyDictionary[Any, float | None] = weakref.WeakKeyDictionary()
_IDS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()
_ATTRIBUTES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_STATEMENT_JSON: weakref.WeakKeyDictionary[iam.PolicyStatement, dict[str, Any]] = weakref.WeakKeyDictionary()


def stack_memo(scope: IConstruct, key: Hashable, make: Callable[[Stack], T]) -> T:
    """``make(stack)`` once per stack of ``scope`` and ``key``."""
    stack = _STACK_OF.get(scope)
    if stack is None:
        stack = _STACK_OF[scope] = Stack.of(scope)
    memo = _BY_STACK.setdefault(stack, {})
    if key not in memo:
        memo[key] = make(stack)
    return memo[key]


@cache
def aws(name: str) -> str:
    """A pseudo parameter token (``PARTITION``, ``REGION``, ``URL_SUFFIX``, ...), fetched once."""
    return str(getattr(Aws, name))


def attribute(resource: Any, name: str) -> Any:
    """``getattr(resource, name)`` for an attribute that never changes (``key_arn``, ``role_arn``: a
    token fixed when the resource is made), asked of jsii once per resource: requests are rendered
    several times (checked, then sent), each time with the same references."""
    known = _ATTRIBUTES.setdefault(resource, {})
    if name not in known:
        known[name] = getattr(resource, name)
    return known[name]


def node_id(construct: IConstruct) -> str:
    """``construct.node.id``, asked of jsii once per construct (an id never changes)."""
    if construct not in _IDS:
        _IDS[construct] = construct.node.id
    return _IDS[construct]


def seconds(duration: Any) -> float | None:
    """``duration.to_seconds()``, or None while it is unresolved: asked of jsii once per Duration object
    (a Duration never changes). Raises as ``to_seconds`` does for a fraction of a second."""
    if duration not in _SECONDS:
        _SECONDS[duration] = None if duration.is_unresolved() else duration.to_seconds()
    return _SECONDS[duration]


@cache
def duration(unit: str, amount: int) -> Duration:
    """``Duration.<unit>(amount)``: Durations are immutable, so one object per value serves every use."""
    return cast(Duration, getattr(Duration, unit)(amount))


@cache
def json_path(function: str, *args: str | int) -> str:
    """``sfn.JsonPath.<function>(*args)`` (``string_at``, ``format``, ``uuid`` ...), made once per arguments.

    A JSONPath token is a value: it renders as the same path or intrinsic function wherever it is
    used (and every run evaluates ``States.UUID()`` anew), so one token serves every state and app
    that asks for the same one.
    """
    return str(getattr(sfn.JsonPath, function)(*args))


def statement(
    scope: IConstruct,
    *,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: Mapping[str, Any] | None = None,
) -> iam.PolicyStatement:
    """One shared ``PolicyStatement`` per stack for identical (actions, resources, conditions).

    Every statement that several tasks or roles share comes from here, and it is frozen
    (``PolicyStatement.freeze()``): changing it would change every holder, so aws-cdk refuses.
    Build a new statement to vary one.
    """
    key = ("statement", tuple(actions), tuple(resources), json.dumps(conditions, sort_keys=True))

    def make(_: Stack) -> iam.PolicyStatement:
        made = iam.PolicyStatement(
            actions=list(actions), resources=list(resources), conditions=dict(conditions) if conditions else None
        ).freeze()
        _STATEMENT_JSON[made] = _statement_json(actions, resources, conditions)
        return made

    return stack_memo(scope, key, make)


def statement_json(policy_statement: iam.PolicyStatement) -> dict[str, Any]:
    """``policy_statement.to_statement_json()``, without asking jsii for a statement made by :func:`statement`."""
    known = _STATEMENT_JSON.get(policy_statement)
    return dict(known) if known is not None else policy_statement.to_statement_json()


def _statement_json(
    actions: Sequence[str], resources: Sequence[str], conditions: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What aws-cdk-lib's ``PolicyStatement.toStatementJson()`` returns for an Allow statement of these
    actions, resources and conditions (``aws-iam/lib/private/postprocess-policy-document.ts``,
    ``normalizeStatement``: actions and resources each without repeats, one value unwrapped from its
    list, empty elements left out). ``tests/test_job_base.py`` compares the two."""

    def norm(values: Sequence[str]) -> str | list[str]:
        unique = list(dict.fromkeys(values))
        return unique[0] if len(unique) == 1 else unique

    out: dict[str, Any] = {"Effect": "Allow"}
    if actions:
        out["Action"] = norm(actions)
    if conditions:
        out["Condition"] = dict(conditions)
    if resources:
        out["Resource"] = norm(resources)
    return out
