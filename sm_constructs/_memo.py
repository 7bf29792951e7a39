"""Per-stack memo for values that cost jsii round trips to build: ARNs, tokens, shared statements.

A pipeline asks for the same ARN pattern, partition token or IAM statement once per job; building
each once per stack keeps synth time proportional to what is distinct, not to what is repeated.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

T = TypeVar("T")
_STACK_OF: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_BY_STACK: weakref.WeakKeyDictionary[Stack, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


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
    return stack_memo(
        scope,
        key,
        lambda _: iam.PolicyStatement(
            actions=list(actions), resources=list(resources), conditions=dict(conditions) if conditions else None
        ).freeze(),
    )
