"""Where each checked setting lives in each SageMaker request, read from botocore's service model.

Nothing here lists API fields by hand: which requests can carry ``EnableNetworkIsolation``,
``EnableInterContainerTrafficEncryption``, ``VolumeKmsKeyId``, an output ``KmsKeyId``,
``VpcConfig`` or ``StoppingCondition.MaxRuntimeInSeconds``, and where, is found by walking each
operation's input shape, so the rules follow the API when botocore updates.

A request may hold several *job definitions*: ``CreateHyperParameterTuningJob`` carries its
training jobs' settings in ``TrainingJobDefinition`` / ``TrainingJobDefinitions[]``. A nested
structure with its own ``RoleArn`` is such a definition, and each is checked on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.model import Shape, StructureShape

from sm_constructs import _iam_facts
from sm_constructs._iam_facts import (
    DATA_QUALITY_JOB_DEFINITION,
    ENDPOINT_CONFIG,
    MODEL,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    TUNING,
    SageMakerApi,
)
from sm_constructs._service_model import service_model

from ._asl import get
from ._values import MISSING, Deployed, RunTime, Verdict

__all__ = [
    "JOB_DEFINITION_OPERATIONS",
    "JOB_OPERATIONS",
    "NAMED_OPERATIONS",
    "Definition",
    "combine",
    "definitions",
    "each_definition",
    "has_field",
    "name_rule",
    "settings",
]

#: SageMaker's API as botocore ships it (the same model boto3 validates requests against).
SAGEMAKER = service_model("sagemaker")

#: Operations that start a job (``.sync`` watches them): from the project's API table.
JOB_OPERATIONS = frozenset(
    api.operation for api in vars(_iam_facts).values() if isinstance(api, SageMakerApi) and api.is_job
)
#: Operations that define jobs SageMaker starts later (Model Monitor's job definitions, run by a
#: monitoring schedule): the job settings rules apply to them as to jobs; they are no ``.sync`` tasks.
JOB_DEFINITION_OPERATIONS = frozenset({DATA_QUALITY_JOB_DEFINITION.operation})
#: Create operations whose resource is made anew by every run, with their name field.
NAMED_OPERATIONS = {
    api.operation: api.name_field for api in (PROCESSING, TRAINING, TUNING, TRANSFORM, MODEL, ENDPOINT_CONFIG)
}


@cache
def _input(operation: str) -> StructureShape | None:
    if operation not in SAGEMAKER.operation_names:
        return None
    shape = SAGEMAKER.operation_model(operation).input_shape
    return shape if isinstance(shape, StructureShape) else None


def _is_definition(shape: Shape) -> bool:
    if shape.type_name == "list":
        shape = shape.member
    return isinstance(shape, StructureShape) and "RoleArn" in shape.members


@cache
def _definition_members(operation: str) -> tuple[tuple[str, bool], ...]:
    """Top-level members that are job definitions of their own: (name, is a list)."""
    shape = _input(operation)
    if shape is None:
        return ()
    return tuple((name, member.type_name == "list") for name, member in shape.members.items() if _is_definition(member))


def _walk(shape: StructureShape, *, lists: bool) -> Iterator[tuple[tuple[str, ...], Shape]]:
    """Every member path under ``shape`` (not into nested job definitions; into lists only if ``lists``)."""

    def walk(current: Shape, path: tuple[str, ...], seen: frozenset[str]) -> Iterator[tuple[tuple[str, ...], Shape]]:
        if isinstance(current, StructureShape):
            for name, member in current.members.items():
                if _is_definition(member):
                    continue
                yield (*path, name), member
                if member.name not in seen:
                    yield from walk(member, (*path, name), seen | {member.name})
        elif current.type_name == "list" and lists:
            yield from walk(current.member, (*path, "[]"), seen)

    yield from walk(shape, (), frozenset({shape.name}))


@cache
def _definition_shape(operation: str, member: str | None) -> StructureShape | None:
    shape = _input(operation)
    if shape is None or member is None:
        return shape
    inner = shape.members[member]
    if inner.type_name == "list":
        inner = inner.member
    return inner if isinstance(inner, StructureShape) else None


@cache
def _paths(operation: str, member: str | None, field: str, container: str, lists: bool) -> tuple[tuple[str, ...], ...]:
    shape = _definition_shape(operation, member)
    if shape is None:
        return ()
    pattern = re.compile(container)
    return tuple(
        path
        for path, _ in _walk(shape, lists=lists)
        if path[-1] == field and pattern.search(path[-2] if len(path) > 1 else "")
    )


def has_field(operation: str, field: str, *, container: str = "") -> bool:
    """The request (or its job definitions) can carry ``field`` inside a member matching ``container``."""
    members: list[str | None] = [name for name, _ in _definition_members(operation)] or [None]
    return any(_paths(operation, member, field, container, False) for member in members)


@dataclass
class Definition:
    """One job definition inside a request: the request itself, or one of its nested definitions."""

    operation: str
    member: str | None
    #: The definition object, or a :class:`RunTime` / :class:`Deployed` when it is not known before run time.
    value: Any
    label: str


def definitions(operation: str, request: Any) -> list[Definition]:
    """The job definitions a request holds (those present; unknown ones as :class:`RunTime`)."""
    nested = _definition_members(operation)
    if not nested:
        return [Definition(operation, None, request, "")]
    found: list[Definition] = []
    for name, is_list in nested:
        value = get(request, (name,))
        if value is MISSING:
            continue
        if is_list and isinstance(value, list):
            found += [Definition(operation, name, item, f"{name}[{i}]") for i, item in enumerate(value)]
        else:
            found.append(Definition(operation, name, value, name))
    if not found:  # no definition at all is a request SageMaker rejects; nothing to hold to a rule
        return []
    return found


def settings(
    definition: Definition, field: str, *, container: str = "", lists: bool = False
) -> list[tuple[tuple[str, ...], Any]]:
    """``field`` at each place of the definition where it can be, for the containers that are present.

    When none of its containers is present the field is missing: ``[((), MISSING)]``.
    A definition or container that is a run-time / deploy-time value yields that value.
    """
    if isinstance(definition.value, RunTime | Deployed):
        return [((), definition.value)]
    found: list[tuple[tuple[str, ...], Any]] = []
    for path in _paths(definition.operation, definition.member, field, container, lists):
        if "[]" in path:
            found += _expand(definition.value, path)
            continue
        parent = get(definition.value, path[:-1]) if len(path) > 1 else definition.value
        if parent is MISSING:
            continue
        found.append((path, get(definition.value, path)))
    return found or [((), MISSING)]


def _expand(value: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    split = path.index("[]")
    items = get(value, path[:split])
    if items is MISSING:
        return []
    if not isinstance(items, list):
        return [(path, items)]
    out: list[tuple[tuple[str, ...], Any]] = []
    for item in items:
        rest = path[split + 1 :]
        out += _expand(item, rest) if "[]" in rest else [(path, get(item, rest))]
    return out


def combine(verdicts: list[str]) -> str:
    """FAIL if any check fails, else UNKNOWN if any cannot be known, else OK."""
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.UNKNOWN in verdicts:
        return Verdict.UNKNOWN
    return Verdict.OK


def each_definition(operation: str, request: Any, check: Callable[[Definition], str]) -> str:
    """Combine ``check`` over every job definition of a request (UNKNOWN when the request itself is a run-time value)."""
    if isinstance(request, RunTime | Deployed):
        return Verdict.UNKNOWN
    found = definitions(operation, request)
    return combine([check(d) for d in found]) if found else Verdict.UNKNOWN


@cache
def name_rule(operation: str, field: str) -> tuple[int, re.Pattern[str]]:
    """SageMaker's maximum length and pattern for a name field."""
    shape = _input(operation)
    assert shape is not None
    member = shape.members[field]
    return member.metadata["max"], re.compile(member.metadata["pattern"])
