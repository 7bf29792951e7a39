"""What the job rules share: which task states start jobs, and checks over their job definitions."""

from __future__ import annotations

from collections.abc import Callable

from .._asl import Task
from .._model import (
    JOB_DEFINITION_OPERATIONS,
    JOB_OPERATIONS,
    Definition,
    combine,
    each_definition,
    has_field,
    settings,
)
from .._values import equals, is_present

__all__ = [
    "creates_job",
    "defines_job",
    "field_is_set",
    "field_is_true",
    "is_true",
    "job_with_field",
    "per_definition",
]


def creates_job(task: Task) -> bool:
    """The state starts a processing, training, tuning or transform job."""
    return task.operation in JOB_OPERATIONS


def defines_job(task: Task) -> bool:
    """The state starts a job or creates a definition of jobs SageMaker starts later (monitoring)."""
    return creates_job(task) or task.operation in JOB_DEFINITION_OPERATIONS


def job_with_field(field: str, *, container: str = "") -> Callable[[Task], bool]:
    """Job tasks whose API (botocore's model) has ``field``: the rule applies only where the API allows it."""
    return lambda task: defines_job(task) and has_field(task.operation, field, container=container)


def per_definition(check: Callable[[Definition], str]) -> Callable[[Task, object, object], str]:
    """A task verdict: ``check`` over every job definition of the request, combined."""
    return lambda task, node, context: each_definition(task.operation, task.request, check)


def is_true(definition: Definition, field: str) -> str:
    """``field`` is the literal ``true`` wherever the definition holds it (SageMaker's default is false)."""
    return combine([equals(value, True, default=False) for _, value in settings(definition, field)])


def field_is_set(field: str, *, container: str = "") -> Callable[[Task, object, object], str]:
    """Every job definition of the request sets ``field`` (a literal or a stack resource's identifier)."""
    return per_definition(
        lambda definition: combine([is_present(value) for _, value in settings(definition, field, container=container)])
    )


def field_is_true(field: str) -> Callable[[Task, object, object], str]:
    """Every job definition of the request sets ``field`` to the literal ``true``."""
    return per_definition(lambda definition: is_true(definition, field))
