"""What a rule can know about one field of a synthesized request or resource.

A field is a literal, missing, a CloudFormation intrinsic (known at deploy time) or a run-time
expression of the state machine (JSONPath ``.$`` or JSONata ``{% %}``). Rules never treat an
intrinsic or an expression as a compliant literal: only an intrinsic that references a resource of
the stack counts as *present* (a key ARN from ``Fn::GetAtt`` is a key), and nothing that is not a
literal counts as a particular *value* (``true``, ``"Disabled"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "Deployed", "Missing", "RunTime", "Verdict", "equals", "is_present", "is_set"]


#: Stands for a CloudFormation intrinsic inside a string of a joined definition (see ``_asl``).
MARKER = "@@cfn:{}@@"
MARKER_RE = re.compile(r"@@cfn:(\d+)@@")


class Missing:
    """The field is absent (or JSON ``null``)."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass(frozen=True)
class Deployed:
    """A CloudFormation intrinsic in place of the value: known only when the stack deploys."""

    intrinsic: Any
    #: ``Fn::GetAtt``, ``Fn::ImportValue`` or ``Ref`` to a resource (not a parameter) of the stack:
    #: CloudFormation substitutes a real, non-empty identifier.
    resource: bool

    def __str__(self) -> str:
        return f"CloudFormation {self.intrinsic}"


@dataclass(frozen=True)
class RunTime:
    """A value the state machine computes when the state runs (JSONPath ``Key.$`` or JSONata)."""

    expression: str

    def __str__(self) -> str:
        return f"run-time value {self.expression}"


class Verdict:
    """Outcome of one check: the field complies, does not, or cannot be known before run time."""

    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"
    #: The rule does not apply to this resource (e.g. data capture is not configured).
    NA = "n/a"


def is_present(value: Any) -> str:
    """A non-empty value is set: literals and stack-resource intrinsics yes, other intrinsics and run-time values unknown."""
    if value is MISSING or value is None or value == "" or value == [] or value == {}:
        return Verdict.FAIL
    if isinstance(value, Deployed):
        return Verdict.OK if value.resource else Verdict.UNKNOWN
    if isinstance(value, RunTime):
        return Verdict.UNKNOWN
    if isinstance(value, str) and MARKER_RE.search(value) and not MARKER_RE.sub("", value).strip():
        return Verdict.UNKNOWN  # only intrinsics joined together: each may be empty
    return Verdict.OK


def equals(value: Any, expected: Any, *, default: Any = MISSING) -> str:
    """The field holds ``expected`` as a literal (``default`` stands in for a missing field)."""
    if value is MISSING:
        value = default
    if isinstance(value, Deployed | RunTime):
        return Verdict.UNKNOWN
    if value is MISSING:
        return Verdict.FAIL
    return Verdict.OK if value == expected else Verdict.FAIL


def is_set(value: Any) -> str:
    """Like :func:`is_present`, for a field whose API shape refuses an empty value (a required
    member, ``min`` >= 1 or a pattern that needs characters): a value read from the state with
    JSONPath is *set at run time*, not missing. Step Functions fails the state when the path matches
    nothing, and the API refuses an empty value, so no request goes out without it. JSONata
    expressions stay unknown (they may evaluate to nothing)."""
    if isinstance(value, RunTime) and not value.expression.lstrip().startswith("{%"):
        return Verdict.OK
    return is_present(value)
